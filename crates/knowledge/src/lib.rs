//! The knowledge base: documents, chunking, access control and retrieval.
//!
//! Access filtering happens inside the index, while candidates are scored, so a
//! document the asker may not see never reaches ranking, results, tool output or
//! citations.

mod access;
mod base;
mod chunk;
mod document;
pub mod embed;
pub mod fusion;
mod index;
pub mod ingest;
pub mod rerank;
mod retriever;
pub mod retry;
pub mod source;
#[cfg(feature = "test-suite")]
pub mod suite;
pub mod text;

pub use access::{Access, Acl};
pub use base::KnowledgeBase;
pub use chunk::{Chunk, ChunkOptions, chunk_text};
pub use document::{Document, DocumentInfo};
pub use embed::{Embedder, EmbedderSignature, GatewayEmbedder, HashingEmbedder};
pub use index::{Hit, KnowledgeIndex, SearchMode};
pub use ingest::{IngestReport, KnowledgeError};
pub use rerank::{GatewayReranker, Reranker};
pub use retriever::Retriever;
pub use text::terms;

/// The demo knowledge base `SMOOTH_AGENT_SEED_KB=1` loads.
pub fn demo_documents() -> Vec<Document> {
    vec![
        Document::public(
            "policies/returns.md",
            "SmooAI's return window is exactly 17 days from delivery. Returns after 17 days are not accepted.",
        ),
        Document::public(
            "policies/shipping.md",
            "SmooAI standard shipping takes 5 to 7 business days. Expedited shipping takes 2 business days.",
        ),
    ]
}
