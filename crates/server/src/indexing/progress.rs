//! How far a run has got (its phase, documents read, chunks embedded, rate), shared
//! by the run, the admin API and the log; and the embedder wrapper that counts
//! chunks as they are embedded, whichever knowledge base does the embedding.

use async_trait::async_trait;
use serde::Serialize;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use switchboard_knowledge::Embedder;
use switchboard_knowledge::embed::EmbedError;

/// Texts embedded per call while a run is counted: small enough that progress
/// moves during a large source, large enough to keep an embedder's own batching
/// (the gateway's is 64 texts a request).
const COUNTED_BATCH: usize = 512;

tokio::task_local! {
    /// The progress of the run this task is working on.
    static RUN: Arc<Progress>;
}

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Accepted, waiting for a free place (`SMOOTH_AGENT_INDEXING_CONCURRENCY`).
    Queued,
    /// Reading the source (files, pages, a repository).
    Reading,
    /// Chunking, embedding and storing what was read.
    Indexing,
}

impl Phase {
    /// As the admin API and the log spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Reading => "reading",
            Self::Indexing => "indexing",
        }
    }

    fn from_u8(n: u8) -> Self {
        match n {
            0 => Self::Queued,
            1 => Self::Reading,
            _ => Self::Indexing,
        }
    }
}

/// A run's counters, updated as it works.
#[derive(Debug)]
pub struct Progress {
    phase: AtomicU8,
    documents: AtomicU64,
    chunks: AtomicU64,
    accepted: Instant,
    indexing_since: OnceLock<Instant>,
}

/// A run's progress at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Snapshot {
    pub phase: Phase,
    /// Documents the source produced (0 until it has been read).
    pub documents_seen: u64,
    /// Chunks embedded so far (unchanged documents are not embedded again).
    pub chunks_embedded: u64,
    /// Since the run was accepted.
    pub elapsed: Duration,
    /// Chunks embedded per second since indexing began.
    pub chunks_per_second: f64,
}

impl Default for Progress {
    fn default() -> Self {
        Self {
            phase: AtomicU8::new(Phase::Queued as u8),
            documents: AtomicU64::new(0),
            chunks: AtomicU64::new(0),
            accepted: Instant::now(),
            indexing_since: OnceLock::new(),
        }
    }
}

impl Progress {
    pub(super) fn reading(&self) {
        self.phase.store(Phase::Reading as u8, Ordering::Release);
    }

    pub(super) fn indexing(&self, documents: usize) {
        self.documents.store(documents as u64, Ordering::Release);
        let _ = self.indexing_since.set(Instant::now());
        self.phase.store(Phase::Indexing as u8, Ordering::Release);
    }

    fn embedded(&self, chunks: usize) {
        self.chunks.fetch_add(chunks as u64, Ordering::AcqRel);
    }

    pub fn snapshot(&self) -> Snapshot {
        let chunks = self.chunks.load(Ordering::Acquire);
        let indexing_for = self
            .indexing_since
            .get()
            .map_or(Duration::ZERO, Instant::elapsed);
        Snapshot {
            phase: Phase::from_u8(self.phase.load(Ordering::Acquire)),
            documents_seen: self.documents.load(Ordering::Acquire),
            chunks_embedded: chunks,
            elapsed: self.accepted.elapsed(),
            chunks_per_second: per_second(chunks, indexing_for),
        }
    }

    /// Runs `work` with this progress counting the chunks embedded inside it.
    pub(super) async fn counting<F: std::future::Future>(self: &Arc<Self>, work: F) -> F::Output {
        RUN.scope(self.clone(), work).await
    }
}

/// `count / elapsed`, 0 when no time has passed.
pub fn per_second(count: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 { count as f64 / secs } else { 0.0 }
}

/// An embedder that counts what it embeds against the run of the task calling it
/// (queries and other callers pass straight through).
pub struct CountingEmbedder(pub Arc<dyn Embedder>);

#[async_trait]
impl Embedder for CountingEmbedder {
    fn name(&self) -> String {
        self.0.name()
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let Ok(progress) = RUN.try_with(Arc::clone) else {
            return self.0.embed(texts).await;
        };
        let mut vectors = Vec::with_capacity(texts.len());
        for batch in texts.chunks(COUNTED_BATCH) {
            vectors.extend(self.0.embed(batch).await?);
            progress.embedded(batch.len());
            // A local embedder never waits: let the run see a cancellation.
            tokio::task::yield_now().await;
        }
        Ok(vectors)
    }

    fn relevance_floor(&self) -> f32 {
        self.0.relevance_floor()
    }

    fn fusion_weight(&self) -> f32 {
        self.0.fusion_weight()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_knowledge::HashingEmbedder;

    #[tokio::test]
    async fn chunks_are_counted_for_the_run_that_embeds_them_only() {
        let embedder = CountingEmbedder(Arc::new(HashingEmbedder::default()));
        let texts: Vec<String> = (0..1200).map(|i| format!("text {i}")).collect();
        let progress = Arc::new(Progress::default());
        progress.indexing(3);
        let vectors = progress
            .counting(embedder.embed(&texts))
            .await
            .expect("embedded");
        assert_eq!(vectors.len(), 1200, "every text, in order");
        assert_eq!(vectors[5], embedder.0.embed(&texts[5..6]).await.unwrap()[0]);
        // Outside the run (a turn's query) nothing is counted.
        embedder.embed(&texts[..10]).await.unwrap();
        let seen = progress.snapshot();
        assert_eq!(
            (seen.phase, seen.documents_seen, seen.chunks_embedded),
            (Phase::Indexing, 3, 1200)
        );
    }
}
