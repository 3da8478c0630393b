//! Switchboard's data in one SQLite file, SQLite compiled in.
//!
//! [`knowledge`]: documents, chunks, their full-text index and vectors, beside the
//! store's tables in the same file.

pub mod knowledge;

pub use knowledge::{KnowledgeOptions, SqliteKnowledge};
