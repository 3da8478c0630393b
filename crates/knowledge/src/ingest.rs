//! Turning documents into what an index stores: chunks, their vectors, and a
//! fingerprint that tells whether a document changed. Shared by every backend.

use crate::Document;
use crate::chunk::{ChunkOptions, chunk_text};
use crate::embed::{Embedder, EmbedderSignature};

/// Why knowledge could not be ingested or searched.
#[derive(Debug, thiserror::Error)]
pub enum KnowledgeError {
    #[error("cannot embed the documents: {0}")]
    Embed(#[from] crate::embed::EmbedError),
    #[error("this index holds vectors of {index}; refusing vectors of {offered}")]
    EmbedderMismatch {
        index: EmbedderSignature,
        offered: EmbedderSignature,
    },
    /// The storage behind the index failed; the text is for logs.
    #[error("the knowledge store failed: {0}")]
    Backend(String),
}

/// What an ingestion changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// Documents (re)indexed.
    pub indexed: usize,
    /// Documents whose content had not changed, so were kept as they were.
    pub unchanged: usize,
    /// Documents the source no longer has.
    pub removed: usize,
    /// Chunks of the (re)indexed documents.
    pub chunks: usize,
}

/// A document chunked and embedded, ready to enter an index.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub document: Document,
    pub fingerprint: u64,
    /// (text, vector)
    pub chunks: Vec<(String, Vec<f32>)>,
}

/// Chunks and embeds documents (in one batch for the embedder).
pub async fn prepare(
    embedder: &dyn Embedder,
    chunking: ChunkOptions,
    documents: Vec<Document>,
) -> Result<Vec<Prepared>, KnowledgeError> {
    let mut texts = Vec::new();
    let mut plan = Vec::new();
    for document in documents {
        let chunks: Vec<String> = chunk_text(&document.content, chunking)
            .into_iter()
            .map(|c| c.text)
            .collect();
        plan.push((document, chunks.len()));
        texts.extend(chunks);
    }
    let mut vectors = if texts.is_empty() {
        Vec::new()
    } else {
        embedder.embed(&texts).await?
    }
    .into_iter();
    let mut texts = texts.into_iter();
    Ok(plan
        .into_iter()
        .map(|(document, n)| Prepared {
            fingerprint: fingerprint(&document),
            chunks: (0..n)
                .filter_map(|_| Some((texts.next()?, vectors.next()?)))
                .collect(),
            document,
        })
        .collect())
}

/// A digest of everything that decides how a document is indexed and seen.
pub fn fingerprint(document: &Document) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (
        &document.content,
        &document.title,
        &document.url,
        &document.source,
        &document.org,
        &document.sets,
    )
        .hash(&mut h);
    serde_json::to_string(&document.acl)
        .unwrap_or_default()
        .hash(&mut h);
    h.finish()
}
