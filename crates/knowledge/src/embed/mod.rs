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

    /// How much similarity counts against term matching when the two are fused
    /// (0 to 1): a semantic model earns an equal say, a lexical one less.
    fn fusion_weight(&self) -> f32 {
        0.5
    }
}

/// Scales `v` to unit length (a zero vector stays zero).
pub(crate) fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Dot product; on unit vectors, the cosine similarity. Eight independent sums let
/// the compiler use SIMD (one running sum forces strict left-to-right order).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 8;
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut sums = [0.0f32; LANES];
    let chunks = n / LANES;
    for i in 0..chunks {
        let (x, y) = (
            &a[i * LANES..(i + 1) * LANES],
            &b[i * LANES..(i + 1) * LANES],
        );
        for lane in 0..LANES {
            sums[lane] += x[lane] * y[lane];
        }
    }
    let tail: f32 = a[chunks * LANES..]
        .iter()
        .zip(&b[chunks * LANES..])
        .map(|(x, y)| x * y)
        .sum();
    sums.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    #[test]
    fn dot_matches_the_plain_sum_at_any_length() {
        for n in [0, 1, 7, 8, 9, 31, 384] {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!((super::dot(&a, &b) - plain).abs() < 1e-4, "{n}");
        }
    }
}
