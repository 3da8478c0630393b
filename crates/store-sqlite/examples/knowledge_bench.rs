//! The SQLite knowledge base's cost at a given size, with this crate's
//! dependencies only (a quick build): the corpus and queries of `switchboard-bench
//! knowledge` (its `synthetic.rs`, same constants and seed), ingested in sources
//! of 500 documents into a throwaway file, then 500 queries timed per mode.
//! `switchboard-bench knowledge --sqlite` measures the same through the bench.
//!
//!     cargo run --release -p switchboard-store-sqlite --example knowledge_bench -- 100000

#[allow(dead_code)]
#[path = "../../bench/src/synthetic.rs"]
mod synthetic;

use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard_knowledge::{
    Access, ChunkOptions, Document, HashingEmbedder, KnowledgeBase, SearchMode, chunk_text,
};
use switchboard_store_sqlite::knowledge::open_pool;
use switchboard_store_sqlite::{KnowledgeOptions, SqliteKnowledge};
use synthetic::{Rng, Vocabulary, document_text};

const BATCH: usize = 500;
const QUERIES: usize = 500;

/// The `q` quantile of samples sorted ascending, in ms, as the bench computes it.
fn percentile(sorted: &[Duration], q: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let size: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let mut rng = Rng::new(0x5eed_cafe_f00d ^ size as u64);
    let vocabulary = Vocabulary::new(20_000, 1.0, &mut rng);
    let (mut documents, mut chunks) = (Vec::new(), 0);
    while chunks < size {
        let words = rng.between(200, 500);
        let content = document_text(&vocabulary, &mut rng, words);
        chunks += chunk_text(&content, ChunkOptions::default()).len();
        let n = documents.len();
        documents.push(Document::public(
            format!("synthetic-{}/doc-{n}.md", n / BATCH),
            content,
        ));
    }
    let dir = std::env::temp_dir().join(format!("switchboard-sqlite-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("switchboard.db");
    let pool = open_pool(&file).await.unwrap();
    let embedder = Arc::new(HashingEmbedder::default());
    let knowledge = SqliteKnowledge::connect(pool, embedder, KnowledgeOptions::default())
        .await
        .unwrap();
    let count = documents.len();
    let start = Instant::now();
    let mut stored = 0;
    for (i, batch) in documents.chunks(BATCH).enumerate() {
        let report = knowledge
            .ingest_source(&format!("synthetic-{i}"), batch.to_vec())
            .await
            .unwrap();
        stored += report.chunks;
    }
    let wall = start.elapsed().as_secs_f64();
    let bytes: u64 = ["switchboard.db", "switchboard.db-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(dir.join(f)).ok())
        .map(|m| m.len())
        .sum();
    println!(
        "size {size}: {count} documents, {stored} chunks; ingest {wall:.1} s, {:.0} chunks/s; file {:.0} MB",
        stored as f64 / wall,
        bytes as f64 / 1e6
    );
    let texts: Vec<String> = (0..QUERIES)
        .map(|_| {
            let n = rng.between(3, 8);
            vocabulary.phrase(&mut rng, n)
        })
        .collect();
    let access = Access::anonymous("bench");
    for (label, mode) in [
        ("hybrid", SearchMode::Hybrid),
        ("lexical", SearchMode::Lexical),
        ("vector", SearchMode::Vector),
    ] {
        for text in texts.iter().take(20) {
            knowledge.search_with(text, &access, 5, mode).await.unwrap();
        }
        let mut samples = Vec::with_capacity(QUERIES);
        for text in &texts {
            let start = Instant::now();
            let hits = knowledge.search_with(text, &access, 5, mode).await.unwrap();
            samples.push(start.elapsed());
            std::hint::black_box(hits);
        }
        samples.sort();
        println!(
            "  {label:<8} p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms",
            percentile(&samples, 0.5),
            percentile(&samples, 0.99),
            samples.last().unwrap().as_secs_f64() * 1000.0
        );
    }
    knowledge.pool().close().await;
    let _ = std::fs::remove_dir_all(&dir);
}
