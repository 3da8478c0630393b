//! Switchboard's [`Store`](switchboard_core::Store) on an embedded SQLite file: one
//! machine keeps its conversations, sessions and waiting approvals across restarts
//! without a database server.
//!
//! [`SqliteStore::open`] creates the file when missing, applies the embedded schema
//! migrations and sets the file up for durability: write-ahead log (WAL),
//! `synchronous=FULL` (a committed write survives a crash of the process or the
//! machine), foreign keys on, and a busy timeout. SQLite is compiled in (sqlx's
//! `sqlite-bundled`), so no system library is needed.
//!
//! One file serves one server: `open` takes an exclusive lock on `PATH.lock` for as
//! long as the store lives, and a second server on the same file refuses to start
//! ([`SqliteStore::open`] fails with [`OpenError::InUse`]). The operating system
//! drops the lock when the process ends, however it ends, so a crash never leaves a
//! stale lock. Other readers (`switchboard backup`, the `sqlite3` shell) can still
//! open the file.
//!
//! Writes go through one connection, one at a time, so they never wait on each
//! other's locks, and every multi-statement write is a transaction started with
//! `BEGIN IMMEDIATE`; reads use connections of their own and run beside the writes
//! (WAL). The store calls SQLite directly through rusqlite ([`db`] says why and how);
//! the migrations and the knowledge base use sqlx's driver, on the same bundled
//! SQLite.
//!
//! [`knowledge`]: documents, chunks, their full-text index (FTS5) and vectors, in
//! tables of their own in the same file.

mod admin;
mod backup;
mod bounds;
mod create;
mod db;
mod error;
mod handoff;
pub mod knowledge;
mod lock;
mod migrations;
mod pages;
mod rows;
mod store;

pub use backup::backup;
pub use error::OpenError;
pub use knowledge::{KnowledgeOptions, SqliteKnowledge};
/// The pool type callers share with the knowledge base.
pub use sqlx::SqlitePool;

use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How many connections read and how long a call waits for the file.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// Connections serving reads beside the one that writes.
    pub readers: u32,
    /// How long a statement waits while another process (a backup, the `sqlite3`
    /// shell) holds the file's write lock, and a call waits for a free connection.
    pub busy_timeout: Duration,
    /// What a committed write survives.
    pub durability: Durability,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            readers: 4,
            busy_timeout: Duration::from_secs(5),
            durability: Durability::default(),
        }
    }
}

/// What a committed write survives (`SMOOTH_AGENT_SQLITE_DURABILITY`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Durability {
    /// A crash of the process or of the machine, a power cut included: every
    /// commit waits for the disk (`synchronous=FULL`), as PostgreSQL does.
    #[default]
    Full,
    /// A crash of the process (a panic, SIGKILL, the out-of-memory killer); a
    /// power cut or a kernel crash may lose the last commits, never the file's
    /// consistency (`synchronous=NORMAL` in WAL mode: the disk is flushed at
    /// checkpoints only).
    Process,
}

/// The SQLite store: a file, one writing connection and a pool of readers.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    db: db::Db,
    path: PathBuf,
    /// Held for the life of the store: the exclusive lock on `PATH.lock`.
    _lock: Arc<lock::FileLock>,
}

impl SqliteStore {
    /// Opens (creating when missing) the database at `path`, its folder included,
    /// takes the file's lock and applies pending migrations.
    pub async fn open(path: &Path, options: SqliteOptions) -> Result<Self, OpenError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| OpenError::Io {
                path: parent.to_owned(),
                error: e.to_string(),
            })?;
        }
        let lock = lock::FileLock::acquire(path).await?;
        let failed = |what: &'static str| {
            let path = path.to_owned();
            move |error: sqlx::Error| OpenError::Database {
                path,
                what,
                error: error.to_string(),
            }
        };
        // The file is created and migrated through one sqlx connection; WAL is a
        // property of the file and stays on for every later connection.
        let connect = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(options.busy_timeout);
        let mut setup = SqliteConnection::connect_with(&connect)
            .await
            .map_err(failed("cannot open"))?;
        let migrated =
            migrations::migrator()
                .run(&mut setup)
                .await
                .map_err(|e| OpenError::Database {
                    path: path.to_owned(),
                    what: "cannot apply migrations",
                    error: e.to_string(),
                });
        let _ = setup.close().await;
        migrated?;
        let db = db::Db::open(path, &options).map_err(|e| OpenError::Database {
            path: path.to_owned(),
            what: "cannot open",
            error: e.to_string(),
        })?;
        Ok(Self {
            db,
            path: path.to_owned(),
            _lock: Arc::new(lock),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes every connection (the last one folds the write-ahead log back into
    /// the file) and then releases the lock, once no clone of this store is left.
    pub async fn close(self) {
        let Self { db, path: _, _lock } = self;
        db.close().await;
    }
}
