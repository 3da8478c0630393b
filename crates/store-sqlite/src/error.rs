//! From sqlx errors to [`StoreError`], and why a file could not be opened.

use std::path::PathBuf;
use switchboard_core::StoreError;

/// Why [`SqliteStore::open`](crate::SqliteStore::open) failed.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Another process holds the file: one file serves one server.
    #[error(
        "{path} is in use by another switchboard process (it holds {lock}); one SQLite \
         file serves one server: stop the other one, give this one its own \
         SMOOTH_AGENT_DATA_DIR, or use PostgreSQL for several replicas"
    )]
    InUse { path: PathBuf, lock: PathBuf },
    #[error("{path}: {error}")]
    Io { path: PathBuf, error: String },
    #[error("{path}: {what}: {error}")]
    Database {
        path: PathBuf,
        what: &'static str,
        error: String,
    },
}

impl From<OpenError> for StoreError {
    fn from(error: OpenError) -> Self {
        StoreError::Backend(error.to_string())
    }
}

/// Maps a failed statement that writes `what` (like `session <id>`): a unique
/// violation means the record exists already; everything else is a backend failure.
pub(crate) fn write_error(what: impl std::fmt::Display) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |error| match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(what.to_string())
        }
        _ => backend(error),
    }
}

/// Any other failure.
pub(crate) fn backend(error: sqlx::Error) -> StoreError {
    StoreError::Backend(format!("sqlite: {error}"))
}

/// Whether `error` is a foreign-key violation: a write that names a missing record.
pub(crate) fn is_missing_reference(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_foreign_key_violation())
}
