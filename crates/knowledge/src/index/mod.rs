//! The in-memory hybrid index: BM25 over terms and cosine similarity over
//! embeddings, fused by relative score (each arm normalised by its best, then
//! weighted by how much the embedder's similarity can be trusted).
//!
//! Access filtering happens inside both scans: a chunk of a document the asker may
//! not see is never scored, so it can never be ranked into results.

use crate::chunk::ChunkOptions;
use crate::embed::{Embedder, EmbedderSignature};
use crate::fusion::fuse_scores;
use crate::ingest::{Prepared, fingerprint, prepare};
use crate::{Access, Document, DocumentInfo, IngestReport, KnowledgeError};
use std::collections::HashSet;
use std::sync::{Arc, RwLock};

mod inner;
#[cfg(test)]
mod tests;

use inner::Inner;

/// BM25 parameters (the usual defaults).
const K1: f32 = 1.2;
const B: f32 = 0.75;

/// One retrieved chunk.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Hit {
    pub document_id: String,
    pub source: String,
    pub title: String,
    pub url: Option<String>,
    /// The chunk's text.
    pub text: String,
    /// The relevance score (higher is better): the fused score (at most 1) in
    /// hybrid mode, BM25 or cosine similarity in single-arm modes.
    pub score: f64,
}

/// Which retrieval arms to use: hybrid in production, one arm for evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchMode {
    Hybrid,
    Lexical,
    Vector,
}

/// Documents split into chunks, searchable by relevance, filtered by access.
pub struct KnowledgeIndex {
    embedder: Arc<dyn Embedder>,
    chunking: ChunkOptions,
    inner: RwLock<Inner>,
    /// Ingestions run one at a time (they embed outside `inner`'s lock).
    ingesting: tokio::sync::Mutex<()>,
}

impl KnowledgeIndex {
    pub fn new(embedder: Arc<dyn Embedder>) -> Self {
        Self::with_chunking(embedder, ChunkOptions::default())
    }

    pub fn with_chunking(embedder: Arc<dyn Embedder>, chunking: ChunkOptions) -> Self {
        Self {
            embedder,
            chunking,
            inner: RwLock::default(),
            ingesting: tokio::sync::Mutex::new(()),
        }
    }

    /// The embedder whose vectors this index holds (once it holds any).
    pub fn signature(&self) -> Option<EmbedderSignature> {
        self.read().signature.clone()
    }

    pub fn embedder_name(&self) -> String {
        self.embedder.name()
    }

    pub fn document_count(&self) -> usize {
        self.read().doc_slots.len()
    }

    pub fn chunk_count(&self) -> usize {
        self.read().live_chunks
    }

    /// How rare `term` is among the indexed chunks (BM25's IDF; 0 for unknown
    /// terms), so callers can weigh terms as retrieval does.
    pub fn idf(&self, term: &str) -> f32 {
        let inner = self.read();
        let Some(&id) = inner.term_ids.get(term) else {
            return 0.0;
        };
        let n = inner.live_chunks.max(1) as f32;
        let df = inner.postings[id as usize].len() as f32;
        ((n - df + 0.5) / (df + 0.5) + 1.0).ln()
    }

    /// Source keys and how many documents each holds, sorted by key.
    pub fn sources(&self) -> Vec<(String, usize)> {
        let inner = self.read();
        let mut out: Vec<(String, usize)> = inner
            .sources
            .iter()
            .map(|(k, ids)| (k.clone(), ids.len()))
            .collect();
        out.sort();
        out
    }

    /// The documents of `org`, without their text, sorted by source key, then id.
    pub fn org_documents(&self, org: &str) -> Vec<DocumentInfo> {
        let inner = self.read();
        let mut out: Vec<DocumentInfo> = inner
            .sources
            .iter()
            .flat_map(|(key, ids)| ids.iter().map(move |id| (key, id)))
            .filter_map(|(key, id)| {
                let slot = *inner.doc_slots.get(id)?;
                let entry = inner.docs[slot as usize].as_ref()?;
                let d = &entry.document;
                (d.org.as_deref() == Some(org)).then(|| DocumentInfo {
                    source_key: key.clone(),
                    id: d.id.clone(),
                    source: d.source.clone(),
                    title: d.title.clone(),
                    url: d.url.clone(),
                    org: d.org.clone(),
                    acl: d.acl.clone(),
                    sets: d.sets.clone(),
                    chunks: entry.chunk_slots.len(),
                })
            })
            .collect();
        out.sort_by(|a, b| (&a.source_key, &a.id).cmp(&(&b.source_key, &b.id)));
        out
    }

    /// Adds or replaces one document, as a source of its own.
    pub async fn upsert(&self, document: Document) -> Result<IngestReport, KnowledgeError> {
        let key = document.id.clone();
        self.ingest_source(&key, vec![document]).await
    }

    /// Replaces everything `source` held with `documents`: changed documents are
    /// re-chunked and re-embedded, unchanged ones kept, and documents the source no
    /// longer has are removed. On error nothing changes.
    pub async fn ingest_source(
        &self,
        source: &str,
        documents: Vec<Document>,
    ) -> Result<IngestReport, KnowledgeError> {
        let source = &*crate::text::without_nul(source);
        let documents: Vec<Document> = documents.into_iter().map(Document::without_nul).collect();
        let _one_at_a_time = self.ingesting.lock().await;
        let mut report = IngestReport::default();
        let incoming: HashSet<String> = documents.iter().map(|d| d.id.clone()).collect();
        let changed: Vec<Document> = {
            let inner = self.read();
            documents
                .into_iter()
                .filter(|d| {
                    let same = inner.fingerprint_of(&d.id) == Some(fingerprint(d).as_str());
                    report.unchanged += usize::from(same);
                    !same
                })
                .collect()
        };
        let prepared = self.prepare(changed).await?;
        let mut inner = self.write();
        inner.accept(self.embedder.name(), &prepared)?;
        for p in prepared {
            report.indexed += 1;
            report.chunks += p.chunks.len();
            inner.insert(p);
        }
        let previous = inner.sources.remove(source).unwrap_or_default();
        for id in previous.iter().filter(|id| !incoming.contains(*id)) {
            report.removed += usize::from(inner.remove_doc(id));
        }
        let mut ids: Vec<String> = incoming.into_iter().collect();
        ids.sort();
        if !ids.is_empty() {
            inner.sources.insert(source.to_owned(), ids);
        }
        inner.compact_if_sparse();
        Ok(report)
    }

    /// Replaces everything `source` held with documents chunked and embedded
    /// elsewhere, embedding nothing: how a store that keeps the vectors (DynamoDB)
    /// fills the in-memory index it searches. Documents whose fingerprint is the
    /// one held already are left as they are.
    pub async fn load_source(
        &self,
        source: &str,
        documents: Vec<Prepared>,
    ) -> Result<(), KnowledgeError> {
        let _one_at_a_time = self.ingesting.lock().await;
        let mut inner = self.write();
        inner.accept(self.embedder.name(), &documents)?;
        let incoming: HashSet<String> = documents.iter().map(|p| p.document.id.clone()).collect();
        for p in documents {
            if inner.fingerprint_of(&p.document.id) != Some(p.fingerprint.as_str()) {
                inner.insert(p);
            }
        }
        let previous = inner.sources.remove(source).unwrap_or_default();
        for id in previous.iter().filter(|id| !incoming.contains(*id)) {
            inner.remove_doc(id);
        }
        let mut ids: Vec<String> = incoming.into_iter().collect();
        ids.sort();
        if !ids.is_empty() {
            inner.sources.insert(source.to_owned(), ids);
        }
        inner.compact_if_sparse();
        Ok(())
    }

    /// Removes a source and all its documents; returns how many documents went.
    pub async fn remove_source(&self, source: &str) -> usize {
        let source = &*crate::text::without_nul(source);
        let _one_at_a_time = self.ingesting.lock().await;
        let mut inner = self.write();
        let ids = inner.sources.remove(source).unwrap_or_default();
        let removed = ids.iter().filter(|id| inner.remove_doc(id)).count();
        inner.compact_if_sparse();
        removed
    }

    /// The best `limit` chunks for `query` among those `access` may see (hybrid).
    pub async fn search(&self, query: &str, access: &Access, limit: usize) -> Vec<Hit> {
        self.search_with(query, access, limit, SearchMode::Hybrid)
            .await
    }

    /// [`Self::search`] with a choice of retrieval arms.
    pub async fn search_with(
        &self,
        query: &str,
        access: &Access,
        limit: usize,
        mode: SearchMode,
    ) -> Vec<Hit> {
        if limit == 0 || query.trim().is_empty() || self.read().live_chunks == 0 {
            return Vec::new();
        }
        let query_vector = match mode {
            SearchMode::Lexical => None,
            _ => match self.embedder.embed(&[query.to_owned()]).await {
                Ok(mut vectors) => vectors.pop(),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot embed the query; searching by terms only");
                    None
                }
            },
        };
        let inner = self.read();
        let visible = inner.visibility(access);
        let pool = (limit * 4).max(20);
        let ranked = match mode {
            SearchMode::Lexical => inner.bm25(query, &visible, pool),
            SearchMode::Vector => query_vector
                .map(|q| inner.nearest(&q, &visible, pool, f32::MIN))
                .unwrap_or_default(),
            SearchMode::Hybrid => {
                let lexical = inner.bm25(query, &visible, pool);
                let floor = self.embedder.relevance_floor();
                let vector = query_vector
                    .map(|q| inner.nearest(&q, &visible, pool, floor))
                    .unwrap_or_default();
                fuse_scores(&lexical, &vector, self.embedder.fusion_weight())
            }
        };
        ranked
            .into_iter()
            .take(limit)
            .map(|(slot, score)| inner.hit(slot, score))
            .collect()
    }

    /// Chunks and embeds documents, outside any lock.
    async fn prepare(&self, documents: Vec<Document>) -> Result<Vec<Prepared>, KnowledgeError> {
        prepare(&*self.embedder, self.chunking, documents).await
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }
}
