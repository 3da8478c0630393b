//! The knowledge base on the table: documents and their chunks (text, vector,
//! organisation and access list) are stored in the table, and each replica
//! searches an in-memory hybrid index mirrored from it.
//!
//! The mirror is kept fresh by a generation counter that every change bumps: a
//! search first reads the counter (at most once per `freshness`), and when it
//! moved, reloads only the sources whose revision changed. Organisation and access
//! filtering happen inside the index's scans, before ranking, as in memory.

mod mirror;
mod write;

use crate::DynamoStore;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard_core::StoreError;
use switchboard_knowledge::embed::EmbedderSignature;
use switchboard_knowledge::{
    Access, ChunkOptions, Document, DocumentInfo, Embedder, Hit, IngestReport, KnowledgeBase,
    KnowledgeError, KnowledgeIndex, SearchMode,
};

/// How stale another replica's ingestion may look here, by default.
const FRESHNESS: Duration = Duration::from_millis(250);

/// Keys of the knowledge items (see `keys.rs` for the whole layout).
pub(crate) const KNOW: &str = "KNOW";
pub(crate) const GENERATION: &str = "GEN";
pub(crate) const SIGNATURE: &str = "SIG";

pub(crate) fn source_entry(source: &str) -> String {
    format!("SRC#{source}")
}

pub(crate) fn source_lock(source: &str) -> String {
    format!("LOCK#{source}")
}

pub(crate) fn source_partition(source: &str) -> String {
    format!("KSRC#{source}")
}

pub(crate) fn document(id: &str) -> String {
    format!("DOC#{id}")
}

pub(crate) fn chunk(version: &str, n: usize) -> String {
    format!("CHUNK#{version}#{n:06}")
}

fn failed(error: StoreError) -> KnowledgeError {
    KnowledgeError::Backend(error.to_string())
}

/// A [`KnowledgeBase`] whose documents and vectors live in the DynamoDB table.
pub struct DynamoKnowledge {
    store: DynamoStore,
    embedder: Arc<dyn Embedder>,
    chunking: ChunkOptions,
    mirror: KnowledgeIndex,
    synced: tokio::sync::Mutex<Synced>,
    freshness: Duration,
}

/// What the mirror holds, as of which generation.
#[derive(Default)]
struct Synced {
    generation: Option<u64>,
    /// Source key → the revision loaded.
    revisions: HashMap<String, String>,
    checked_at: Option<Instant>,
}

impl DynamoKnowledge {
    /// Knowledge in `store`'s table, embedded (at ingestion and for queries) by
    /// `embedder`. Nothing is read until first use.
    pub fn new(store: DynamoStore, embedder: Arc<dyn Embedder>) -> Self {
        Self {
            mirror: KnowledgeIndex::new(embedder.clone()),
            store,
            embedder,
            chunking: ChunkOptions::default(),
            synced: tokio::sync::Mutex::default(),
            freshness: FRESHNESS,
        }
    }

    /// How long a replica may answer from its mirror without checking the table
    /// for other replicas' changes (its own are seen at once).
    pub fn with_freshness(mut self, freshness: Duration) -> Self {
        self.freshness = freshness;
        self
    }

    /// Brings the mirror up to date with the table; on failure, searches go on
    /// with what the mirror holds.
    async fn fresh(&self) {
        if let Err(e) = self.sync().await {
            tracing::warn!(error = %e, "cannot refresh knowledge from DynamoDB; answering from the last copy");
        }
    }
}

#[async_trait::async_trait]
impl KnowledgeBase for DynamoKnowledge {
    async fn ingest_source(
        &self,
        source: &str,
        documents: Vec<Document>,
    ) -> Result<IngestReport, KnowledgeError> {
        let source = &*switchboard_knowledge::text::without_nul(source);
        let documents = documents.into_iter().map(Document::without_nul).collect();
        let report = self.write_source(source, documents).await;
        self.synced.lock().await.checked_at = None;
        self.sync().await?;
        report
    }

    async fn remove_source(&self, source: &str) -> Result<usize, KnowledgeError> {
        let source = &*switchboard_knowledge::text::without_nul(source);
        let removed = self.delete_source(source).await;
        self.synced.lock().await.checked_at = None;
        self.sync().await?;
        removed
    }

    async fn search_with(
        &self,
        query: &str,
        access: &Access,
        limit: usize,
        mode: SearchMode,
    ) -> Result<Vec<Hit>, KnowledgeError> {
        self.fresh().await;
        Ok(self.mirror.search_with(query, access, limit, mode).await)
    }

    async fn document_count(&self) -> Result<usize, KnowledgeError> {
        self.sync().await?;
        Ok(self.mirror.document_count())
    }

    async fn sources(&self) -> Result<Vec<(String, usize)>, KnowledgeError> {
        self.sync().await?;
        Ok(self.mirror.sources())
    }

    async fn org_documents(&self, org: &str) -> Result<Vec<DocumentInfo>, KnowledgeError> {
        self.sync().await?;
        Ok(self.mirror.org_documents(org))
    }

    async fn signature(&self) -> Result<Option<EmbedderSignature>, KnowledgeError> {
        self.stored_signature().await
    }

    async fn idf(&self, terms: &[String]) -> Result<HashMap<String, f32>, KnowledgeError> {
        self.fresh().await;
        Ok(terms
            .iter()
            .map(|t| (t.clone(), self.mirror.idf(t)))
            .collect())
    }
}
