//! `--postgres URL` of `knowledge` and `retrieval-eval`: each run works in a
//! database of its own, created on the server at URL (its database, if it names
//! one, is only used to create and drop ours) and dropped afterwards, so runs never
//! see each other's rows.

use sqlx::{AssertSqlSafe, Connection, PgConnection};
use std::sync::Arc;
use switchboard_knowledge::{Embedder, KnowledgeBase};
use switchboard_store_postgres::{
    Fusion, KnowledgeOptions, PoolOptions, PostgresKnowledge, PostgresStore,
};

/// A database that this benchmark created and will drop.
pub struct Throwaway {
    server: String,
    name: String,
    url: String,
    store: PostgresStore,
}

impl Throwaway {
    /// Creates a fresh database on `server` and applies the schema.
    pub async fn create(server: &str) -> Result<Self, String> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!("sb_bench_{}_{nanos}", std::process::id());
        admin(server, format!("CREATE DATABASE \"{name}\"")).await?;
        let url = with_database(server, &name);
        match PostgresStore::connect(&url, PoolOptions::default()).await {
            Ok(store) => Ok(Self {
                server: server.to_owned(),
                name,
                url,
                store,
            }),
            Err(error) => {
                admin(server, drop_statement(&name)).await?;
                Err(format!(
                    "{error} (is pgvector installed? ./scripts/ensure-postgres)"
                ))
            }
        }
    }

    /// The database's URL, for a server this benchmark starts.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A knowledge base on this database, fusing with `fusion`.
    pub async fn knowledge(
        &self,
        embedder: Arc<dyn Embedder>,
        fusion: Fusion,
    ) -> Result<Arc<dyn KnowledgeBase>, String> {
        let options = KnowledgeOptions {
            fusion,
            ..KnowledgeOptions::default()
        };
        let knowledge = PostgresKnowledge::connect(self.store.pool().clone(), embedder, options)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Arc::new(knowledge))
    }

    /// The database's size on disk and its largest parts, as printed.
    pub async fn sizes(&self) -> Result<String, String> {
        let (database, chunks, vectors, words): (String, String, String, String) = sqlx::query_as(
            "SELECT pg_size_pretty(pg_database_size(current_database())), \
                    pg_size_pretty(pg_table_size('knowledge_chunks')), \
                    pg_size_pretty(pg_relation_size('knowledge_chunks_embedding')), \
                    pg_size_pretty(pg_relation_size('knowledge_chunks_tsv'))",
        )
        .fetch_one(self.store.pool())
        .await
        .map_err(|e| e.to_string())?;
        Ok(format!(
            "database {database}: chunks {chunks} (rows, vectors, text), HNSW index \
             {vectors}, full-text index {words}"
        ))
    }

    /// Closes the pool and drops the database.
    pub async fn drop(self) -> Result<(), String> {
        self.store.pool().close().await;
        admin(&self.server, drop_statement(&self.name)).await
    }
}

fn drop_statement(name: &str) -> String {
    format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")
}

/// Runs one statement on the server's own database (CREATE and DROP DATABASE
/// cannot run on the database they name).
async fn admin(server: &str, sql: String) -> Result<(), String> {
    let failed = |e: sqlx::Error| format!("PostgreSQL at the --postgres URL: {e}");
    let mut connection = PgConnection::connect(server).await.map_err(failed)?;
    sqlx::query(AssertSqlSafe(sql))
        .execute(&mut connection)
        .await
        .map_err(failed)?;
    connection.close().await.map_err(failed)
}

/// `server` (`postgres://user@host:port[/database][?options]`) naming `database`.
fn with_database(server: &str, database: &str) -> String {
    let (base, options) = match server.split_once('?') {
        Some((base, options)) => (base, format!("?{options}")),
        None => (server, String::new()),
    };
    let authority = base.find("://").map_or(0, |i| i + 3);
    let path = base[authority..]
        .find('/')
        .map_or(base.len(), |i| authority + i);
    format!("{}/{database}{options}", &base[..path])
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_of_a_url_is_replaced_or_added() {
        let server = "postgres://postgres@127.0.0.1:5432";
        assert_eq!(with_database(server, "b"), format!("{server}/b"));
        assert_eq!(
            with_database("postgres://u:p@h/postgres?sslmode=disable", "b"),
            "postgres://u:p@h/b?sslmode=disable"
        );
    }
}
