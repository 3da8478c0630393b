//! `switchboard backup`: a consistent copy of a live database with `VACUUM INTO`.
//!
//! `VACUUM INTO` reads the database in one read transaction, so the copy is the
//! database as of one instant, whatever the server writes meanwhile (WAL readers
//! never block the writer, nor it them). The copy is a plain, compacted SQLite file
//! without a write-ahead log: restoring is copying it back while the server is
//! stopped.

use crate::error::OpenError;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};
use std::path::Path;
use std::time::Duration;

/// Copies the database at `source` to `target`, which must not exist yet; returns
/// the size of the copy in bytes. The copy is checked (`PRAGMA quick_check`) before
/// this returns.
pub async fn backup(source: &Path, target: &Path) -> Result<u64, OpenError> {
    let io = |path: &Path, error: String| OpenError::Io {
        path: path.to_owned(),
        error,
    };
    if target.symlink_metadata().is_ok() {
        return Err(io(
            target,
            "already exists; a backup never overwrites a file: name a new one".into(),
        ));
    }
    if !source.is_file() {
        return Err(io(source, "no database here".into()));
    }
    let Some(target_text) = target.to_str() else {
        return Err(io(target, "the path is not UTF-8".into()));
    };
    let failed = |path: &Path, what: &'static str| {
        let path = path.to_owned();
        move |error: sqlx::Error| OpenError::Database {
            path,
            what,
            error: error.to_string(),
        }
    };
    let options = SqliteConnectOptions::new()
        .filename(source)
        .create_if_missing(false)
        .busy_timeout(Duration::from_secs(30));
    let mut connection = SqliteConnection::connect_with(&options)
        .await
        .map_err(failed(source, "cannot open"))?;
    // VACUUM INTO refuses a target that exists and is not empty, so a file created
    // between the check above and here is not overwritten either.
    let copied = sqlx::query("VACUUM INTO $1")
        .bind(target_text)
        .execute(&mut connection)
        .await
        .map_err(failed(target, "cannot write the copy"));
    let _ = connection.close().await;
    copied?;
    let check = SqliteConnectOptions::new()
        .filename(target)
        .create_if_missing(false)
        .read_only(true);
    let mut copy = SqliteConnection::connect_with(&check)
        .await
        .map_err(failed(target, "cannot open the copy"))?;
    let verdict: String = sqlx::query_scalar("PRAGMA quick_check")
        .fetch_one(&mut copy)
        .await
        .map_err(failed(target, "cannot check the copy"))?;
    let _ = copy.close().await;
    if verdict != "ok" {
        return Err(io(target, format!("the copy failed its check: {verdict}")));
    }
    std::fs::metadata(target)
        .map(|m| m.len())
        .map_err(|e| io(target, e.to_string()))
}
