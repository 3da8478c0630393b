//! `knowledge`: what the in-memory knowledge index costs at a given size. For each
//! target chunk count it generates a synthetic corpus (see `synthetic.rs`),
//! ingests it in sources of `BATCH` documents as a folder refresh would, and times
//! queries in each retrieval mode. The embedder is the offline hashing one, so the
//! figures are the index's own cost, not a model's.

use crate::args::KnowledgeArgs;
use crate::stats::{ms, percentile};
use crate::synthetic::{Rng, Vocabulary, document_text};
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard_knowledge::{
    Access, ChunkOptions, Document, HashingEmbedder, KnowledgeIndex, SearchMode, chunk_text,
};

const VOCABULARY: usize = 20_000;
const ZIPF_EXPONENT: f64 = 1.0;
/// Documents per ingested source.
const BATCH: usize = 500;
/// Words per document.
const WORDS: (usize, usize) = (200, 500);
/// Words per query.
const QUERY_WORDS: (usize, usize) = (3, 8);
const RESULTS: usize = 5;
const WARM_UP_QUERIES: usize = 20;
const SEED: u64 = 0x5eed_cafe_f00d;

pub async fn run(args: &KnowledgeArgs) -> Result<(), String> {
    println!(
        "knowledge index on synthetic corpora: {VOCABULARY} made-up words (Zipf, s = \
         {ZIPF_EXPONENT}), documents of {}-{} words, sources of {BATCH} documents, \
         hashing embedder; queries of {}-{} words from the same distribution, top {RESULTS}",
        WORDS.0, WORDS.1, QUERY_WORDS.0, QUERY_WORDS.1
    );
    println!("baseline resident memory: {}", resident());
    for &size in &args.sizes {
        measure(size, args.queries).await?;
    }
    Ok(())
}

async fn measure(size: usize, queries: usize) -> Result<(), String> {
    let mut rng = Rng::new(SEED ^ size as u64);
    let vocabulary = Vocabulary::new(VOCABULARY, ZIPF_EXPONENT, &mut rng);
    let start = Instant::now();
    let documents = corpus(&vocabulary, &mut rng, size);
    let generated = start.elapsed();
    let count = documents.len();
    let (chunking, embedding) = preparation_cost(&documents);

    let index = KnowledgeIndex::new(Arc::new(HashingEmbedder::default()));
    let start = Instant::now();
    let mut documents = documents.into_iter();
    let mut sources = 0;
    loop {
        let batch: Vec<Document> = documents.by_ref().take(BATCH).collect();
        if batch.is_empty() {
            break;
        }
        index
            .ingest_source(&format!("synthetic-{sources}"), batch)
            .await
            .map_err(|e| e.to_string())?;
        sources += 1;
    }
    let wall = start.elapsed();
    let chunks = index.chunk_count();
    let dimension = index.signature().map_or(0, |s| s.dimension);
    println!(
        "\nsize {size}: {} documents, {chunks} chunks (corpus generated in {:.2} s)",
        index.document_count(),
        generated.as_secs_f64()
    );
    println!(
        "  ingest: {:.2} s wall for {sources} sources, {:.0} documents/s, {:.0} chunks/s",
        wall.as_secs_f64(),
        count as f64 / wall.as_secs_f64(),
        chunks as f64 / wall.as_secs_f64()
    );
    println!(
        "    of which (chunking and embedding re-run alone on the same documents): chunking \
         {:.2} s, embedding {:.2} s, indexing and the rest {:.2} s",
        chunking.as_secs_f64(),
        embedding.as_secs_f64(),
        wall.saturating_sub(chunking + embedding).as_secs_f64()
    );
    println!(
        "  resident memory after ingestion: {} (the vectors alone: {:.1} MiB)",
        resident(),
        (chunks * dimension * 4) as f64 / (1024.0 * 1024.0)
    );

    let texts: Vec<String> = (0..queries)
        .map(|_| {
            let n = rng.between(QUERY_WORDS.0, QUERY_WORDS.1);
            vocabulary.phrase(&mut rng, n)
        })
        .collect();
    println!("  query latency ({queries} queries per mode):");
    for (label, mode) in [
        ("hybrid", SearchMode::Hybrid),
        ("lexical", SearchMode::Lexical),
        ("vector", SearchMode::Vector),
    ] {
        let samples = time_queries(&index, &texts, mode).await;
        println!(
            "    {label:<8} p50 {:>11}  p99 {:>11}  max {:>11}",
            ms(percentile(&samples, 0.50)),
            ms(percentile(&samples, 0.99)),
            ms(samples.last().copied().unwrap_or_default())
        );
    }
    Ok(())
}

/// Documents until chunking them (as the index will) gives about `target` chunks.
fn corpus(vocabulary: &Vocabulary, rng: &mut Rng, target: usize) -> Vec<Document> {
    let mut documents = Vec::new();
    let mut chunks = 0;
    while chunks < target {
        let words = rng.between(WORDS.0, WORDS.1);
        let content = document_text(vocabulary, rng, words);
        chunks += chunk_text(&content, ChunkOptions::default()).len();
        let n = documents.len();
        documents.push(Document::public(
            format!("synthetic-{}/doc-{n}.md", n / BATCH),
            content,
        ));
    }
    documents
}

/// The time the index's ingestion spends chunking and embedding `documents`,
/// measured outside the index, a source at a time.
fn preparation_cost(documents: &[Document]) -> (Duration, Duration) {
    let embedder = HashingEmbedder::default();
    let (mut chunking, mut embedding) = (Duration::ZERO, Duration::ZERO);
    for batch in documents.chunks(BATCH) {
        let start = Instant::now();
        let texts: Vec<String> = batch
            .iter()
            .flat_map(|d| chunk_text(&d.content, ChunkOptions::default()))
            .map(|chunk| chunk.text)
            .collect();
        chunking += start.elapsed();
        let start = Instant::now();
        for text in &texts {
            std::hint::black_box(embedder.vector(text));
        }
        embedding += start.elapsed();
    }
    (chunking, embedding)
}

/// Each query's latency, sorted ascending, after a few unmeasured ones.
async fn time_queries(index: &KnowledgeIndex, texts: &[String], mode: SearchMode) -> Vec<Duration> {
    let access = Access::anonymous("bench");
    for text in texts.iter().take(WARM_UP_QUERIES) {
        index.search_with(text, &access, RESULTS, mode).await;
    }
    let mut samples = Vec::with_capacity(texts.len());
    for text in texts {
        let start = Instant::now();
        let hits = index.search_with(text, &access, RESULTS, mode).await;
        samples.push(start.elapsed());
        std::hint::black_box(hits);
    }
    samples.sort();
    samples
}

/// This process's resident memory (`VmRSS`), as printed.
fn resident() -> String {
    let kib = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmRSS:"))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|kib| kib.parse::<u64>().ok())
        });
    match kib {
        Some(kib) => format!("{:.1} MiB", kib as f64 / 1024.0),
        None => "unknown (no /proc/self/status)".into(),
    }
}
