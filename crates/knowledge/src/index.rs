//! The in-memory hybrid index: BM25 over terms and cosine similarity over
//! embeddings, fused by relative score (each arm normalised by its best, then
//! weighted by how much the embedder's similarity can be trusted).
//!
//! Access filtering happens inside both scans: a chunk of a document the asker may
//! not see is never scored, so it can never be ranked into results.

use crate::chunk::ChunkOptions;
use crate::embed::{Embedder, EmbedderSignature, dot};
use crate::fusion::{fuse_scores, top};
use crate::ingest::{Prepared, fingerprint, prepare};
use crate::text::terms;
use crate::{Access, Document, DocumentInfo, IngestReport, KnowledgeError};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

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

#[derive(Default)]
struct Inner {
    /// Which embedder built the vectors, once there are any.
    signature: Option<EmbedderSignature>,
    docs: Vec<Option<DocEntry>>,
    doc_slots: HashMap<String, u32>,
    /// Source key → the ids of its documents.
    sources: HashMap<String, Vec<String>>,
    chunks: Vec<ChunkEntry>,
    /// `chunks.len() * dimension` floats, unit length per chunk.
    vectors: Vec<f32>,
    term_ids: HashMap<String, u32>,
    /// term id → (chunk slot, term frequency)
    postings: Vec<Vec<(u32, u16)>>,
    live_chunks: usize,
    live_terms: usize,
}

struct DocEntry {
    document: Document,
    fingerprint: u64,
    chunk_slots: Vec<u32>,
}

struct ChunkEntry {
    doc: u32,
    text: String,
    length: u32,
    alive: bool,
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
                    let same = inner.fingerprint_of(&d.id) == Some(fingerprint(d));
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
            if inner.fingerprint_of(&p.document.id) != Some(p.fingerprint) {
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

impl Inner {
    fn dimension(&self) -> usize {
        self.signature.as_ref().map_or(0, |s| s.dimension)
    }

    fn fingerprint_of(&self, id: &str) -> Option<u64> {
        let slot = *self.doc_slots.get(id)?;
        self.docs[slot as usize].as_ref().map(|d| d.fingerprint)
    }

    /// Records the embedder on first use; refuses vectors of any other.
    fn accept(&mut self, name: String, prepared: &[Prepared]) -> Result<(), KnowledgeError> {
        let Some(dimension) = prepared
            .iter()
            .flat_map(|p| &p.chunks)
            .map(|(_, v)| v.len())
            .next()
        else {
            return Ok(());
        };
        let offered = EmbedderSignature { name, dimension };
        let consistent = prepared
            .iter()
            .flat_map(|p| &p.chunks)
            .all(|(_, v)| v.len() == dimension);
        match &self.signature {
            Some(index) if *index != offered || !consistent => {
                Err(KnowledgeError::EmbedderMismatch {
                    index: index.clone(),
                    offered,
                })
            }
            None if !consistent => Err(KnowledgeError::EmbedderMismatch {
                index: offered.clone(),
                offered,
            }),
            Some(_) => Ok(()),
            None => {
                self.signature = Some(offered);
                Ok(())
            }
        }
    }

    fn insert(&mut self, prepared: Prepared) {
        self.remove_doc(&prepared.document.id);
        let doc = self.docs.len() as u32;
        let mut chunk_slots = Vec::with_capacity(prepared.chunks.len());
        for (text, vector) in prepared.chunks {
            let slot = self.chunks.len() as u32;
            let words = terms(&text);
            let mut counts: HashMap<&str, u16> = HashMap::new();
            for word in &words {
                let c = counts.entry(word.as_str()).or_default();
                *c = c.saturating_add(1);
            }
            for (term, tf) in counts {
                let next = self.term_ids.len() as u32;
                let id = *self.term_ids.entry(term.to_owned()).or_insert(next);
                if id as usize == self.postings.len() {
                    self.postings.push(Vec::new());
                }
                self.postings[id as usize].push((slot, tf));
            }
            self.vectors.extend_from_slice(&vector);
            self.live_chunks += 1;
            self.live_terms += words.len();
            self.chunks.push(ChunkEntry {
                doc,
                text,
                length: words.len() as u32,
                alive: true,
            });
            chunk_slots.push(slot);
        }
        self.doc_slots.insert(prepared.document.id.clone(), doc);
        self.docs.push(Some(DocEntry {
            document: prepared.document,
            fingerprint: prepared.fingerprint,
            chunk_slots,
        }));
    }

    /// Forgets a document; its chunks stay as tombstones until compaction.
    fn remove_doc(&mut self, id: &str) -> bool {
        let Some(slot) = self.doc_slots.remove(id) else {
            return false;
        };
        let Some(entry) = self.docs[slot as usize].take() else {
            return false;
        };
        for chunk in entry.chunk_slots {
            let chunk = &mut self.chunks[chunk as usize];
            chunk.alive = false;
            self.live_chunks -= 1;
            self.live_terms -= chunk.length as usize;
        }
        true
    }

    /// Rebuilds the index without tombstones once they outnumber live chunks.
    fn compact_if_sparse(&mut self) {
        let dead = self.chunks.len() - self.live_chunks;
        if dead < 1024 || dead < self.live_chunks {
            return;
        }
        let old = std::mem::take(self);
        let dimension = old.dimension();
        self.signature = old.signature;
        self.sources = old.sources;
        let vectors = old.vectors;
        let mut chunks: Vec<Option<ChunkEntry>> = old.chunks.into_iter().map(Some).collect();
        for entry in old.docs.into_iter().flatten() {
            let prepared = Prepared {
                fingerprint: entry.fingerprint,
                chunks: entry
                    .chunk_slots
                    .iter()
                    .filter_map(|&s| {
                        let chunk = chunks[s as usize].take()?;
                        let start = s as usize * dimension;
                        Some((chunk.text, vectors[start..start + dimension].to_vec()))
                    })
                    .collect(),
                document: entry.document,
            };
            self.insert(prepared);
        }
    }

    /// Which document slots `access` may see.
    fn visibility(&self, access: &Access) -> Vec<bool> {
        self.docs
            .iter()
            .map(|d| {
                d.as_ref()
                    .is_some_and(|d| access.can_see(d.document.org.as_deref(), &d.document.acl))
            })
            .collect()
    }

    fn usable(&self, slot: u32, visible: &[bool]) -> bool {
        let chunk = &self.chunks[slot as usize];
        chunk.alive && visible[chunk.doc as usize]
    }

    /// BM25 over visible chunks: the best `pool`, best first.
    fn bm25(&self, query: &str, visible: &[bool], pool: usize) -> Vec<(u32, f32)> {
        let n = self.live_chunks.max(1) as f32;
        let average = (self.live_terms as f32 / n).max(1.0);
        let mut scores: HashMap<u32, f32> = HashMap::new();
        let mut seen = HashSet::new();
        for term in terms(query) {
            if !seen.insert(term.clone()) {
                continue;
            }
            let Some(&id) = self.term_ids.get(&term) else {
                continue;
            };
            let posting = &self.postings[id as usize];
            let df = posting.len() as f32;
            let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
            for &(slot, tf) in posting {
                if !self.usable(slot, visible) {
                    continue;
                }
                let tf = f32::from(tf);
                let length = self.chunks[slot as usize].length as f32;
                let norm = K1 * (1.0 - B + B * length / average);
                *scores.entry(slot).or_default() += idf * tf * (K1 + 1.0) / (tf + norm);
            }
        }
        top(scores.into_iter().collect(), pool)
    }

    /// Cosine similarity over visible chunks, at least `floor`: the best `pool`.
    fn nearest(&self, query: &[f32], visible: &[bool], pool: usize, floor: f32) -> Vec<(u32, f32)> {
        let dimension = self.dimension();
        if dimension == 0 || query.len() != dimension {
            return Vec::new();
        }
        let scored = self
            .vectors
            .chunks_exact(dimension)
            .enumerate()
            .filter(|(slot, _)| self.usable(*slot as u32, visible))
            .map(|(slot, v)| (slot as u32, dot(query, v)))
            .filter(|(_, s)| *s >= floor)
            .collect();
        top(scored, pool)
    }

    fn hit(&self, slot: u32, score: f32) -> Hit {
        let chunk = &self.chunks[slot as usize];
        let document = &self.docs[chunk.doc as usize]
            .as_ref()
            .expect("ranked chunks are alive")
            .document;
        Hit {
            document_id: document.id.clone(),
            source: document.source.clone(),
            title: document.display_title().to_owned(),
            url: document.url.clone(),
            text: chunk.text.clone(),
            score: f64::from(score),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::{EmbedError, HashingEmbedder};
    use crate::{Acl, demo_documents};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts texts embedded; optionally fails or changes dimension.
    struct Probe {
        inner: HashingEmbedder,
        embedded: AtomicUsize,
        fail: bool,
    }

    #[async_trait::async_trait]
    impl Embedder for Probe {
        fn name(&self) -> String {
            "probe".into()
        }
        async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
            if self.fail {
                return Err(EmbedError::Unavailable("down".into()));
            }
            self.embedded.fetch_add(texts.len(), Ordering::SeqCst);
            self.inner.embed(texts).await
        }
    }

    fn probe(fail: bool) -> Arc<Probe> {
        Arc::new(Probe {
            inner: HashingEmbedder::default(),
            embedded: AtomicUsize::new(0),
            fail,
        })
    }

    async fn demo() -> KnowledgeIndex {
        let index = KnowledgeIndex::new(Arc::new(HashingEmbedder::default()));
        index.ingest_source("demo", demo_documents()).await.unwrap();
        index
    }

    fn anyone() -> Access {
        Access::anonymous("o")
    }

    #[tokio::test]
    async fn every_mode_ranks_the_relevant_document_first() {
        let index = demo().await;
        for mode in [SearchMode::Hybrid, SearchMode::Lexical, SearchMode::Vector] {
            let hits = index
                .search_with("How long is the return window?", &anyone(), 3, mode)
                .await;
            assert_eq!(hits[0].document_id, "policies/returns.md", "{mode:?}");
        }
        let hits = index
            .search("what is the return policy?", &anyone(), 3)
            .await;
        assert_eq!(hits[0].title, "policies/returns.md");
        assert!(index.search("   ", &anyone(), 3).await.is_empty());
    }

    #[tokio::test]
    async fn org_documents_lists_only_that_organisations_documents() {
        let index = demo().await;
        let owned = |id: &str, org: &str| Document {
            org: Some(org.into()),
            title: Some(format!("Title of {id}")),
            sets: vec!["faq".into()],
            ..Document::public(id, "Some content worth a chunk.")
        };
        index
            .ingest_source("b-source", vec![owned("b1", "acme"), owned("a1", "acme")])
            .await
            .unwrap();
        index
            .ingest_source("a-source", vec![owned("x", "globex")])
            .await
            .unwrap();
        let listed = index.org_documents("acme");
        let keys: Vec<(&str, &str)> = listed
            .iter()
            .map(|d| (d.source_key.as_str(), d.id.as_str()))
            .collect();
        assert_eq!(keys, [("b-source", "a1"), ("b-source", "b1")]);
        assert_eq!(listed[0].title.as_deref(), Some("Title of a1"));
        assert_eq!(listed[0].sets, ["faq"]);
        assert_eq!(listed[0].chunks, 1);
        assert_eq!(index.org_documents("globex").len(), 1);
        assert!(
            index.org_documents("reference-org").is_empty(),
            "documents of every organisation belong to none"
        );
    }

    #[tokio::test]
    async fn unrelated_questions_find_nothing_in_hybrid_mode() {
        let index = demo().await;
        assert!(
            index
                .search("who painted the mona lisa", &anyone(), 3)
                .await
                .is_empty()
        );
    }

    #[tokio::test]
    async fn reingesting_a_source_replaces_it_and_skips_unchanged_documents() {
        let embedder = probe(false);
        let index = KnowledgeIndex::new(embedder.clone());
        let report = index.ingest_source("demo", demo_documents()).await.unwrap();
        assert_eq!(
            (report.indexed, report.unchanged, report.removed),
            (2, 0, 0)
        );
        let first = embedder.embedded.load(Ordering::SeqCst);

        // Same documents: nothing is re-embedded.
        let report = index.ingest_source("demo", demo_documents()).await.unwrap();
        assert_eq!((report.indexed, report.unchanged), (0, 2));
        assert_eq!(embedder.embedded.load(Ordering::SeqCst), first);

        // One edited, one deleted.
        let mut returns = demo_documents().remove(0);
        returns.content = "Returns are now accepted for 30 days.".into();
        let report = index.ingest_source("demo", vec![returns]).await.unwrap();
        assert_eq!((report.indexed, report.removed), (1, 1));
        assert_eq!(index.document_count(), 1);
        let hits = index.search("return window days", &anyone(), 5).await;
        assert_eq!(hits.len(), 1);
        assert!(hits[0].text.contains("30 days"));
        assert!(index.search("shipping", &anyone(), 5).await.is_empty());

        assert_eq!(index.remove_source("demo").await, 1);
        assert_eq!(index.document_count(), 0);
        assert!(index.sources().is_empty());
    }

    #[tokio::test]
    async fn restricted_and_foreign_documents_never_come_back() {
        let index = demo().await;
        let mut secret = Document::public("hr/bonus.md", "The return bonus is secret.");
        secret.acl = Acl::Restricted {
            users: vec![],
            groups: vec!["hr".into()],
        };
        let mut foreign = Document::public("acme/returns.md", "Acme return window is 90 days.");
        foreign.org = Some("acme".into());
        index
            .ingest_source("private", vec![secret, foreign])
            .await
            .unwrap();
        for mode in [SearchMode::Hybrid, SearchMode::Lexical, SearchMode::Vector] {
            let hits = index
                .search_with("return bonus window", &anyone(), 10, mode)
                .await;
            assert!(
                hits.iter().all(|h| h.document_id.starts_with("policies/")),
                "{mode:?}: {hits:?}"
            );
        }
        let hr = Access {
            groups: vec!["hr".into()],
            ..anyone()
        };
        let hits = index.search("return bonus", &hr, 10).await;
        assert_eq!(hits[0].document_id, "hr/bonus.md");
    }

    #[tokio::test]
    async fn a_failing_query_embedder_falls_back_to_terms() {
        let index = demo().await;
        let failing = KnowledgeIndex::new(probe(true));
        assert!(
            failing
                .ingest_source("demo", demo_documents())
                .await
                .is_err()
        );
        assert_eq!(
            failing.document_count(),
            0,
            "a failed ingestion changes nothing"
        );
        // A working index whose embedder then fails at query time still answers.
        let hits = index
            .search_with("return window", &anyone(), 3, SearchMode::Lexical)
            .await;
        assert_eq!(hits[0].document_id, "policies/returns.md");
    }

    #[tokio::test]
    async fn vectors_of_another_embedder_are_refused() {
        let index = demo().await;
        let mut inner = index.write();
        let other = Prepared {
            document: Document::public("x", "y"),
            fingerprint: 0,
            chunks: vec![("y".into(), vec![0.5; 12])],
        };
        let err = inner.accept("hashing-v1".into(), &[other]).unwrap_err();
        assert!(
            matches!(err, KnowledgeError::EmbedderMismatch { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("384"));
    }

    #[test]
    fn a_strong_match_in_one_arm_beats_weak_agreement() {
        // Slot 1 is the best term match and absent from the vector arm; slot 2 is
        // middling in both. Rank fusion would prefer 2; score fusion keeps 1.
        let lexical = [(1, 9.0), (3, 4.0), (2, 3.0)];
        let vector = [(4, 0.6), (2, 0.3)];
        let fused = fuse_scores(&lexical, &vector, 0.2);
        assert_eq!(fused[0].0, 1);
        assert!((fused[0].1 - 0.8).abs() < 1e-6);
        // With only similarity weighted, the vector arm decides.
        assert_eq!(fuse_scores(&lexical, &vector, 1.0)[0].0, 4);
    }

    #[tokio::test]
    async fn compaction_keeps_the_index_correct() {
        let index = KnowledgeIndex::new(Arc::new(HashingEmbedder::new(16)));
        let docs = |round: usize| {
            (0..1200)
                .map(|i| {
                    Document::public(
                        format!("doc-{i}"),
                        format!("item {i} revision {round} widget"),
                    )
                })
                .collect::<Vec<_>>()
        };
        index.ingest_source("bulk", docs(0)).await.unwrap();
        index.ingest_source("bulk", docs(1)).await.unwrap();
        index.ingest_source("bulk", docs(2)).await.unwrap();
        assert_eq!(index.chunk_count(), 1200);
        assert!(
            index.read().chunks.len() < 3600,
            "tombstones were compacted away"
        );
        let hits = index
            .search_with("item 77 revision", &anyone(), 1, SearchMode::Lexical)
            .await;
        assert_eq!(hits[0].document_id, "doc-77");
        assert!(hits[0].text.contains("revision 2"));
    }
}
