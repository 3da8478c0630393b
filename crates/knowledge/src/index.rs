//! The in-memory lexical index (BM25).

use crate::chunk::{ChunkOptions, chunk_text};
use crate::text::terms;
use crate::{Access, Document};
use std::collections::HashMap;
use std::sync::RwLock;

/// BM25 parameters (the usual defaults).
const K1: f64 = 1.2;
const B: f64 = 0.75;

/// One retrieved chunk.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub document_id: String,
    pub source: String,
    pub title: String,
    pub url: Option<String>,
    /// The chunk's text.
    pub text: String,
    pub score: f64,
}

/// Documents split into chunks, searchable by relevance, filtered by access.
#[derive(Default)]
pub struct KnowledgeIndex {
    inner: RwLock<Inner>,
}

#[derive(Default)]
struct Inner {
    documents: HashMap<String, Document>,
    /// Chunk slots; removed chunks leave `None` behind.
    chunks: Vec<Option<Chunk>>,
    chunks_of: HashMap<String, Vec<usize>>,
    /// term → (chunk slot → term frequency)
    postings: HashMap<String, HashMap<usize, u32>>,
    live_chunks: usize,
    total_terms: usize,
}

struct Chunk {
    document_id: String,
    text: String,
    length: usize,
}

impl KnowledgeIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a document, replacing any earlier version with the same id.
    pub fn upsert(&self, document: Document) {
        let mut inner = self.write();
        inner.remove(&document.id);
        for text in chunk_text(&document.content, ChunkOptions::default()) {
            let words = terms(&text);
            let slot = inner.chunks.len();
            let mut counts: HashMap<String, u32> = HashMap::new();
            for word in &words {
                *counts.entry(word.clone()).or_default() += 1;
            }
            for (term, tf) in counts {
                inner.postings.entry(term).or_default().insert(slot, tf);
            }
            inner.total_terms += words.len();
            inner.live_chunks += 1;
            inner.chunks.push(Some(Chunk {
                document_id: document.id.clone(),
                text,
                length: words.len(),
            }));
            inner
                .chunks_of
                .entry(document.id.clone())
                .or_default()
                .push(slot);
        }
        inner.documents.insert(document.id.clone(), document);
    }

    /// Removes a document and its chunks; `false` when there was none.
    pub fn remove(&self, document_id: &str) -> bool {
        self.write().remove(document_id)
    }

    pub fn document_count(&self) -> usize {
        self.read().documents.len()
    }

    /// The best `limit` chunks for `query` among those `access` may see.
    pub fn search(&self, query: &str, access: &Access, limit: usize) -> Vec<Hit> {
        let inner = self.read();
        let query_terms = terms(query);
        if inner.live_chunks == 0 || query_terms.is_empty() || limit == 0 {
            return Vec::new();
        }
        let n = inner.live_chunks as f64;
        let average = (inner.total_terms as f64 / n).max(1.0);
        let visible = |slot: usize| -> Option<&Chunk> {
            let chunk = inner.chunks.get(slot)?.as_ref()?;
            let doc = inner.documents.get(&chunk.document_id)?;
            access
                .can_see(doc.org.as_deref(), &doc.acl)
                .then_some(chunk)
        };
        let mut scores: HashMap<usize, f64> = HashMap::new();
        for term in &query_terms {
            let Some(posting) = inner.postings.get(term) else {
                continue;
            };
            let df = posting.len() as f64;
            let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
            for (&slot, &tf) in posting {
                let Some(chunk) = visible(slot) else { continue };
                let tf = f64::from(tf);
                let norm = K1 * (1.0 - B + B * chunk.length as f64 / average);
                *scores.entry(slot).or_default() += idf * tf * (K1 + 1.0) / (tf + norm);
            }
        }
        let mut ranked: Vec<(usize, f64)> = scores.into_iter().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked
            .into_iter()
            .take(limit)
            .filter_map(|(slot, score)| {
                let chunk = inner.chunks[slot].as_ref()?;
                let doc = inner.documents.get(&chunk.document_id)?;
                Some(Hit {
                    document_id: doc.id.clone(),
                    source: doc.source.clone(),
                    title: doc.display_title().to_owned(),
                    url: doc.url.clone(),
                    text: chunk.text.clone(),
                    score,
                })
            })
            .collect()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }
}

impl Inner {
    fn remove(&mut self, document_id: &str) -> bool {
        let existed = self.documents.remove(document_id).is_some();
        for slot in self.chunks_of.remove(document_id).unwrap_or_default() {
            if let Some(chunk) = self.chunks[slot].take() {
                self.live_chunks -= 1;
                self.total_terms -= chunk.length;
                for term in terms(&chunk.text) {
                    if let Some(posting) = self.postings.get_mut(&term) {
                        posting.remove(&slot);
                        if posting.is_empty() {
                            self.postings.remove(&term);
                        }
                    }
                }
            }
        }
        existed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Acl;

    fn index() -> KnowledgeIndex {
        let index = KnowledgeIndex::new();
        index.upsert(Document::public(
            "policies/returns.md",
            "SmooAI's return window is exactly 17 days from delivery. Returns after 17 days are not accepted.",
        ));
        index.upsert(Document::public(
            "policies/shipping.md",
            "SmooAI standard shipping takes 5 to 7 business days. Expedited shipping takes 2 business days.",
        ));
        index
    }

    #[test]
    fn ranks_the_relevant_document_first() {
        let hits = index().search("How long is the return window?", &Access::anonymous("o"), 3);
        assert_eq!(hits[0].document_id, "policies/returns.md");
        assert_eq!(hits.len(), 1, "the shipping policy shares no terms");
        let hits = index().search("what is the return policy?", &Access::anonymous("o"), 3);
        assert_eq!(hits[0].title, "policies/returns.md");
    }

    #[test]
    fn reingesting_replaces_and_removing_forgets() {
        let index = index();
        index.upsert(Document::public(
            "policies/returns.md",
            "Returns take 30 days now.",
        ));
        let hits = index.search("return window days", &Access::anonymous("o"), 5);
        assert_eq!(
            hits.iter()
                .filter(|h| h.document_id == "policies/returns.md")
                .count(),
            1
        );
        assert!(hits.iter().all(|h| !h.text.contains("17")));
        assert!(index.remove("policies/returns.md"));
        assert!(
            index
                .search("return", &Access::anonymous("o"), 5)
                .is_empty()
        );
        assert!(!index.remove("policies/returns.md"));
    }

    #[test]
    fn restricted_and_foreign_documents_never_come_back() {
        let index = index();
        let mut secret = Document::public("hr/salaries.md", "The return bonus is secret.");
        secret.acl = Acl::Restricted {
            users: vec![],
            groups: vec!["hr".into()],
        };
        index.upsert(secret);
        let mut foreign = Document::public("acme/returns.md", "Acme return window is 90 days.");
        foreign.org = Some("acme".into());
        index.upsert(foreign);

        let anonymous = Access::anonymous("o");
        let hits = index.search("return", &anonymous, 10);
        assert!(
            hits.iter()
                .all(|h| h.document_id != "hr/salaries.md" && h.document_id != "acme/returns.md")
        );
        let hr = Access {
            groups: vec!["hr".into()],
            ..anonymous
        };
        assert!(
            index
                .search("return bonus", &hr, 10)
                .iter()
                .any(|h| h.document_id == "hr/salaries.md")
        );
    }
}
