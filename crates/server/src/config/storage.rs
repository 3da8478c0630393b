//! Where state lives and how replicas meet: `SMOOTH_AGENT_STORAGE` (and the
//! knowledge fusion it allows) and `SMOOTH_AGENT_BACKPLANE`.

use super::ConfigError;
use super::env::Env;
use secrecy::SecretString;
use std::path::{Path, PathBuf};

/// Where conversations, sessions and messages are kept.
#[derive(Debug, Clone)]
pub enum StorageConfig {
    Memory,
    /// A SQLite file: `SMOOTH_AGENT_DATABASE_URL=sqlite://PATH`, or
    /// `switchboard.db` in `SMOOTH_AGENT_DATA_DIR` (default `./data`). The default.
    Sqlite {
        path: PathBuf,
        /// `SMOOTH_AGENT_SQLITE_DURABILITY`: `full` (the default) or `process`.
        durability: SqliteDurability,
    },
    /// `rank_fusion`: hybrid retrieval fuses the arms by reciprocal rank
    /// (`SMOOTH_AGENT_KNOWLEDGE_FUSION=rrf`) instead of by relative score.
    Postgres {
        url: SecretString,
        rank_fusion: bool,
    },
    /// `SMOOTH_AGENT_DDB_TABLE`, and `SMOOTH_AGENT_DDB_ENDPOINT` for a local server.
    DynamoDb {
        table: String,
        endpoint: Option<String>,
    },
}

impl StorageConfig {
    pub fn label(&self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Sqlite { .. } => "sqlite",
            Self::Postgres { .. } => "postgres",
            Self::DynamoDb { .. } => "dynamodb",
        }
    }
}

/// What a committed SQLite write survives (docs/sqlite.md#durability).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SqliteDurability {
    /// A crash of the process or of the machine: every commit waits for the disk.
    #[default]
    Full,
    /// A crash of the process; a power cut may lose the last commits.
    Process,
}

fn sqlite_durability<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<SqliteDurability, ConfigError> {
    match env
        .get("SMOOTH_AGENT_SQLITE_DURABILITY")
        .map(|v| v.to_ascii_lowercase())
        .as_deref()
    {
        None | Some("full") => Ok(SqliteDurability::Full),
        Some("process") => Ok(SqliteDurability::Process),
        Some(other) => Err(ConfigError {
            var: "SMOOTH_AGENT_SQLITE_DURABILITY",
            problem: format!("'{other}' is neither 'full' nor 'process'"),
        }),
    }
}

/// How the replicas of one deployment reach each other's sockets.
#[derive(Debug, Clone)]
pub enum BackplaneConfig {
    /// A single replica: published events reach this process's sockets only.
    Memory,
    /// Redis or Valkey publish/subscribe on `channel`.
    Redis { url: SecretString, channel: String },
    /// NATS publish/subscribe on subject `channel`.
    Nats { url: SecretString, channel: String },
}

impl BackplaneConfig {
    pub fn label(&self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Redis { .. } => "redis",
            Self::Nats { .. } => "nats",
        }
    }
}

pub(super) fn storage<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<StorageConfig, ConfigError> {
    let kind = env
        .get("SMOOTH_AGENT_STORAGE")
        .map(|v| v.to_ascii_lowercase());
    let rank_fusion = rank_fusion(env)?;
    if rank_fusion && !matches!(kind.as_deref(), Some("postgres" | "postgresql" | "pg")) {
        return Err(ConfigError {
            var: "SMOOTH_AGENT_KNOWLEDGE_FUSION",
            problem: "'rrf' is available with SMOOTH_AGENT_STORAGE=postgres; the other stores fuse by score".into(),
        });
    }
    match kind.as_deref() {
        Some("memory" | "mem" | "inmemory" | "in-memory") => Ok(StorageConfig::Memory),
        None | Some("sqlite") => Ok(StorageConfig::Sqlite {
            path: sqlite_path(env)?,
            durability: sqlite_durability(env)?,
        }),
        Some("postgres" | "postgresql" | "pg") => {
            let url = env
                .get("SMOOTH_AGENT_DATABASE_URL")
                .or_else(|| env.get("DATABASE_URL"))
                .ok_or_else(|| ConfigError {
                    var: "SMOOTH_AGENT_DATABASE_URL",
                    problem: "SMOOTH_AGENT_STORAGE=postgres needs SMOOTH_AGENT_DATABASE_URL (or DATABASE_URL)".into(),
                })?;
            Ok(StorageConfig::Postgres {
                url: url.into(),
                rank_fusion,
            })
        }
        Some("dynamodb" | "dynamo" | "ddb") => {
            let endpoint = env.get("SMOOTH_AGENT_DDB_ENDPOINT");
            if let Some(url) = &endpoint
                && !(url.starts_with("http://") || url.starts_with("https://"))
            {
                return Err(ConfigError {
                    var: "SMOOTH_AGENT_DDB_ENDPOINT",
                    problem: format!("'{url}' is not an http:// or https:// URL"),
                });
            }
            Ok(StorageConfig::DynamoDb {
                table: env
                    .get("SMOOTH_AGENT_DDB_TABLE")
                    .unwrap_or_else(|| "smooth-operator".into()),
                endpoint,
            })
        }
        Some(other) => Err(ConfigError {
            var: "SMOOTH_AGENT_STORAGE",
            problem: format!(
                "unknown storage '{other}' (expected: sqlite | memory | postgres | dynamodb)"
            ),
        }),
    }
}

/// Where the SQLite file is: `SMOOTH_AGENT_DATABASE_URL=sqlite://PATH` (relative
/// to the working directory, or absolute as `sqlite:///var/lib/...`), else
/// `switchboard.db` in `SMOOTH_AGENT_DATA_DIR` (default `./data`). The folder is
/// created when the store opens, not here.
fn sqlite_path<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<PathBuf, ConfigError> {
    const URL: &str = "SMOOTH_AGENT_DATABASE_URL";
    let Some(url) = env.get(URL) else {
        let dir = env
            .get("SMOOTH_AGENT_DATA_DIR")
            .unwrap_or_else(|| "./data".into());
        return Ok(Path::new(&dir).join("switchboard.db"));
    };
    let refused = |problem: String| ConfigError { var: URL, problem };
    let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        // Never echo the URL: it may hold a password.
        return Err(refused(
            "SQLite needs a sqlite://PATH URL; for PostgreSQL set SMOOTH_AGENT_STORAGE=postgres"
                .into(),
        ));
    };
    if path.is_empty() || path == ":memory:" || path.contains(['?', '#']) {
        return Err(refused(format!(
            "'{url}' is not a file: write sqlite://PATH (no options), or \
             SMOOTH_AGENT_STORAGE=memory for nothing on disk"
        )));
    }
    Ok(PathBuf::from(path))
}

/// `SMOOTH_AGENT_KNOWLEDGE_FUSION`: `score` (the default) or `rrf`.
pub(super) fn rank_fusion<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<bool, ConfigError> {
    match env
        .get("SMOOTH_AGENT_KNOWLEDGE_FUSION")
        .map(|v| v.to_ascii_lowercase())
        .as_deref()
    {
        None | Some("score") => Ok(false),
        Some("rrf" | "rank") => Ok(true),
        Some(other) => Err(ConfigError {
            var: "SMOOTH_AGENT_KNOWLEDGE_FUSION",
            problem: format!("unknown fusion '{other}' (expected: score | rrf)"),
        }),
    }
}

pub(super) fn backplane<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<BackplaneConfig, ConfigError> {
    const VAR: &str = "SMOOTH_AGENT_BACKPLANE";
    let kind = env.get(VAR).map(|v| v.to_ascii_lowercase());
    // The URL, from the shared variable or the broker's own.
    let url = |fallback: &str| {
        env.get("SMOOTH_AGENT_BACKPLANE_URL")
            .or_else(|| env.get(fallback))
            .map(SecretString::from)
            .ok_or_else(|| ConfigError {
                var: "SMOOTH_AGENT_BACKPLANE_URL",
                problem: format!(
                    "SMOOTH_AGENT_BACKPLANE={} needs SMOOTH_AGENT_BACKPLANE_URL (or {fallback})",
                    kind.as_deref().unwrap_or_default()
                ),
            })
    };
    match kind.as_deref() {
        None | Some("" | "memory" | "inmemory" | "in-memory") => Ok(BackplaneConfig::Memory),
        // The existing servers' channel and subject, so a mixed fleet shares one bus;
        // deployments sharing a broker set their own.
        Some("redis" | "valkey") => Ok(BackplaneConfig::Redis {
            url: url("SMOOTH_AGENT_REDIS_URL")?,
            channel: env
                .get("SMOOTH_AGENT_BACKPLANE_CHANNEL")
                .unwrap_or_else(|| "smooth-operator:backplane".into()),
        }),
        Some("nats") => Ok(BackplaneConfig::Nats {
            url: url("SMOOTH_AGENT_NATS_URL")?,
            channel: env
                .get("SMOOTH_AGENT_BACKPLANE_CHANNEL")
                .unwrap_or_else(|| "smooth-operator.backplane".into()),
        }),
        Some(other) => Err(ConfigError {
            var: VAR,
            problem: format!(
                "unknown SMOOTH_AGENT_BACKPLANE '{other}' (expected: memory | redis | valkey | nats)"
            ),
        }),
    }
}
