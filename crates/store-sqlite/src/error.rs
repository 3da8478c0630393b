//! From SQLite errors to [`StoreError`], and why a file could not be opened.

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
pub(crate) fn write_error(
    what: impl std::fmt::Display,
) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |error| {
        if constraint(&error).is_some_and(|code| {
            code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
        }) {
            StoreError::Conflict(what.to_string())
        } else {
            backend_rusqlite(error)
        }
    }
}

/// Any other failure of the store's connections.
pub(crate) fn backend_rusqlite(error: rusqlite::Error) -> StoreError {
    StoreError::Backend(format!("sqlite: {error}"))
}

/// Whether `error` is a foreign-key violation: a write that names a missing record.
pub(crate) fn is_missing_reference(error: &rusqlite::Error) -> bool {
    constraint(error) == Some(rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY)
}

/// The extended code of a constraint violation.
fn constraint(error: &rusqlite::Error) -> Option<std::ffi::c_int> {
    match error {
        rusqlite::Error::SqliteFailure(failure, _)
            if failure.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Some(failure.extended_code)
        }
        _ => None,
    }
}
