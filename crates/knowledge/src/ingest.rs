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
    pub fingerprint: String,
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
        let chunks = chunk_texts(&document, chunking);
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

/// The prefix of a fingerprint as [`fingerprint`] writes it; a stored fingerprint
/// without it was written by an older version (with std's `DefaultHasher`, whose
/// values may change between Rust releases) and is upgraded at the next ingestion
/// without re-embedding when the document's text is the same.
pub const FINGERPRINT_PREFIX: &str = "sha256:";

/// A digest of everything that decides how a document is indexed and seen:
/// `sha256:` and the SHA-256 of those fields as JSON, stable across releases.
pub fn fingerprint(document: &Document) -> String {
    use sha2::{Digest, Sha256};
    let fields = serde_json::json!([
        document.content,
        document.title,
        document.url,
        document.source,
        document.org,
        document.sets,
        document.acl,
    ]);
    let digest = Sha256::digest(fields.to_string().as_bytes());
    let mut out = String::with_capacity(FINGERPRINT_PREFIX.len() + 64);
    out.push_str(FINGERPRINT_PREFIX);
    for byte in digest {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// Whether a stored fingerprint was written by [`fingerprint`] (else it is from
/// an older version and says nothing comparable).
pub fn is_current_fingerprint(stored: &str) -> bool {
    stored.starts_with(FINGERPRINT_PREFIX)
}

/// The texts `document` is cut into, as [`prepare`] cuts them.
pub fn chunk_texts(document: &Document, chunking: ChunkOptions) -> Vec<String> {
    chunk_text(&document.content, chunking)
        .into_iter()
        .map(|c| c.text)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_is_a_stable_sha256() {
        let document = Document {
            id: "a".into(),
            source: "a.md".into(),
            title: Some("A".into()),
            url: None,
            content: "Alpha.".into(),
            org: Some("acme".into()),
            acl: Default::default(),
            sets: vec!["hr".into()],
        };
        // Pinned: a change here re-embeds every stored document.
        assert_eq!(
            fingerprint(&document),
            "sha256:fe435d5c410778cef60bb51a4354696f341beffa46c4e5889f6cc18bde7f342b"
        );
        let mut edited = document.clone();
        edited.sets.push("it".into());
        assert_ne!(fingerprint(&document), fingerprint(&edited));
        assert!(is_current_fingerprint(&fingerprint(&document)));
        assert!(!is_current_fingerprint("-4242"));
    }
}
