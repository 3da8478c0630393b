//! What the index holds and how it scores: documents and chunks in slots, term
//! postings for BM25, unit vectors for cosine similarity, both scans filtered by
//! who may see each document.

use super::{B, Hit, K1};
use crate::embed::{EmbedderSignature, dot};
use crate::fusion::top;
use crate::ingest::Prepared;
use crate::text::terms;
use crate::{Access, Document, KnowledgeError};
use std::collections::{HashMap, HashSet};

#[derive(Default)]
pub(super) struct Inner {
    /// Which embedder built the vectors, once there are any.
    pub(super) signature: Option<EmbedderSignature>,
    pub(super) docs: Vec<Option<DocEntry>>,
    pub(super) doc_slots: HashMap<String, u32>,
    /// Source key → the ids of its documents.
    pub(super) sources: HashMap<String, Vec<String>>,
    pub(super) chunks: Vec<ChunkEntry>,
    /// `chunks.len() * dimension` floats, unit length per chunk.
    pub(super) vectors: Vec<f32>,
    pub(super) term_ids: HashMap<String, u32>,
    /// term id → (chunk slot, term frequency)
    pub(super) postings: Vec<Vec<(u32, u16)>>,
    pub(super) live_chunks: usize,
    pub(super) live_terms: usize,
}

pub(super) struct DocEntry {
    pub(super) document: Document,
    pub(super) fingerprint: String,
    pub(super) chunk_slots: Vec<u32>,
}

pub(super) struct ChunkEntry {
    pub(super) doc: u32,
    pub(super) text: String,
    pub(super) length: u32,
    pub(super) alive: bool,
}

impl Inner {
    pub(super) fn dimension(&self) -> usize {
        self.signature.as_ref().map_or(0, |s| s.dimension)
    }

    pub(super) fn fingerprint_of(&self, id: &str) -> Option<&str> {
        let slot = *self.doc_slots.get(id)?;
        self.docs[slot as usize]
            .as_ref()
            .map(|d| d.fingerprint.as_str())
    }

    /// Records the embedder on first use; refuses vectors of any other.
    pub(super) fn accept(
        &mut self,
        name: String,
        prepared: &[Prepared],
    ) -> Result<(), KnowledgeError> {
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

    pub(super) fn insert(&mut self, prepared: Prepared) {
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
    pub(super) fn remove_doc(&mut self, id: &str) -> bool {
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
    pub(super) fn compact_if_sparse(&mut self) {
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
    pub(super) fn visibility(&self, access: &Access) -> Vec<bool> {
        self.docs
            .iter()
            .map(|d| {
                d.as_ref()
                    .is_some_and(|d| access.can_see(d.document.org.as_deref(), &d.document.acl))
            })
            .collect()
    }

    pub(super) fn usable(&self, slot: u32, visible: &[bool]) -> bool {
        let chunk = &self.chunks[slot as usize];
        chunk.alive && visible[chunk.doc as usize]
    }

    /// BM25 over visible chunks: the best `pool`, best first.
    pub(super) fn bm25(&self, query: &str, visible: &[bool], pool: usize) -> Vec<(u32, f32)> {
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
    pub(super) fn nearest(
        &self,
        query: &[f32],
        visible: &[bool],
        pool: usize,
        floor: f32,
    ) -> Vec<(u32, f32)> {
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

    pub(super) fn hit(&self, slot: u32, score: f32) -> Hit {
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
