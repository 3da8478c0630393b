//! The offline embedder: feature hashing of words, word pairs and character
//! trigrams. It needs no model and no download, and is deterministic. It is not
//! semantic (synonyms do not meet), but trigrams make it forgiving of word forms
//! and typos, which complements exact-term BM25 in hybrid retrieval.

use super::{EmbedError, Embedder, normalize};
use crate::text::terms;
use async_trait::async_trait;

/// The default dimension.
pub const DIMENSION: usize = 384;

#[derive(Debug, Clone)]
pub struct HashingEmbedder {
    dimension: usize,
}

impl Default for HashingEmbedder {
    fn default() -> Self {
        Self {
            dimension: DIMENSION,
        }
    }
}

impl HashingEmbedder {
    pub fn new(dimension: usize) -> Self {
        Self {
            dimension: dimension.max(8),
        }
    }

    /// The vector of one text.
    pub fn vector(&self, text: &str) -> Vec<f32> {
        let mut v = vec![0.0f32; self.dimension];
        let words = terms(text);
        for word in &words {
            self.add(&mut v, word.as_bytes(), 1.0);
            let marked = format!("^{word}$");
            let chars: Vec<char> = marked.chars().collect();
            for gram in chars.windows(3) {
                let gram: String = gram.iter().collect();
                self.add(&mut v, gram.as_bytes(), 0.35);
            }
        }
        for pair in words.windows(2) {
            self.add(&mut v, format!("{} {}", pair[0], pair[1]).as_bytes(), 0.5);
        }
        normalize(&mut v);
        v
    }

    fn add(&self, v: &mut [f32], feature: &[u8], weight: f32) {
        let h = fnv1a(feature);
        let bucket = (h % self.dimension as u64) as usize;
        let sign = if (h >> 63) == 0 { 1.0 } else { -1.0 };
        v[bucket] += sign * weight;
    }
}

#[async_trait]
impl Embedder for HashingEmbedder {
    fn name(&self) -> String {
        "hashing-v1".into()
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        Ok(texts.iter().map(|t| self.vector(t)).collect())
    }

    fn relevance_floor(&self) -> f32 {
        0.12
    }

    /// Hashed features mostly restate the terms BM25 already weighs better (with
    /// IDF), so similarity is a tie-breaker more than an equal partner.
    fn fusion_weight(&self) -> f32 {
        0.2
    }
}

/// FNV-1a, 64 bits: fast, stable across platforms and releases.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::dot;

    #[test]
    fn related_texts_are_closer_than_unrelated_ones() {
        let e = HashingEmbedder::default();
        let query = e.vector("how long do refunds take");
        let related = e.vector("Refunds are processed within 5 business days.");
        let unrelated = e.vector("Our office dog is called Biscuit.");
        assert!(dot(&query, &related) > dot(&query, &unrelated) + 0.1);
        let typo = e.vector("refnds");
        assert!(
            dot(&typo, &e.vector("refunds")) > dot(&typo, &e.vector("biscuit")) + 0.15,
            "trigrams forgive typos"
        );
    }

    #[test]
    fn vectors_are_unit_length_and_deterministic() {
        let e = HashingEmbedder::default();
        let v = e.vector("return window");
        assert_eq!(v.len(), DIMENSION);
        assert!((dot(&v, &v) - 1.0).abs() < 1e-4);
        assert_eq!(v, e.vector("return window"));
        assert!(e.vector("").iter().all(|x| *x == 0.0));
    }
}
