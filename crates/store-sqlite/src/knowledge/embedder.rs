//! Which embedder the stored vectors come from. The first ingestion with vectors
//! records it; every later ingestion and query must offer the same one, or is
//! refused with both named (vectors of two embedders cannot be compared).

use super::{SqliteKnowledge, backend};
use sqlx::SqliteConnection;
use switchboard_knowledge::KnowledgeError;
use switchboard_knowledge::embed::EmbedderSignature;

/// The largest dimension accepted: a bound on each stored vector (64 KiB).
const MAX_DIMENSION: usize = 16_000;

impl SqliteKnowledge {
    /// The recorded embedder, read once it exists (it never changes afterwards).
    pub(super) async fn recorded(&self) -> Result<Option<EmbedderSignature>, KnowledgeError> {
        if let Some(recorded) = self.recorded.get() {
            return Ok(Some(recorded.clone()));
        }
        // An empty knowledge base is asked about on every turn: through the store's
        // readers when it has them (in place, no thread hand-off), else the pool.
        let recorded = match &self.store_reads {
            Some(db) => db
                .read(|c| {
                    crate::db::optional(
                        c,
                        "SELECT name, dimension FROM knowledge_embedder",
                        [],
                        |row| {
                            Ok((
                                crate::rows::get::<String>(row, "name")?,
                                crate::rows::get::<i64>(row, "dimension")?,
                            ))
                        },
                    )
                })
                .await
                .map_err(|e| KnowledgeError::Backend(e.to_string()))?
                .map(|(name, dimension)| EmbedderSignature {
                    name,
                    dimension: dimension as usize,
                }),
            None => {
                let mut connection = self.pool.acquire().await.map_err(backend)?;
                read(&mut connection).await?
            }
        };
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
    connection: &mut SqliteConnection,
) -> Result<Option<EmbedderSignature>, KnowledgeError> {
    let row: Option<(String, i64)> =
        sqlx::query_as("SELECT name, dimension FROM knowledge_embedder")
            .fetch_optional(connection)
            .await
            .map_err(backend)?;
    Ok(row.map(|(name, dimension)| EmbedderSignature {
        name,
        dimension: dimension as usize,
    }))
}

/// Inside a write transaction: checks `offered` against the recorded embedder, or
/// records it when none is. `None` offers no vectors, which nothing can mismatch.
pub(super) async fn settle(
    tx: &mut SqliteConnection,
    offered: Option<&EmbedderSignature>,
) -> Result<(), KnowledgeError> {
    let Some(offered) = offered else {
        return Ok(());
    };
    if let Some(recorded) = read(&mut *tx).await? {
        return check(&recorded, offered);
    }
    if !(1..=MAX_DIMENSION).contains(&offered.dimension) {
        return Err(KnowledgeError::Backend(format!(
            "{offered}: the SQLite knowledge base stores vectors of 1 to {MAX_DIMENSION} dimensions"
        )));
    }
    sqlx::query("INSERT INTO knowledge_embedder (only, name, dimension) VALUES (1, ?1, ?2)")
        .bind(&offered.name)
        .bind(offered.dimension as i64)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    Ok(())
}
