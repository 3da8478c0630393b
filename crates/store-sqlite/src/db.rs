//! The store's own connections: SQLite called directly through rusqlite.
//!
//! sqlx runs every SQLite connection on a thread of its own and hands each statement
//! and each row across threads; measured in release, those hand-offs were most of a
//! turn's CPU on SQLite (docs/benchmarks.md). Here a call costs at most one hand-off:
//!
//! - **Reads** run in place on the calling task, on a connection from a small pool.
//!   They are lookups and short keyset pages on indexes, served from SQLite's page
//!   cache, and a reader never waits for the writer (WAL). Reads that may scan many
//!   rows (a search through the conversation list) go to the blocking pool instead
//!   ([`Db::scan`]).
//! - **Writes** run on tokio's blocking pool, because a commit waits for the disk
//!   (with [`Durability::Full`]), one at a time: a write waits for its turn on an async
//!   gate, never on a thread.
//!
//! Every connection has the same settings: foreign keys on, `synchronous` as
//! [`Durability`] says, the busy timeout, a statement cache, and plans that do not
//! depend on bound values (QPSG).

use crate::Durability;
use crate::error::backend_rusqlite as backend;
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use switchboard_core::{StoreError, StoreResult};
use tokio::sync::Semaphore;

/// With [`Durability::Process`], writes between two checkpoints.
const CHECKPOINT_EVERY: u64 = 256;

/// Prepared statements kept per connection (the store has about forty).
const STATEMENT_CACHE: usize = 64;

/// The writing connection and a bounded pool of readers on one file.
#[derive(Debug, Clone)]
pub(crate) struct Db {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    busy_timeout: Duration,
    durability: Durability,
    /// Writes so far (with [`Durability::Process`], to time checkpoints).
    writes: AtomicU64,
    writer: Mutex<Connection>,
    /// One permit: writes queue here, not on the mutex.
    write_gate: Arc<Semaphore>,
    /// Idle readers; at most `read_gate`'s permits exist at once.
    readers: Mutex<Vec<Connection>>,
    read_gate: Semaphore,
}

impl Db {
    /// Opens the writing connection at once (the file must exist and carry the
    /// schema); readers are opened when first needed, up to `readers`.
    pub(crate) fn open(path: &Path, options: &crate::SqliteOptions) -> StoreResult<Self> {
        let busy_timeout = options.busy_timeout;
        let durability = options.durability;
        let readers = options.readers;
        let writer = connect(path, busy_timeout, durability, false)?;
        Ok(Self {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                busy_timeout,
                durability,
                writes: AtomicU64::new(0),
                writer: Mutex::new(writer),
                write_gate: Arc::new(Semaphore::new(1)),
                readers: Mutex::new(Vec::new()),
                read_gate: Semaphore::new(readers.max(1) as usize),
            }),
        })
    }

    /// Runs `work` on the writing connection after the writes before it. The write
    /// completes even when the caller stops waiting: once its turn comes, nothing
    /// interrupts it.
    ///
    /// With [`Durability::Full`] a commit waits for the disk, so it runs on the
    /// blocking pool. With [`Durability::Process`] a commit only hands pages to the
    /// operating system and runs in place, like a read; the disk is flushed at
    /// checkpoints, which run on the blocking pool every [`CHECKPOINT_EVERY`] writes.
    pub(crate) async fn write<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let permit = self
            .inner
            .write_gate
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Backend("sqlite: the store is closed".into()))?;
        let inner = self.inner.clone();
        if inner.durability == Durability::Process {
            let result = {
                let mut writer = inner.writer.lock().unwrap_or_else(PoisonError::into_inner);
                work(&mut writer)
            };
            drop(permit);
            let written = inner.writes.fetch_add(1, Ordering::Relaxed) + 1;
            if written.is_multiple_of(CHECKPOINT_EVERY) {
                self.checkpoint_later();
            }
            return result;
        }
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut writer = inner.writer.lock().unwrap_or_else(PoisonError::into_inner);
            work(&mut writer)
        })
        .await
        .map_err(|e| StoreError::Backend(format!("sqlite: a write failed: {e}")))?
    }

    /// Folds the write-ahead log into the file on the blocking pool, in the
    /// writers' queue (a passive checkpoint: readers are not waited for).
    fn checkpoint_later(&self) {
        let inner = self.inner.clone();
        tokio::spawn(async move {
            let Ok(permit) = inner.write_gate.clone().acquire_owned().await else {
                return;
            };
            let _ = tokio::task::spawn_blocking(move || {
                let _permit = permit;
                let writer = inner.writer.lock().unwrap_or_else(PoisonError::into_inner);
                if let Err(error) = writer.execute_batch("PRAGMA wal_checkpoint(PASSIVE);") {
                    tracing::warn!(%error, "sqlite: a checkpoint failed; the next one retries");
                }
            })
            .await;
        });
    }

    /// Runs a short read in place on a reading connection.
    pub(crate) async fn read<T, F>(&self, work: F) -> StoreResult<T>
    where
        F: FnOnce(&Connection) -> StoreResult<T>,
    {
        let _permit = self
            .inner
            .read_gate
            .acquire()
            .await
            .map_err(|_| StoreError::Backend("sqlite: the store is closed".into()))?;
        self.inner.with_reader(work)
    }

    /// Runs a read that may visit many rows on the blocking pool.
    pub(crate) async fn scan<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        let _permit = inner
            .read_gate
            .acquire()
            .await
            .map_err(|_| StoreError::Backend("sqlite: the store is closed".into()))?;
        let worker = self.inner.clone();
        tokio::task::spawn_blocking(move || worker.with_reader(work))
            .await
            .map_err(|e| StoreError::Backend(format!("sqlite: a read failed: {e}")))?
    }
}

impl Db {
    /// Waits for the running write, then closes every connection of this handle
    /// (when it is the last one), so a checkpoint folds the log into the file.
    pub(crate) async fn close(self) {
        let _ = self.inner.write_gate.acquire().await;
        self.inner.write_gate.close();
        self.inner.read_gate.close();
        drop(self);
    }
}

impl Inner {
    /// Takes an idle reader (opening one when none is idle), runs `work`, and puts
    /// the reader back. The caller holds a `read_gate` permit, which bounds how many
    /// readers exist.
    fn with_reader<T>(&self, work: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        let idle = self
            .readers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let reader = match idle {
            Some(reader) => reader,
            None => connect(&self.path, self.busy_timeout, self.durability, true)?,
        };
        let result = work(&reader);
        self.readers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(reader);
        result
    }
}

/// One connection with the store's settings.
fn connect(
    path: &Path,
    busy_timeout: Duration,
    durability: Durability,
    read_only: bool,
) -> StoreResult<Connection> {
    // Readers are ordinary connections that refuse writes (`query_only`): a
    // read-only open could not create the WAL index when it is missing.
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(path, flags).map_err(backend)?;
    connection.busy_timeout(busy_timeout).map_err(backend)?;
    let synchronous = match durability {
        Durability::Full => "FULL",
        Durability::Process => "NORMAL",
    };
    let query_only = if read_only { "ON" } else { "OFF" };
    // With `Process`, a commit never checkpoints (that flushes the disk, and the
    // commit runs in place): `Db::write` checkpoints on the blocking pool instead.
    let checkpoints = match durability {
        Durability::Process if !read_only => "PRAGMA wal_autocheckpoint = 0;",
        _ => "",
    };
    connection
        .execute_batch(&format!(
            "PRAGMA foreign_keys = ON; PRAGMA synchronous = {synchronous}; \
             PRAGMA query_only = {query_only}; {checkpoints}"
        ))
        .map_err(backend)?;
    // Plans do not depend on bound values: without this, a statement whose plan
    // looked at a parameter (a partial index, a LIMIT) is prepared again each time
    // that parameter changes, which measured about 5 % of a turn's CPU.
    connection
        .set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
        .map_err(backend)?;
    connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(connection)
}

/// Runs one statement (prepared once per connection) and returns the rows it changed.
pub(crate) fn execute(
    connection: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<usize> {
    connection.prepare_cached(sql)?.execute(params)
}

/// The first row of a query, converted, or `None`.
pub(crate) fn optional<T>(
    connection: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    convert: impl FnOnce(&rusqlite::Row<'_>) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    let mut statement = connection.prepare_cached(sql).map_err(backend)?;
    let mut rows = statement.query(params).map_err(backend)?;
    match rows.next().map_err(backend)? {
        Some(row) => convert(row).map(Some),
        None => Ok(None),
    }
}

/// Every row of a query, converted.
pub(crate) fn all<T>(
    connection: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    mut convert: impl FnMut(&rusqlite::Row<'_>) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let mut statement = connection.prepare_cached(sql).map_err(backend)?;
    let mut rows = statement.query(params).map_err(backend)?;
    let mut found = Vec::new();
    while let Some(row) = rows.next().map_err(backend)? {
        found.push(convert(row)?);
    }
    Ok(found)
}
