//! Where state lives and how replicas meet: `SMOOTH_AGENT_STORAGE` (and the
//! knowledge fusion it allows) and `SMOOTH_AGENT_BACKPLANE`.

use super::ConfigError;
use super::env::Env;
use secrecy::SecretString;
use std::path::PathBuf;

/// Where conversations, sessions and messages are kept.
#[derive(Debug, Clone)]
pub enum StorageConfig {
    Memory,
    /// `rank_fusion`: hybrid retrieval fuses the arms by reciprocal rank
    /// (`SMOOTH_AGENT_KNOWLEDGE_FUSION=rrf`) instead of by relative score.
    Postgres {
        url: SecretString,
        rank_fusion: bool,
    },
    /// One SQLite file, from `SMOOTH_AGENT_DATABASE_URL=sqlite://PATH`
    /// (default `data/switchboard.db`), holding the knowledge base beside the store.
    Sqlite {
        path: PathBuf,
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
            Self::Postgres { .. } => "postgres",
            Self::DynamoDb { .. } => "dynamodb",
            Self::Sqlite { .. } => "sqlite",
        }
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
        None | Some("memory" | "mem" | "inmemory" | "in-memory") => Ok(StorageConfig::Memory),
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
        Some("sqlite" | "sqlite3") => Ok(StorageConfig::Sqlite {
            path: sqlite_path(env.get("SMOOTH_AGENT_DATABASE_URL"))?,
        }),
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
                "unknown storage '{other}' (expected: memory | sqlite | postgres | dynamodb)"
            ),
        }),
    }
}

/// The SQLite file of `sqlite://PATH` (or `sqlite:PATH`); `data/switchboard.db`
/// when no URL is given.
fn sqlite_path(url: Option<String>) -> Result<PathBuf, ConfigError> {
    let Some(url) = url else {
        return Ok(PathBuf::from("data/switchboard.db"));
    };
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| ConfigError {
            var: "SMOOTH_AGENT_DATABASE_URL",
            problem: "SMOOTH_AGENT_STORAGE=sqlite takes sqlite://PATH (a file path)".into(),
        })?;
    if path.is_empty() || path.contains('?') || path == ":memory:" {
        return Err(ConfigError {
            var: "SMOOTH_AGENT_DATABASE_URL",
            problem: format!(
                "'sqlite://{path}' is not a file path (no options, no :memory:; use \
                 SMOOTH_AGENT_STORAGE=memory for a throwaway server)"
            ),
        });
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
