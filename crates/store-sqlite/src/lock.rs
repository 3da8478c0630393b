//! One server per file: an exclusive lock on `PATH.lock`, held while the store lives.
//!
//! The lock is SQLite's own (POSIX advisory locks on Unix) on a small side file,
//! taken by a connection in `locking_mode=EXCLUSIVE`, which keeps it until the
//! connection closes. The kernel drops such locks when their process ends, SIGKILL
//! included, so a crash never leaves the file locked. The lock is on a side file,
//! not the database itself, so readers (`switchboard backup`) can still open the
//! database while the server runs.

use crate::error::OpenError;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteLockingMode};
use sqlx::{Connection, SqliteConnection};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// The lock; dropping it (with its connection) releases it.
pub(crate) struct FileLock {
    /// Never used after `acquire`; kept open because closing it unlocks.
    _connection: Mutex<SqliteConnection>,
    path: PathBuf,
}

impl std::fmt::Debug for FileLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileLock")
            .field("path", &self.path)
            .finish()
    }
}

/// `PATH.lock` beside the database at `path`.
pub(crate) fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

impl FileLock {
    /// Takes the lock of the database at `path`, or says who holds it.
    pub(crate) async fn acquire(path: &Path) -> Result<Self, OpenError> {
        let lock = lock_path(path);
        let options = SqliteConnectOptions::new()
            .filename(&lock)
            .create_if_missing(true)
            .locking_mode(SqliteLockingMode::Exclusive)
            // Its content does not matter: no journal to leave behind.
            .journal_mode(SqliteJournalMode::Off)
            // Fail at once rather than wait for the other process.
            .busy_timeout(Duration::ZERO);
        let failed = |error: sqlx::Error| {
            if is_busy(&error) {
                OpenError::InUse {
                    path: path.to_owned(),
                    lock: lock.clone(),
                }
            } else {
                OpenError::Database {
                    path: lock.clone(),
                    what: "cannot take the lock",
                    error: error.to_string(),
                }
            }
        };
        let mut connection = SqliteConnection::connect_with(&options)
            .await
            .map_err(failed)?;
        // A write takes the exclusive lock; in this locking mode it is kept after
        // the commit, until the connection closes.
        sqlx::query("CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL)")
            .execute(&mut connection)
            .await
            .map_err(failed)?;
        sqlx::query("INSERT OR REPLACE INTO holder (rowid, pid) VALUES (1, $1)")
            .bind(i64::from(std::process::id()))
            .execute(&mut connection)
            .await
            .map_err(failed)?;
        Ok(Self {
            _connection: Mutex::new(connection),
            path: lock,
        })
    }
}

/// Whether `error` is SQLite's "the database is locked" (by another process).
fn is_busy(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => {
            let code = db.code();
            // SQLITE_BUSY (5) and its extended codes; SQLITE_LOCKED (6).
            code.as_deref()
                .and_then(|c| c.parse::<i32>().ok())
                .is_some_and(|c| c & 0xff == 5 || c & 0xff == 6)
        }
        _ => false,
    }
}
