//! The knowledge base: documents, chunking, access control and retrieval.
//!
//! Access filtering happens inside the index, while candidates are scored, so a
//! document the asker may not see never reaches ranking, results, tool output or
//! citations.

mod access;
mod chunk;
mod document;
mod index;
pub mod text;

pub use access::{Access, Acl};
pub use chunk::{ChunkOptions, chunk_text};
pub use document::Document;
pub use index::{Hit, KnowledgeIndex};
pub use text::terms;
