//! Figures, not a check: retrieval latency on DynamoDB-backed knowledge with 10,000
//! chunks on the local test server. Run with
//! `cargo test --release -p switchboard-store-dynamodb --test retrieval_figures -- --ignored --nocapture`.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard_knowledge::{Access, Document, HashingEmbedder, KnowledgeBase, SearchMode};
use switchboard_store_dynamodb::DynamoKnowledge;

const WORDS: [&str; 12] = [
    "refund",
    "shipping",
    "warranty",
    "invoice",
    "account",
    "password",
    "delivery",
    "return",
    "discount",
    "subscription",
    "battery",
    "screen",
];

fn corpus(documents: usize, sections: usize) -> Vec<Document> {
    (0..documents)
        .map(|d| {
            let text: String = (0..sections)
                .map(|s| {
                    let w = |k: usize| WORDS[(d * 7 + s * 3 + k) % WORDS.len()];
                    format!(
                        "# Topic {d}-{s}\n\nItem {d} section {s} explains the {} policy and the {} rules. {}\n\n",
                        w(0),
                        w(1),
                        format!("The {} team answers questions about {} within two days. ", w(2), w(3)).repeat(6)
                    )
                })
                .collect();
            Document {
                org: Some(if d % 2 == 0 { "acme" } else { "globex" }.into()),
                ..Document::public(format!("doc-{d}.md"), text)
            }
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "prints figures; slow"]
async fn retrieval_latency_at_ten_thousand_chunks() {
    let table = common::unique_table("figures");
    let writer = DynamoKnowledge::new(
        common::open(&table).await,
        Arc::new(HashingEmbedder::default()),
    );
    let started = Instant::now();
    let report = writer
        .ingest_source("bulk", corpus(1000, 10))
        .await
        .unwrap();
    println!(
        "ingested {} documents, {} chunks in {:.1?}",
        report.indexed,
        report.chunks,
        started.elapsed()
    );

    let reader = DynamoKnowledge::new(
        common::open(&table).await,
        Arc::new(HashingEmbedder::default()),
    );
    let access = Access::anonymous("acme");
    let started = Instant::now();
    let first = reader
        .search_with("refund policy", &access, 5, SearchMode::Hybrid)
        .await
        .unwrap();
    println!(
        "a new replica's first search (loads the mirror): {:.1?}, {} hits",
        started.elapsed(),
        first.len()
    );
    for (label, freshness) in [
        ("each search checks the table", Duration::ZERO),
        ("default freshness (250 ms)", Duration::from_millis(250)),
    ] {
        let reader = DynamoKnowledge::new(
            common::open(&table).await,
            Arc::new(HashingEmbedder::default()),
        )
        .with_freshness(freshness);
        reader.document_count().await.unwrap();
        let mut times = Vec::new();
        for i in 0..200 {
            let query = format!("{} {} rules", WORDS[i % 12], WORDS[(i * 5) % 12]);
            let t = Instant::now();
            let hits = reader
                .search_with(&query, &access, 5, SearchMode::Hybrid)
                .await
                .unwrap();
            times.push(t.elapsed());
            assert!(!hits.is_empty());
        }
        times.sort();
        println!(
            "{label}: p50 {:.2?}, p95 {:.2?}, p99 {:.2?} (200 hybrid searches, limit 5)",
            percentile(&times, 0.5),
            percentile(&times, 0.95),
            percentile(&times, 0.99)
        );
    }
}
