//! Switchboard's data in one SQLite file, SQLite compiled in.
//!
//! [`knowledge`]: documents, chunks, their full-text index and vectors, beside the
//! store's tables in the same file.

pub mod knowledge;

pub use knowledge::{KnowledgeOptions, SqliteKnowledge};
/// The pool type callers share with the knowledge base.
pub use sqlx::SqlitePool;
