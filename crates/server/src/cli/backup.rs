//! `switchboard backup PATH`: a consistent copy of the SQLite database, taken while
//! the server runs (docs/sqlite.md says how to restore it).

use crate::config::{Config, StorageConfig};
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Where to write the copy. Must not exist yet: a backup never overwrites.
    #[arg(value_name = "PATH")]
    pub target: PathBuf,
    /// The database to copy. Default: the one the server's environment names
    /// (SMOOTH_AGENT_DATABASE_URL=sqlite://PATH, else switchboard.db in
    /// SMOOTH_AGENT_DATA_DIR).
    #[arg(long, value_name = "FILE")]
    pub database: Option<PathBuf>,
}

/// Copies the database; returns what to print.
pub async fn run(args: &BackupArgs) -> Result<String, String> {
    let source = match &args.database {
        Some(path) => path.clone(),
        None => match Config::from_env().map_err(|e| e.to_string())?.storage {
            StorageConfig::Sqlite { path, .. } => path,
            other => {
                return Err(format!(
                    "SMOOTH_AGENT_STORAGE={} keeps no SQLite file; back it up with its own \
                     tools (pg_dump for PostgreSQL), or name a file with --database",
                    other.label()
                ));
            }
        },
    };
    copy(&source, &args.target).await
}

#[cfg(feature = "sqlite")]
async fn copy(source: &std::path::Path, target: &std::path::Path) -> Result<String, String> {
    let bytes = switchboard_store_sqlite::backup(source, target)
        .await
        .map_err(|e| e.to_string())?;
    Ok(format!(
        "copied {} to {} ({bytes} bytes)",
        source.display(),
        target.display()
    ))
}

#[cfg(not(feature = "sqlite"))]
async fn copy(_: &std::path::Path, _: &std::path::Path) -> Result<String, String> {
    Err("this build has no SQLite support (cargo feature `sqlite`)".into())
}
