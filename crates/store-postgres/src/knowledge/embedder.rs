//! Which embedder the stored vectors come from. The first ingestion with vectors
//! creates the embedding column at their dimension, with its HNSW index, and
//! records the embedder; every later ingestion and query must offer the same one.

use super::{PostgresKnowledge, backend};
use sqlx::{AssertSqlSafe, PgConnection};
use switchboard_knowledge::KnowledgeError;
use switchboard_knowledge::embed::EmbedderSignature;

/// The advisory lock that knowledge writes take, in their transaction: replicas
/// ingest one at a time, and only one creates the embedding column.
pub(super) const WRITE_LOCK: i64 = 0x5357_4b4e_4f57_4c45;

/// pgvector's HNSW index takes `vector` columns of at most this many dimensions;
/// above it, vector search scans exactly (and slowly).
const HNSW_MAX_DIMENSION: usize = 2000;
/// The largest `vector` column pgvector accepts.
const MAX_DIMENSION: usize = 16_000;

impl PostgresKnowledge {
    /// The recorded embedder, read once it exists (it never changes afterwards).
    pub(super) async fn recorded(&self) -> Result<Option<EmbedderSignature>, KnowledgeError> {
        if let Some(recorded) = self.recorded.get() {
            return Ok(Some(recorded.clone()));
        }
        let recorded = read(&self.pool).await?;
        if let Some(signature) = &recorded {
            let _ = self.recorded.set(signature.clone());
        }
        Ok(recorded)
    }

    /// This instance's embedder with vectors of `dimension`, which it remembers.
    pub(super) fn offered(&self, dimension: usize) -> EmbedderSignature {
        let _ = self.dimension.set(dimension);
        EmbedderSignature {
            name: self.embedder.name(),
            dimension,
        }
    }

    /// This instance's embedder, embedding a probe when it has not embedded anything
    /// yet: an ingestion with nothing new to embed must still be checked.
    pub(super) async fn offered_by_probe(&self) -> Result<EmbedderSignature, KnowledgeError> {
        if let Some(&dimension) = self.dimension.get() {
            return Ok(self.offered(dimension));
        }
        let probe = self.embedder.embed(&["dimension probe".to_owned()]).await?;
        Ok(self.offered(probe.first().map_or(0, Vec::len)))
    }
}

/// Refuses an embedder other than the recorded one.
pub(super) fn check(
    recorded: &EmbedderSignature,
    offered: &EmbedderSignature,
) -> Result<(), KnowledgeError> {
    if recorded == offered {
        return Ok(());
    }
    Err(KnowledgeError::EmbedderMismatch {
        index: recorded.clone(),
        offered: offered.clone(),
    })
}

async fn read(
    connection: impl sqlx::PgExecutor<'_>,
) -> Result<Option<EmbedderSignature>, KnowledgeError> {
    let row: Option<(String, i32)> =
        sqlx::query_as("SELECT name, dimension FROM knowledge_embedder")
            .fetch_optional(connection)
            .await
            .map_err(backend)?;
    Ok(row.map(|(name, dimension)| EmbedderSignature {
        name,
        dimension: dimension as usize,
    }))
}

/// Inside a write transaction holding [`WRITE_LOCK`]: checks `offered` against the
/// recorded embedder, or, when none is recorded yet, creates the embedding column
/// for it and records it. `None` offers no vectors, which nothing can mismatch.
pub(super) async fn settle(
    tx: &mut PgConnection,
    offered: Option<&EmbedderSignature>,
) -> Result<(), KnowledgeError> {
    let Some(offered) = offered else {
        return Ok(());
    };
    if let Some(recorded) = read(&mut *tx).await? {
        return check(&recorded, offered);
    }
    let dimension = offered.dimension;
    if !(1..=MAX_DIMENSION).contains(&dimension) {
        return Err(KnowledgeError::Backend(format!(
            "{offered}: pgvector stores vectors of 1 to {MAX_DIMENSION} dimensions"
        )));
    }
    // DDL takes no parameters; the dimension is a number checked above.
    let column =
        format!("ALTER TABLE knowledge_chunks ADD COLUMN embedding vector({dimension}) NOT NULL");
    sqlx::query(AssertSqlSafe(column))
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    if dimension <= HNSW_MAX_DIMENSION {
        sqlx::query(
            "CREATE INDEX knowledge_chunks_embedding ON knowledge_chunks \
             USING hnsw (embedding vector_cosine_ops)",
        )
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    } else {
        tracing::warn!(
            %offered,
            "pgvector's HNSW index takes at most {HNSW_MAX_DIMENSION} dimensions: \
             vector search will scan every chunk"
        );
    }
    sqlx::query("INSERT INTO knowledge_embedder (name, dimension) VALUES ($1, $2)")
        .bind(&offered.name)
        .bind(dimension as i32)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    Ok(())
}
