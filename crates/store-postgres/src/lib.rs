//! Switchboard's [`Store`](switchboard_core::Store) and
//! [`KnowledgeBase`](switchboard_knowledge::KnowledgeBase) on PostgreSQL.
//!
//! [`PostgresStore::connect`] opens a connection pool and applies the embedded schema
//! migrations before returning, so a replica never serves on an old schema; replicas
//! that start together take turns through sqlx's advisory lock.
//! [`PostgresKnowledge`] keeps documents and their chunks in the same database,
//! with pgvector, and shares the store's pool.

mod admin;
mod bounds;
mod create;
mod error;
mod handoff;
mod knowledge;
mod migrations;
mod pages;
mod rows;
mod store;

pub use knowledge::{Fusion, KnowledgeOptions, PostgresKnowledge};

use error::UrlSecret;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};
use std::time::Duration;
use switchboard_core::StoreError;

/// How big the connection pool is and how long a call waits for a connection.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    pub max_connections: u32,
    /// How long a store call waits for a free connection before it fails.
    pub acquire_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// The PostgreSQL store: a connection pool over the schema in `migrations/`.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`) and applies
    /// pending migrations. A server that is still starting is retried for up to
    /// `acquire_timeout`. Errors never contain the password.
    pub async fn connect(url: &str, options: PoolOptions) -> Result<Self, StoreError> {
        let secret = UrlSecret::of(url);
        let failed = |what: &str, error: &dyn std::fmt::Display| {
            StoreError::Backend(secret.mask(format!("postgres: {what}: {error}")))
        };
        let target: PgConnectOptions = url
            .parse()
            .map_err(|e| failed("invalid database URL", &e))?;
        let pool = match PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(target.clone())
            .await
        {
            Ok(pool) => pool,
            // The pool reports only that it timed out; one direct attempt names why.
            Err(sqlx::Error::PoolTimedOut) => {
                let cause = match PgConnection::connect_with(&target).await {
                    Err(error) => error.to_string(),
                    Ok(connection) => {
                        let _ = connection.close().await;
                        "the server was too slow to accept a connection".into()
                    }
                };
                let within = format!("cannot connect within {:?}", options.acquire_timeout);
                return Err(failed(&within, &cause));
            }
            Err(error) => return Err(failed("cannot connect", &error)),
        };
        migrations::migrator()
            .run(&pool)
            .await
            .map_err(|e| failed("cannot apply migrations", &e))?;
        Ok(Self { pool })
    }

    /// The connection pool, for callers that share it (health checks, other tables).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}
