//! Embedders turn text into vectors for similarity search.
//!
//! Every vector an index holds comes from one embedder: the index records the
//! embedder's name and the vectors' dimension and refuses anything else, because
//! vectors of two embedders cannot be compared.

mod gateway;
mod hashing;

pub use gateway::GatewayEmbedder;
pub use hashing::HashingEmbedder;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// Which embedder built an index's vectors, and their dimension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbedderSignature {
    pub name: String,
    pub dimension: usize,
}

impl std::fmt::Display for EmbedderSignature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({} dimensions)", self.name, self.dimension)
    }
}

/// Why texts could not be embedded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EmbedError {
    #[error("the embedding service failed: {0}")]
    Unavailable(String),
    #[error("the embedding service answered something unreadable: {0}")]
    Protocol(String),
}

#[async_trait]
pub trait Embedder: Send + Sync + 'static {
    /// A stable name, e.g. `hashing-v1` or `gateway:text-embedding-3-small`.
    fn name(&self) -> String;

    /// One vector per text, in order, all of the same dimension.
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError>;

    /// Below this cosine similarity a passage is not considered related at all.
    fn relevance_floor(&self) -> f32 {
        0.0
    }
}

/// Scales `v` to unit length (a zero vector stays zero).
pub(crate) fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Dot product; on unit vectors, the cosine similarity.
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
