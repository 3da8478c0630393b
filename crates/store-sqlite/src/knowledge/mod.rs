//! The knowledge base in SQLite: documents and chunks in the same file as the
//! store, an FTS5 index for the lexical arm, vectors as blobs scanned exactly.
//!
//! The tables are this module's own (`schema.rs`), created idempotently on
//! [`SqliteKnowledge::connect`], so the knowledge base can share any pool. Both
//! retrieval arms decide visibility (organisation and access list) in SQL before
//! ranking (`search.rs`, `vectors.rs`). The embedder of the stored vectors is
//! recorded and any other refused, and a document whose fingerprint did not change
//! is not embedded again (`ingest.rs`): chunking, embedding and fingerprints are
//! the knowledge crate's, shared with the other stores.

mod embedder;
mod ingest;
mod schema;
mod search;
mod terms;
mod vectors;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use switchboard_knowledge::embed::EmbedderSignature;
use switchboard_knowledge::{
    Access, Acl, ChunkOptions, Document, DocumentInfo, Embedder, Hit, IngestReport, KnowledgeBase,
    KnowledgeError, SearchMode,
};

/// How the knowledge base chunks documents.
#[derive(Debug, Clone, Copy, Default)]
pub struct KnowledgeOptions {
    pub chunking: ChunkOptions,
}

/// The knowledge base in a SQLite file. Several processes may share the file:
/// writes take SQLite's write lock in turn, and each process's copy of the vectors
/// follows the file's generation.
pub struct SqliteKnowledge {
    pool: SqlitePool,
    embedder: Arc<dyn Embedder>,
    options: KnowledgeOptions,
    /// The embedder the stored vectors come from, once recorded (it never changes).
    recorded: OnceLock<EmbedderSignature>,
    /// The store's readers on the same file, when the store is open in this
    /// process: the per-turn question "is anything recorded yet?" is asked there.
    store_reads: Option<crate::db::Db>,
    /// The dimension of this instance's embedder, once it has embedded anything.
    dimension: OnceLock<usize>,
    vectors: vectors::Copy,
}

impl SqliteKnowledge {
    /// A knowledge base in `pool`'s file, creating its tables when missing.
    pub async fn connect(
        pool: SqlitePool,
        embedder: Arc<dyn Embedder>,
        options: KnowledgeOptions,
    ) -> Result<Self, KnowledgeError> {
        schema::ensure(&pool).await?;
        let knowledge = Self {
            pool,
            embedder,
            options,
            recorded: OnceLock::new(),
            store_reads: None,
            dimension: OnceLock::new(),
            vectors: vectors::Copy::default(),
        };
        knowledge.recorded().await?;
        Ok(knowledge)
    }

    /// The connection pool, for callers that share it.
    /// Asks the per-turn questions that need no transaction (has an embedder been
    /// recorded yet?) on `store`'s reading connections, in place, instead of the
    /// pool's worker threads. `store` must be open on the same file.
    pub fn reading_through(mut self, store: &crate::SqliteStore) -> Self {
        self.store_reads = Some(store.db.clone());
        self
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// A pool on the SQLite file at `path` (created when missing, with its folder's
/// existence left to the caller) as the knowledge base wants it: WAL, so readers
/// never wait for the writer; a busy timeout, so writers of two processes take
/// turns rather than fail; foreign keys on.
pub async fn open_pool(path: &Path) -> Result<SqlitePool, KnowledgeError> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true);
    SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
        .map_err(|e| KnowledgeError::Backend(format!("sqlite: {}: {e}", path.display())))
}

/// Any database failure. sqlx's messages carry SQLite's text, never the data.
fn backend(error: sqlx::Error) -> KnowledgeError {
    KnowledgeError::Backend(format!("sqlite: {error}"))
}

/// Who may read a restricted document, as stored in `knowledge_readers`:
/// `user:<id>` and `group:<name>`, so a user and a group of the same name differ.
fn readers<'a>(
    users: impl IntoIterator<Item = &'a String>,
    groups: impl IntoIterator<Item = &'a String>,
) -> Vec<String> {
    let users = users.into_iter().map(|user| format!("user:{user}"));
    users
        .chain(groups.into_iter().map(|group| format!("group:{group}")))
        .collect()
}

#[async_trait::async_trait]
impl KnowledgeBase for SqliteKnowledge {
    async fn ingest_source(
        &self,
        source: &str,
        documents: Vec<Document>,
    ) -> Result<IngestReport, KnowledgeError> {
        ingest::ingest_source(self, source, documents).await
    }

    async fn remove_source(&self, source: &str) -> Result<usize, KnowledgeError> {
        ingest::remove_source(self, source).await
    }

    async fn search_with(
        &self,
        query: &str,
        access: &Access,
        limit: usize,
        mode: SearchMode,
    ) -> Result<Vec<Hit>, KnowledgeError> {
        if limit == 0 || query.trim().is_empty() {
            return Ok(Vec::new());
        }
        // No recorded embedder means no chunk was ever stored.
        let Some(recorded) = self.recorded().await? else {
            return Ok(Vec::new());
        };
        let vector = match mode {
            SearchMode::Lexical => None,
            SearchMode::Hybrid | SearchMode::Vector => self.query_vector(query).await,
        };
        if let Some(vector) = &vector {
            embedder::check(&recorded, &self.offered(vector.len()))?;
        }
        search::search(self, query, vector, access, limit, mode).await
    }

    async fn document_count(&self) -> Result<usize, KnowledgeError> {
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM knowledge_documents")
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
        Ok(count as usize)
    }

    async fn is_empty(&self) -> Result<bool, KnowledgeError> {
        sqlx::query_scalar("SELECT NOT EXISTS (SELECT 1 FROM knowledge_documents)")
            .fetch_one(&self.pool)
            .await
            .map_err(backend)
    }

    async fn sources(&self) -> Result<Vec<(String, usize)>, KnowledgeError> {
        // SQLite's BINARY collation compares UTF-8 bytes, as Rust sorts strings.
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT source_key, count(*) FROM knowledge_documents \
             GROUP BY source_key ORDER BY source_key",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Ok(rows.into_iter().map(|(k, n)| (k, n as usize)).collect())
    }

    async fn org_documents(&self, org: &str) -> Result<Vec<DocumentInfo>, KnowledgeError> {
        type Row = (
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            String,
            String,
            i64,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT d.source_key, d.id, d.source, d.title, d.url, d.org_id, d.acl, d.sets, \
                 (SELECT count(*) FROM knowledge_chunks c WHERE c.document = d.key) \
             FROM knowledge_documents d WHERE d.org_id = ?1 ORDER BY d.source_key, d.id",
        )
        .bind(org)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        let json = |e: serde_json::Error| KnowledgeError::Backend(format!("sqlite: {e}"));
        rows.into_iter()
            .map(
                |(source_key, id, source, title, url, org, acl, sets, chunks)| {
                    Ok(DocumentInfo {
                        source_key,
                        id,
                        source,
                        title,
                        url,
                        org,
                        acl: serde_json::from_str::<Acl>(&acl).map_err(json)?,
                        sets: serde_json::from_str(&sets).map_err(json)?,
                        chunks: chunks as usize,
                    })
                },
            )
            .collect()
    }

    async fn signature(&self) -> Result<Option<EmbedderSignature>, KnowledgeError> {
        self.recorded().await
    }

    async fn idf(&self, terms: &[String]) -> Result<HashMap<String, f32>, KnowledgeError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let idf = terms::idf(&mut tx, terms).await?;
        tx.commit().await.map_err(backend)?;
        Ok(idf)
    }
}

impl SqliteKnowledge {
    /// The query's vector; `None` (logged) when it cannot be embedded, so hybrid
    /// search goes on with terms alone, as in memory.
    async fn query_vector(&self, query: &str) -> Option<Vec<f32>> {
        match self.embedder.embed(&[query.to_owned()]).await {
            Ok(mut vectors) => vectors.pop(),
            Err(error) => {
                tracing::warn!(%error, "cannot embed the query; searching by terms only");
                None
            }
        }
    }
}
