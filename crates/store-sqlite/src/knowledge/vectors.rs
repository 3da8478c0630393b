//! The vector arm: an exact scan of every visible chunk's vector.
//!
//! SQLite has no vector index, and sqlx offers no safe way to register a
//! similarity function, so the vectors are scanned in this process: each process
//! keeps a copy of all of them (`f32`s, as the in-memory index does), loaded from
//! the file and reloaded whenever `knowledge_state.generation` moved, which every
//! write raises. Which chunks may be ranked is decided by SQL, in the same read
//! transaction (so the same snapshot) as the copy's generation check: the
//! documents the asker may see, as integer keys. A chunk of any other document is
//! never scored, so it cannot take a place in the results.
//!
//! Exact rather than approximate: it never misses a chunk because a filter left
//! an approximate index's candidates empty. At 100,000 chunks the arm's p50 is
//! 45 ms (`docs/benchmarks.md`), mostly reading the visible documents' keys.

use super::backend;
use sqlx::{Row, SqliteConnection};
use std::sync::Arc;
use switchboard_knowledge::KnowledgeError;
use switchboard_knowledge::embed::dot;
use switchboard_knowledge::fusion::top;

/// Every stored vector, in chunk id order, as of `generation`.
#[derive(Default)]
pub(super) struct Vectors {
    pub(super) generation: i64,
    dimension: usize,
    /// (chunk id, document key) per vector.
    owners: Vec<(i64, i64)>,
    /// `owners.len() * dimension` floats.
    values: Vec<f32>,
}

/// The copy this process searches, replaced whole when stale.
#[derive(Default)]
pub(super) struct Copy {
    current: tokio::sync::Mutex<Arc<Vectors>>,
}

impl Copy {
    /// The vectors as of `generation`, read from `connection` (inside the caller's
    /// read transaction) when the copy is older.
    pub(super) async fn at(
        &self,
        connection: &mut SqliteConnection,
        generation: i64,
    ) -> Result<Arc<Vectors>, KnowledgeError> {
        let mut current = self.current.lock().await;
        if current.generation != generation {
            *current = Arc::new(load(connection, generation).await?);
        }
        Ok(current.clone())
    }
}

async fn load(
    connection: &mut SqliteConnection,
    generation: i64,
) -> Result<Vectors, KnowledgeError> {
    let rows = sqlx::query("SELECT id, document, embedding FROM knowledge_chunks ORDER BY id")
        .fetch_all(&mut *connection)
        .await
        .map_err(backend)?;
    let mut vectors = Vectors {
        generation,
        ..Vectors::default()
    };
    for row in rows {
        let (id, document, blob): (i64, i64, Vec<u8>) = (
            row.try_get(0).map_err(backend)?,
            row.try_get(1).map_err(backend)?,
            row.try_get(2).map_err(backend)?,
        );
        let dimension = blob.len() / 4;
        if vectors.dimension == 0 {
            vectors.dimension = dimension;
        }
        if dimension != vectors.dimension || blob.len() % 4 != 0 {
            return Err(KnowledgeError::Backend(format!(
                "sqlite: chunk {id} holds a vector of {} bytes, not {} dimensions",
                blob.len(),
                vectors.dimension
            )));
        }
        vectors.owners.push((id, document));
        vectors.values.extend(from_bytes(&blob));
    }
    Ok(vectors)
}

impl Vectors {
    /// The best `pool` chunks by cosine similarity to `query` (unit vectors, as
    /// embedders return them) among those of `visible` documents (sorted keys),
    /// at least `floor`: (chunk id, similarity).
    pub(super) fn nearest(
        &self,
        query: &[f32],
        visible: &[i64],
        pool: usize,
        floor: f32,
    ) -> Vec<(i64, f32)> {
        if self.dimension == 0 || query.len() != self.dimension || visible.is_empty() {
            return Vec::new();
        }
        let scored = self
            .values
            .chunks_exact(self.dimension)
            .zip(&self.owners)
            .filter(|(_, (_, document))| visible.binary_search(document).is_ok())
            .map(|(vector, &(id, _))| (id, dot(query, vector)))
            .filter(|(_, score)| *score >= floor)
            .collect();
        top(scored, pool)
    }
}

/// A vector as stored: little-endian `f32`s.
pub(super) fn to_bytes(vector: &[f32]) -> Vec<u8> {
    vector.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn from_bytes(blob: &[u8]) -> impl Iterator<Item = f32> + '_ {
    blob.chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}
