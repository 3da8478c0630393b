//! `knowledge`: what a knowledge base costs at a given size: the in-memory index,
//! or, with `--postgres URL`, PostgreSQL with pgvector in a throwaway database per
//! size (see `postgres.rs`), or, with `--sqlite`, the SQLite knowledge base in a
//! throwaway file per size. For each target chunk count it generates a
//! synthetic corpus (see `synthetic.rs`), ingests it in sources of `BATCH`
//! documents as a folder refresh would, and times queries in each retrieval mode.
//! The embedder is the offline hashing one, so the figures are the index's own
//! cost, not a model's.

use crate::args::KnowledgeArgs;
use crate::postgres::Throwaway;
use crate::stats::{ms, percentile};
use crate::synthetic::{Rng, Vocabulary, document_text};
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard_knowledge::{
    Access, ChunkOptions, Document, Embedder, HashingEmbedder, KnowledgeBase, KnowledgeIndex,
    SearchMode, chunk_text,
};
use switchboard_store_postgres::Fusion;

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
    let target = match (&args.postgres, args.sqlite) {
        (Some(_), _) => "PostgreSQL with pgvector (a throwaway database per size)",
        (None, true) => "SQLite with FTS5 (a throwaway file per size)",
        (None, false) => "the in-memory index",
    };
    println!(
        "{target} on synthetic corpora: {VOCABULARY} made-up words (Zipf, s = \
         {ZIPF_EXPONENT}), documents of {}-{} words, sources of {BATCH} documents, \
         hashing embedder; queries of {}-{} words from the same distribution, top {RESULTS}",
        WORDS.0, WORDS.1, QUERY_WORDS.0, QUERY_WORDS.1
    );
    if args.postgres.is_none() {
        println!("baseline resident memory: {}", resident());
    }
    for &size in &args.sizes {
        let start = Instant::now();
        match &args.postgres {
            None if args.sqlite => {
                let scratch = crate::sqlite::Scratch::create()?;
                measure(size, args.queries, Store::Sqlite(&scratch)).await?;
            }
            None => measure(size, args.queries, Store::Memory).await?,
            Some(server) => {
                let database = Throwaway::create(server).await?;
                let outcome = measure(size, args.queries, Store::Postgres(&database)).await;
                database.drop().await?;
                outcome?;
            }
        }
        println!(
            "  size {size} took {:.1} s in all",
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// Where the measured knowledge base lives.
#[derive(Clone, Copy)]
enum Store<'a> {
    Memory,
    Postgres(&'a Throwaway),
    Sqlite(&'a crate::sqlite::Scratch),
}

/// Generates, ingests and queries one corpus of about `size` chunks in `store`.
async fn measure(size: usize, queries: usize, store: Store<'_>) -> Result<(), String> {
    let mut rng = Rng::new(SEED ^ size as u64);
    let vocabulary = Vocabulary::new(VOCABULARY, ZIPF_EXPONENT, &mut rng);
    let start = Instant::now();
    let documents = corpus(&vocabulary, &mut rng, size);
    let generated = start.elapsed();
    let count = documents.len();
    let (chunking, embedding) = preparation_cost(&documents);

    let embedder: Arc<dyn Embedder> = Arc::new(HashingEmbedder::default());
    let base: Arc<dyn KnowledgeBase> = match store {
        Store::Memory => Arc::new(KnowledgeIndex::new(embedder.clone())),
        Store::Postgres(database) => database.knowledge(embedder.clone(), Fusion::Score).await?,
        Store::Sqlite(scratch) => scratch.knowledge(embedder.clone()).await?,
    };
    let start = Instant::now();
    let (sources, chunks) = ingest(&*base, documents).await?;
    let wall = start.elapsed();
    let dimension = base
        .signature()
        .await
        .map_err(|e| e.to_string())?
        .map_or(0, |s| s.dimension);
    let stored = base.document_count().await.map_err(|e| e.to_string())?;
    println!(
        "\nsize {size}: {stored} documents, {chunks} chunks (corpus generated in {:.2} s)",
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
    match store {
        Store::Memory => println!(
            "  resident memory after ingestion: {} (the vectors alone: {:.1} MiB)",
            resident(),
            (chunks * dimension * 4) as f64 / (1024.0 * 1024.0)
        ),
        Store::Postgres(database) => println!("  on disk: {}", database.sizes().await?),
        Store::Sqlite(scratch) => println!(
            "  on disk: {}; resident memory after ingestion: {}",
            scratch.size(),
            resident()
        ),
    }

    let texts: Vec<String> = (0..queries)
        .map(|_| {
            let n = rng.between(QUERY_WORDS.0, QUERY_WORDS.1);
            vocabulary.phrase(&mut rng, n)
        })
        .collect();
    println!("  query latency ({queries} queries per mode):");
    let mut modes = vec![
        ("hybrid", base.clone(), SearchMode::Hybrid),
        ("lexical", base.clone(), SearchMode::Lexical),
        ("vector", base, SearchMode::Vector),
    ];
    if let Store::Postgres(database) = store {
        let rank = database.knowledge(embedder, Fusion::ReciprocalRank).await?;
        modes.insert(1, ("hybrid-rrf", rank, SearchMode::Hybrid));
    }
    for (label, base, mode) in modes {
        let samples = time_queries(&*base, &texts, mode).await?;
        println!(
            "    {label:<10} p50 {:>11}  p99 {:>11}  max {:>11}",
            ms(percentile(&samples, 0.50)),
            ms(percentile(&samples, 0.99)),
            ms(samples.last().copied().unwrap_or_default())
        );
    }
    Ok(())
}

/// Ingests `documents` in sources of `BATCH`; returns the number of sources and of
/// chunks stored.
async fn ingest(
    base: &dyn KnowledgeBase,
    documents: Vec<Document>,
) -> Result<(usize, usize), String> {
    let mut documents = documents.into_iter();
    let (mut sources, mut chunks) = (0, 0);
    loop {
        let batch: Vec<Document> = documents.by_ref().take(BATCH).collect();
        if batch.is_empty() {
            return Ok((sources, chunks));
        }
        let report = base
            .ingest_source(&format!("synthetic-{sources}"), batch)
            .await
            .map_err(|e| e.to_string())?;
        chunks += report.chunks;
        sources += 1;
    }
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
async fn time_queries(
    base: &dyn KnowledgeBase,
    texts: &[String],
    mode: SearchMode,
) -> Result<Vec<Duration>, String> {
    let access = Access::anonymous("bench");
    for text in texts.iter().take(WARM_UP_QUERIES) {
        base.search_with(text, &access, RESULTS, mode)
            .await
            .map_err(|e| e.to_string())?;
    }
    let mut samples = Vec::with_capacity(texts.len());
    for text in texts {
        let start = Instant::now();
        let hits = base.search_with(text, &access, RESULTS, mode).await;
        samples.push(start.elapsed());
        std::hint::black_box(hits.map_err(|e| e.to_string())?);
    }
    samples.sort();
    Ok(samples)
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
