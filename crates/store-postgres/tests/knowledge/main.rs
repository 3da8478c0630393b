//! The knowledge base on a real PostgreSQL server with pgvector (127.0.0.1:5432).
//!
//! The behaviour every knowledge base shares is checked once, by
//! `switchboard_knowledge::suite` (feature `test-suite`), and run against the
//! in-memory index and PostgreSQL with either fusion (`shared.rs`). Then what only
//! the database has: the embedder recorded in the schema, replicas ingesting
//! together, and filtered vector search on the index (`postgres_only.rs`).

#[allow(dead_code)] // The store tests' helpers; this binary uses a few.
#[path = "../common/mod.rs"]
mod common;
mod postgres_only;
mod shared;

use common::{SERVER, TestDatabase, pool_options};
use sqlx::{Connection, PgConnection, PgPool};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use switchboard_knowledge::embed::EmbedError;
use switchboard_knowledge::{
    Access, Acl, Document, Embedder, HashingEmbedder, KnowledgeBase, KnowledgeError,
    KnowledgeIndex, SearchMode, demo_documents,
};
use switchboard_store_postgres::{Fusion, KnowledgeOptions, PostgresKnowledge, PostgresStore};

use switchboard_knowledge::suite::{Counting, anyone, search};

// The database ----------------------------------------------------------------

/// This process's database, with pgvector in `public`, created on first use and
/// dropped at exit. Each test works in a schema of its own inside it.
#[allow(unsafe_code)] // calls libc or writes the environment: see SAFETY below
async fn database() -> &'static str {
    static NAME: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    NAME.get_or_init(|| async {
        let database = TestDatabase::create().await;
        let mut connection = PgConnection::connect(&database.url()).await.unwrap();
        if let Err(error) = sqlx::query("CREATE EXTENSION IF NOT EXISTS vector SCHEMA public")
            .execute(&mut connection)
            .await
        {
            panic!(
                "pgvector is not available on the PostgreSQL server at {SERVER} ({error}). \
                 These tests need it: run ./scripts/ensure-postgres, which builds and \
                 installs it."
            );
        }
        let _ = connection.close().await;
        unsafe extern "C" {
            fn atexit(callback: extern "C" fn()) -> std::ffi::c_int;
        }
        extern "C" fn drop_database() {
            if let Some(name) = NAME.get() {
                drop(TestDatabase { name: name.clone() });
            }
        }
        // SAFETY: registers a function without arguments with the C runtime, which
        // calls it once when the test harness exits.
        unsafe { atexit(drop_database) };
        std::mem::ManuallyDrop::new(database).name.clone()
    })
    .await
}

/// A migrated, empty schema of this process's database; `options` are more URL
/// parameters (`&options[name]=value`) for its connections.
async fn fresh_pool(options: &str) -> PgPool {
    let database = database().await;
    let schema = format!("kb_{}", uuid::Uuid::new_v4().simple());
    let mut connection = PgConnection::connect(&format!("{SERVER}/{database}"))
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA \"{schema}\"")))
        .execute(&mut connection)
        .await
        .unwrap();
    let _ = connection.close().await;
    let url = format!("{SERVER}/{database}?options[search_path]={schema},public{options}");
    let store = PostgresStore::connect(&url, pool_options())
        .await
        .expect("connect and migrate");
    store.pool().clone()
}

async fn postgres(
    pool: PgPool,
    embedder: Arc<dyn Embedder>,
    fusion: Fusion,
) -> Arc<PostgresKnowledge> {
    let options = KnowledgeOptions {
        fusion,
        ..KnowledgeOptions::default()
    };
    let knowledge = PostgresKnowledge::connect(pool, embedder, options).await;
    Arc::new(knowledge.expect("knowledge on a migrated schema"))
}
