//! The knowledge base on PostgreSQL with pgvector: documents and chunks in the same
//! database as the store, retrieved by hybrid search in one SQL statement.
//!
//! Chunks carry an embedding (HNSW index, cosine) and a full-text vector (GIN
//! index). Both retrieval arms filter by organisation and access list in their
//! WHERE clause, inside the index scans, so a chunk the asker may not see is never
//! ranked; the arms are fused in SQL by relative score or reciprocal rank. Chunking,
//! embedding and change detection are the knowledge crate's, shared with the
//! in-memory index, whose semantics this follows.

mod embedder;
mod ingest;
mod search;
mod terms;

use pgvector::Vector;
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use switchboard_knowledge::embed::EmbedderSignature;
use switchboard_knowledge::{
    Access, Acl, ChunkOptions, Document, DocumentInfo, Embedder, Hit, IngestReport, KnowledgeBase,
    KnowledgeError, SearchMode,
};

/// How retrieval's two arms are combined.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Fusion {
    /// Each arm's scores divided by the arm's best, then
    /// `(1 - w) * lexical + w * vector` with `w` the embedder's fusion weight: the
    /// in-memory index's fusion, where a strong match in one arm is not outvoted.
    #[default]
    Score,
    /// `Σ 1 / (60 + rank)` over the arms: ignores how far apart the scores are.
    ReciprocalRank,
}

/// How the knowledge base chunks documents and fuses retrieval.
#[derive(Debug, Clone, Copy, Default)]
pub struct KnowledgeOptions {
    pub chunking: ChunkOptions,
    pub fusion: Fusion,
}

/// The knowledge base in PostgreSQL. Replicas may share one database: ingestions
/// take turns on an advisory lock, and every replica must use the same embedder.
pub struct PostgresKnowledge {
    pool: PgPool,
    embedder: Arc<dyn Embedder>,
    options: KnowledgeOptions,
    /// The embedder the stored vectors come from, once recorded (it never changes).
    recorded: OnceLock<EmbedderSignature>,
    /// The dimension of this instance's embedder, once it has embedded anything.
    dimension: OnceLock<usize>,
}

impl PostgresKnowledge {
    /// A knowledge base on `pool`, whose schema must be migrated: share the pool of a
    /// [`PostgresStore`](crate::PostgresStore), whose `connect` applies the migrations.
    pub async fn connect(
        pool: PgPool,
        embedder: Arc<dyn Embedder>,
        options: KnowledgeOptions,
    ) -> Result<Self, KnowledgeError> {
        let knowledge = Self {
            pool,
            embedder,
            options,
            recorded: OnceLock::new(),
            dimension: OnceLock::new(),
        };
        knowledge.recorded().await.map_err(|e| {
            KnowledgeError::Backend(format!(
                "{e} (the knowledge tables are created by PostgresStore::connect's migrations)"
            ))
        })?;
        Ok(knowledge)
    }

    /// The connection pool, for callers that share it.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// Any database failure. sqlx's messages carry the server's text, never the URL.
fn backend(error: sqlx::Error) -> KnowledgeError {
    KnowledgeError::Backend(format!("postgres: {error}"))
}

/// Who may read a restricted document, as stored in its chunks' `readers`:
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
impl KnowledgeBase for PostgresKnowledge {
    async fn ingest_source(
        &self,
        source: &str,
        documents: Vec<Document>,
    ) -> Result<IngestReport, KnowledgeError> {
        ingest::ingest_source(self, source, documents).await
    }

    async fn remove_source(&self, source: &str) -> Result<usize, KnowledgeError> {
        let source = &*switchboard_knowledge::text::without_nul(source);
        let removed = sqlx::query("DELETE FROM knowledge_documents WHERE source_key = $1")
            .bind(source)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(removed.rows_affected() as usize)
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
            embedder::check(&recorded, &self.offered(vector.as_slice().len()))?;
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
        // Byte order, as Rust sorts strings, whatever the database's collation.
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT source_key, count(*) FROM knowledge_documents \
             GROUP BY source_key ORDER BY source_key COLLATE \"C\"",
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
            sqlx::types::Json<Acl>,
            Vec<String>,
            i64,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT d.source_key, d.id, d.source, d.title, d.url, d.org_id, d.acl, d.sets, \
                 (SELECT count(*) FROM knowledge_chunks c WHERE c.document_id = d.id) \
             FROM knowledge_documents d WHERE d.org_id = $1 \
             ORDER BY d.source_key COLLATE \"C\", d.id COLLATE \"C\"",
        )
        .bind(org)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        Ok(rows
            .into_iter()
            .map(
                |(source_key, id, source, title, url, org, acl, sets, chunks)| DocumentInfo {
                    source_key,
                    id,
                    source,
                    title,
                    url,
                    org,
                    acl: acl.0,
                    sets,
                    chunks: chunks as usize,
                },
            )
            .collect())
    }

    async fn signature(&self) -> Result<Option<EmbedderSignature>, KnowledgeError> {
        self.recorded().await
    }

    async fn idf(&self, terms: &[String]) -> Result<HashMap<String, f32>, KnowledgeError> {
        terms::idf(&self.pool, terms).await
    }
}

impl PostgresKnowledge {
    /// The query's vector; `None` (logged) when it cannot be embedded, so hybrid
    /// search goes on with terms alone, as in memory.
    async fn query_vector(&self, query: &str) -> Option<Vector> {
        match self.embedder.embed(&[query.to_owned()]).await {
            Ok(mut vectors) => vectors.pop().map(Vector::from),
            Err(error) => {
                tracing::warn!(%error, "cannot embed the query; searching by terms only");
                None
            }
        }
    }
}
