//! Combining the two retrieval arms, shared by every backend.

use std::collections::HashMap;
use std::hash::Hash;

/// The best `n` by score, best first (ties by key, for stable results).
pub fn top<K: Copy + Ord>(mut scored: Vec<(K, f32)>, n: usize) -> Vec<(K, f32)> {
    let order = |a: &(K, f32), b: &(K, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    if scored.len() > n {
        scored.select_nth_unstable_by(n, order);
        scored.truncate(n);
    }
    scored.sort_by(order);
    scored
}

/// Relative score fusion: each arm's scores divided by its best, then weighed:
/// `(1 - w) * terms + w * similarity`. Unlike rank fusion, a strong match in one arm
/// is not outvoted by weak agreement of both.
pub fn fuse_scores<K: Copy + Ord + Eq + Hash>(
    lexical: &[(K, f32)],
    vector: &[(K, f32)],
    weight: f32,
) -> Vec<(K, f32)> {
    let weight = weight.clamp(0.0, 1.0);
    let best = |list: &[(K, f32)]| list.first().map_or(1.0, |(_, s)| s.max(f32::EPSILON));
    let (lexical_best, vector_best) = (best(lexical), best(vector));
    let mut fused: HashMap<K, f32> = HashMap::new();
    for (key, score) in lexical {
        *fused.entry(*key).or_default() += (1.0 - weight) * score / lexical_best;
    }
    for (key, score) in vector {
        *fused.entry(*key).or_default() += weight * score / vector_best;
    }
    let n = fused.len();
    top(fused.into_iter().collect(), n)
}
