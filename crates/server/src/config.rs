//! Configuration: one typed struct, read once from the environment at start-up.
//!
//! Variable names are those of the existing smooth-operator servers, so an operator
//! can swap servers without relearning them. A value that cannot be used stops
//! start-up with a message naming the variable; nothing falls back silently.

use secrecy::SecretString;
use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// Everything the server reads from its environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `SMOOTH_AGENT_BIND`: the address to listen on.
    pub bind: IpAddr,
    /// `SMOOTH_AGENT_PORT`: the port to listen on (0 picks a free one).
    pub port: u16,
    /// `SMOOTH_AGENT_SEED_KB`: seed the demo knowledge base.
    pub seed_kb: bool,
    /// `SMOOTH_AGENT_MODEL`: the default chat model.
    pub model: String,
    /// `SMOOTH_AGENT_JUDGE_MODEL`: the cheap model that judges workflow steps.
    pub judge_model: String,
    /// `SMOOTH_AGENT_MAX_ITERATIONS`: model calls per turn, at most.
    pub max_iterations: u32,
    /// `SMOOTH_AGENT_MAX_TOKENS`: `max_tokens` of each model call.
    pub max_tokens: u32,
    /// `SMOOTH_AGENT_STORAGE` and the database settings it needs.
    pub storage: StorageConfig,
    /// `SMOOTH_AGENT_CONFIG`: the agent configuration file (JSON or TOML).
    pub agent_config: Option<PathBuf>,
    /// `SMOOAI_GATEWAY_URL` / `SMOOAI_GATEWAY_KEY`: the OpenAI-compatible LLM
    /// gateway. `None` means turns are answered by the offline responder.
    pub gateway: Option<GatewayConfig>,
    /// `SMOOTH_AGENT_CONFIRM_TOOLS`: comma-separated tool-name substrings that need a
    /// human's approval (the configuration file's `confirmTools` adds globs).
    pub confirm_tools: Vec<String>,
    /// `SMOOTH_AGENT_PARK_TIMEOUT_SECS`: how long a turn parked on a human (an
    /// approval, an interaction) waits before it expires.
    pub park_timeout: Duration,
    /// One-time-code delivery (`SMOOTH_AGENT_OTP_WEBHOOK_URL`, or
    /// `SMOOTH_AGENT_SMTP_*`); `None` turns identity verification off.
    pub otp: Option<OtpConfig>,
    /// `SMOOTH_AGENT_AUTH_TOOLS`: tools that need a verified visitor, in addition to
    /// those the agent configuration file marks `end_user`.
    pub auth_tools: Vec<String>,
    /// `SMOOTH_SKILLS_DIR`: folders of named skills (`<name>/SKILL.md`).
    pub skills_dirs: Vec<PathBuf>,
    /// `SMOOTH_AGENT_HISTORY_TOKENS`: how much conversation history a turn replays.
    pub history_tokens: usize,
    /// `SMOOTH_AGENT_EMBEDDINGS` / `SMOOTH_AGENT_EMBEDDING_MODEL`: how knowledge
    /// is embedded for similarity search.
    pub embeddings: EmbeddingsConfig,
    /// `SMOOTH_AGENT_RERANK` / `SMOOTH_AGENT_RERANK_MODEL`: reranking of retrieved
    /// passages.
    pub rerank: RerankConfig,
    /// `SMOOTH_AGENT_KNOWLEDGE_PATH`: folders or files ingested at start-up
    /// (comma-separated).
    pub knowledge_paths: Vec<PathBuf>,
    /// `SMOOTH_AGENT_CONNECTOR_FILE_ROOTS`: the folders (comma-separated) under which
    /// administrators may create `file` connectors. Empty: `file` connectors are
    /// refused, so an organisation's administrator cannot read the server's disk.
    pub connector_file_roots: Vec<PathBuf>,
    /// `SMOOTH_AGENT_DRAIN_SECS`: how long shutdown waits for running turns.
    pub drain_timeout: Duration,
    /// `SMOOTH_AGENT_MAX_FRAME_BYTES`: the largest inbound WebSocket message.
    pub max_frame_bytes: usize,
    /// `SMOOTH_AGENT_OUTBOUND_QUEUE`: events buffered per connection before the
    /// server waits for a slow client.
    pub outbound_queue: usize,
    /// `SMOOTH_AGENT_RATE_LIMIT_PER_SEC` / `SMOOTH_AGENT_RATE_LIMIT_BURST`: how many
    /// frames one connection may send; `None` (a rate of 0) turns the limit off.
    pub rate_limit: Option<RateLimit>,
    /// `SMOOTH_AGENT_IDLE_TIMEOUT_SECS`: how long a connection may send nothing, while
    /// no turn of its own is live, before it is closed; `None` (0) never closes it.
    pub idle_timeout: Option<Duration>,
    /// `SMOOTH_AGENT_MAX_CONNECTIONS_PER_IP`: open WebSockets allowed per client
    /// address; `None` (0) allows any number.
    pub max_connections_per_ip: Option<usize>,
    /// `SMOOTH_AGENT_TRUST_FORWARDED_FOR`: take the client address from the last
    /// `X-Forwarded-For` entry (the one the operator's proxy appended) rather than
    /// the TCP peer. Only safe when every request comes through that proxy.
    pub trust_forwarded_for: bool,
    /// `SMOOTH_AGENT_AUTH_MODE` (or `AUTH_MODE`) and the `AUTH_JWT_*` keys: how
    /// tokens are verified.
    pub auth: AuthConfig,
    /// `SMOOTH_AGENT_BACKPLANE`, its URL and `SMOOTH_AGENT_BACKPLANE_CHANNEL`: how
    /// replicas reach each other's sockets.
    pub backplane: BackplaneConfig,
    /// `WIDGET_AUTH_*`: where embeddable-widget policies come from besides the
    /// agent configuration file, and whether an agent without one is refused.
    pub widget: WidgetAuthConfig,
    /// `RUST_LOG`: the log filter.
    pub log_filter: String,
    /// Variables of the existing servers that are set but not acted on yet, for
    /// `main` to warn about.
    pub ignored: Vec<&'static str>,
}

/// A connection's allowance of inbound frames: a token bucket refilled at `per_sec`
/// holding at most `burst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub per_sec: u32,
    pub burst: u32,
}

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

/// How tokens are verified.
#[derive(Debug, Clone)]
pub enum AuthConfig {
    /// No verifier: WebSocket connections are anonymous; the admin API is off.
    Disabled,
    /// `none`: development only, every token is the same administrator of
    /// `AUTH_DEV_ORG_ID`.
    Open { dev_org: String },
    /// Signed JSON Web Tokens; `exp` always enforced, issuer and audience when set.
    Jwt {
        key: JwtKey,
        issuer: Option<String>,
        audience: Option<String>,
    },
    /// Claims forwarded unsigned (base64url JSON) by a proxy that already checked
    /// them. Safe only when nothing else can reach the server.
    Trusted,
}

#[derive(Debug, Clone)]
pub enum JwtKey {
    Hs256(SecretString),
    /// An RSA public key in PEM.
    Rs256(String),
}

/// Embeddable-widget authorisation.
#[derive(Debug, Clone, Default)]
pub struct WidgetAuthConfig {
    /// `WIDGET_AUTH_URL` (with `WIDGET_AUTH_BEARER`, `WIDGET_AUTH_TTL_SECS`): the
    /// operator's policy service, asked for agents the configuration file gives no
    /// policy.
    pub service: Option<WidgetServiceConfig>,
    /// `WIDGET_AUTH_STRICT`: refuse sessions for agents that have no policy.
    pub strict: bool,
}

/// The policy service: `GET {url}/{agentId}` answers an agent's policy.
#[derive(Debug, Clone)]
pub struct WidgetServiceConfig {
    pub url: reqwest::Url,
    pub bearer: Option<SecretString>,
    /// How long an answer (a policy, or "none" for a 404) is remembered; zero asks
    /// every time.
    pub ttl: Duration,
}

/// How one-time codes reach visitors.
#[derive(Debug, Clone)]
pub enum OtpConfig {
    /// POST `{channel, destination, code, expiresInSeconds}` to a URL.
    Webhook {
        url: String,
        bearer: Option<SecretString>,
    },
    /// Send email through an SMTP relay (plain SMTP, for a local relay).
    Smtp {
        host: String,
        port: u16,
        from: String,
        username: Option<String>,
        password: Option<SecretString>,
    },
}

/// The embedder that builds the knowledge index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmbeddingsConfig {
    /// The built-in hashing embedder: no model, no download.
    Offline,
    /// The gateway's `/embeddings` endpoint with this model.
    Gateway { model: String },
}

/// How retrieved passages are re-ordered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RerankConfig {
    Off,
    Lexical,
    /// The gateway's `/rerank` endpoint with this model.
    Gateway {
        model: String,
    },
}

/// An OpenAI-compatible gateway.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Base URL including any `/v1`; requests go to `{url}/chat/completions`.
    pub url: String,
    /// Bearer key; local gateways often need none.
    pub key: Option<SecretString>,
    /// `SMOOTH_AGENT_LLM_TIMEOUT_SECS`: the longest wait for the first byte of a
    /// reply, and the longest silence between chunks.
    pub timeout: Duration,
}

/// Variables of the existing servers that change who may do what. Until this
/// version acts on them, setting one stops start-up: running without the protection
/// an operator asked for would be worse than not running.
const REFUSED_UNTIL_SUPPORTED: &[&str] = &[];

/// Variables of the existing servers that only tune behaviour; this version warns
/// that it ignores them.
const IGNORED_UNTIL_SUPPORTED: &[&str] = &[
    "SMOOTH_AGENT_PREAMBLE_MODEL",
    "SMOOTH_EXTENSIONS_ALLOW",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
];

/// The gateway URL used when only a key is given.
pub const DEFAULT_GATEWAY_URL: &str = "https://llm.smoo.ai/v1";

/// A configuration value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var}: {problem}")]
pub struct ConfigError {
    pub var: &'static str,
    pub problem: String,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned()))
    }

    /// Reads configuration through `lookup`, so tests can supply their own variables.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(lookup);
        if let Some(var) = REFUSED_UNTIL_SUPPORTED
            .iter()
            .find(|v| env.get(v).is_some())
        {
            return Err(ConfigError {
                var,
                problem: "is not supported by this version of Switchboard yet; unset it rather than run without it".into(),
            });
        }
        Ok(Self {
            bind: env.parse(
                "SMOOTH_AGENT_BIND",
                "an IP address",
                IpAddr::from([127, 0, 0, 1]),
            )?,
            port: env.parse("SMOOTH_AGENT_PORT", "a port number (0-65535)", 8787)?,
            seed_kb: env.flag("SMOOTH_AGENT_SEED_KB")?,
            model: env
                .get("SMOOTH_AGENT_MODEL")
                .unwrap_or_else(|| "claude-haiku-4-5".into()),
            judge_model: env
                .get("SMOOTH_AGENT_JUDGE_MODEL")
                .unwrap_or_else(|| "claude-haiku-4-5".into()),
            max_iterations: env.positive("SMOOTH_AGENT_MAX_ITERATIONS", 20)?,
            max_tokens: env.positive("SMOOTH_AGENT_MAX_TOKENS", 8192)?,
            storage: storage(&env)?,
            agent_config: env.get("SMOOTH_AGENT_CONFIG").map(PathBuf::from),
            gateway: gateway(&env)?,
            confirm_tools: env.list("SMOOTH_AGENT_CONFIRM_TOOLS"),
            park_timeout: Duration::from_secs(u64::from(
                env.positive("SMOOTH_AGENT_PARK_TIMEOUT_SECS", 600)?,
            )),
            otp: otp(&env)?,
            auth_tools: env.list("SMOOTH_AGENT_AUTH_TOOLS"),
            skills_dirs: env
                .get("SMOOTH_SKILLS_DIR")
                .map(|v| {
                    v.split(':')
                        .filter(|p| !p.trim().is_empty())
                        .map(PathBuf::from)
                        .collect()
                })
                .unwrap_or_default(),
            history_tokens: env.positive("SMOOTH_AGENT_HISTORY_TOKENS", 6000)? as usize,
            embeddings: embeddings(&env)?,
            rerank: rerank(&env)?,
            knowledge_paths: env
                .get("SMOOTH_AGENT_KNOWLEDGE_PATH")
                .map(|v| {
                    v.split(',')
                        .map(str::trim)
                        .filter(|p| !p.is_empty())
                        .map(PathBuf::from)
                        .collect()
                })
                .unwrap_or_default(),
            connector_file_roots: env
                .list("SMOOTH_AGENT_CONNECTOR_FILE_ROOTS")
                .into_iter()
                .map(PathBuf::from)
                .collect(),
            drain_timeout: Duration::from_secs(u64::from(env.parse::<u32>(
                "SMOOTH_AGENT_DRAIN_SECS",
                "a number of seconds",
                25,
            )?)),
            max_frame_bytes: env.positive("SMOOTH_AGENT_MAX_FRAME_BYTES", 1 << 20)? as usize,
            outbound_queue: env.positive("SMOOTH_AGENT_OUTBOUND_QUEUE", 256)? as usize,
            rate_limit: rate_limit(&env)?,
            idle_timeout: match env.parse::<u32>(
                "SMOOTH_AGENT_IDLE_TIMEOUT_SECS",
                "a number of seconds (0 turns the timeout off)",
                300,
            )? {
                0 => None,
                secs => Some(Duration::from_secs(u64::from(secs))),
            },
            max_connections_per_ip: match env.parse::<u32>(
                "SMOOTH_AGENT_MAX_CONNECTIONS_PER_IP",
                "a number of connections (0 turns the cap off)",
                64,
            )? {
                0 => None,
                max => Some(max as usize),
            },
            trust_forwarded_for: env.flag("SMOOTH_AGENT_TRUST_FORWARDED_FOR")?,
            auth: auth(&env)?,
            backplane: backplane(&env)?,
            widget: widget(&env)?,
            log_filter: env.get("RUST_LOG").unwrap_or_else(|| "info".into()),
            ignored: IGNORED_UNTIL_SUPPORTED
                .iter()
                .copied()
                .filter(|v| env.get(v).is_some())
                .collect(),
        })
    }

    /// Defaults for tests: an ephemeral port on loopback, memory store, no gateway.
    pub fn for_tests() -> Self {
        let mut config = Self::from_lookup(|_| None).expect("defaults are valid");
        config.port = 0;
        config.drain_timeout = Duration::from_secs(5);
        config
    }
}

/// Whether the environment variable `name` holds a non-blank value: the check a
/// GitHub connector's `auth_ref` must pass before indexing. Read when asked, not at
/// start-up, because administrators name these variables at run time; the value
/// itself is never returned.
pub fn secret_is_set(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.to_string_lossy().trim().is_empty())
}

/// The per-connection frame allowance. The defaults (20 a second, bursts of 40) sit
/// far above what a person at a chat widget can cause, so only automated floods
/// meet them.
fn rate_limit<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<Option<RateLimit>, ConfigError> {
    let per_sec = env.parse::<u32>(
        "SMOOTH_AGENT_RATE_LIMIT_PER_SEC",
        "a number of frames per second (0 turns the limit off)",
        20,
    )?;
    let burst = env.positive("SMOOTH_AGENT_RATE_LIMIT_BURST", 40)?;
    Ok((per_sec > 0).then_some(RateLimit { per_sec, burst }))
}

fn storage<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<StorageConfig, ConfigError> {
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
            problem: format!("unknown storage '{other}' (expected: memory | postgres | dynamodb)"),
        }),
    }
}

/// `SMOOTH_AGENT_KNOWLEDGE_FUSION`: `score` (the default) or `rrf`.
fn rank_fusion<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<bool, ConfigError> {
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

fn backplane<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<BackplaneConfig, ConfigError> {
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

fn auth<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<AuthConfig, ConfigError> {
    let (var, mode) = match env.get("SMOOTH_AGENT_AUTH_MODE") {
        Some(mode) => ("SMOOTH_AGENT_AUTH_MODE", Some(mode.to_ascii_lowercase())),
        None => (
            "AUTH_MODE",
            env.get("AUTH_MODE").map(|m| m.to_ascii_lowercase()),
        ),
    };
    if env.get("AUTH_JWT_JWKS_URL").is_some() {
        return Err(ConfigError {
            var: "AUTH_JWT_JWKS_URL",
            problem:
                "JWKS is not supported yet; give AUTH_JWT_RS256_PUBLIC_KEY or AUTH_JWT_HS256_SECRET"
                    .into(),
        });
    }
    // PEM keys in environment variables often arrive with escaped newlines.
    let key = match (
        env.get("AUTH_JWT_RS256_PUBLIC_KEY"),
        env.get("AUTH_JWT_HS256_SECRET"),
    ) {
        (Some(pem), _) => Some(JwtKey::Rs256(pem.replace("\\n", "\n"))),
        (None, Some(secret)) => Some(JwtKey::Hs256(secret.into())),
        (None, None) => None,
    };
    let jwt = |key| AuthConfig::Jwt {
        key,
        issuer: env.get("AUTH_JWT_ISSUER"),
        audience: env.get("AUTH_JWT_AUDIENCE"),
    };
    match mode.as_deref() {
        None => Ok(key.map_or(AuthConfig::Disabled, jwt)),
        Some("jwt") => key.map(jwt).ok_or_else(|| ConfigError {
            var,
            problem: "'jwt' needs AUTH_JWT_HS256_SECRET or AUTH_JWT_RS256_PUBLIC_KEY".into(),
        }),
        Some("none") => Ok(AuthConfig::Open {
            dev_org: env
                .get("AUTH_DEV_ORG_ID")
                .unwrap_or_else(|| "dev-org".into()),
        }),
        Some("trusted") => Ok(AuthConfig::Trusted),
        Some("disabled" | "off") => Ok(AuthConfig::Disabled),
        Some(other) => Err(ConfigError {
            var,
            problem: format!("unknown mode '{other}' (expected: jwt | trusted | none)"),
        }),
    }
}

fn widget<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<WidgetAuthConfig, ConfigError> {
    let strict = env.flag("WIDGET_AUTH_STRICT")?;
    let ttl = Duration::from_secs(u64::from(env.parse::<u32>(
        "WIDGET_AUTH_TTL_SECS",
        "a number of seconds",
        60,
    )?));
    let bearer = env.get("WIDGET_AUTH_BEARER").map(SecretString::from);
    let Some(raw) = env.get("WIDGET_AUTH_URL") else {
        if bearer.is_some() {
            return Err(ConfigError {
                var: "WIDGET_AUTH_BEARER",
                problem: "is set but WIDGET_AUTH_URL is not; set both or neither".into(),
            });
        }
        return Ok(WidgetAuthConfig {
            service: None,
            strict,
        });
    };
    let url = reqwest::Url::parse(&raw)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
        .ok_or_else(|| ConfigError {
            var: "WIDGET_AUTH_URL",
            problem: format!("'{raw}' is not an http:// or https:// URL"),
        })?;
    Ok(WidgetAuthConfig {
        service: Some(WidgetServiceConfig { url, bearer, ttl }),
        strict,
    })
}

fn otp<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Option<OtpConfig>, ConfigError> {
    if let Some(url) = env.get("SMOOTH_AGENT_OTP_WEBHOOK_URL") {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(ConfigError {
                var: "SMOOTH_AGENT_OTP_WEBHOOK_URL",
                problem: format!("'{url}' is not an http:// or https:// URL"),
            });
        }
        return Ok(Some(OtpConfig::Webhook {
            url,
            bearer: env
                .get("SMOOTH_AGENT_OTP_WEBHOOK_BEARER")
                .map(SecretString::from),
        }));
    }
    let Some(host) = env.get("SMOOTH_AGENT_SMTP_HOST") else {
        return Ok(None);
    };
    let from = env
        .get("SMOOTH_AGENT_SMTP_FROM")
        .ok_or_else(|| ConfigError {
            var: "SMOOTH_AGENT_SMTP_FROM",
            problem: "SMOOTH_AGENT_SMTP_HOST needs a sender address in SMOOTH_AGENT_SMTP_FROM"
                .into(),
        })?;
    Ok(Some(OtpConfig::Smtp {
        host,
        port: env.parse("SMOOTH_AGENT_SMTP_PORT", "a port number", 25)?,
        from,
        username: env.get("SMOOTH_AGENT_SMTP_USERNAME"),
        password: env
            .get("SMOOTH_AGENT_SMTP_PASSWORD")
            .map(SecretString::from),
    }))
}

fn embeddings<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<EmbeddingsConfig, ConfigError> {
    let model = env
        .get("SMOOTH_AGENT_EMBEDDING_MODEL")
        .unwrap_or_else(|| "text-embedding-3-small".into());
    let gateway_configured =
        env.get("SMOOAI_GATEWAY_URL").is_some() || env.get("SMOOAI_GATEWAY_KEY").is_some();
    match env
        .get("SMOOTH_AGENT_EMBEDDINGS")
        .map(|v| v.to_ascii_lowercase())
        .as_deref()
    {
        None if gateway_configured => Ok(EmbeddingsConfig::Gateway { model }),
        None | Some("offline") => Ok(EmbeddingsConfig::Offline),
        Some("gateway") if gateway_configured => Ok(EmbeddingsConfig::Gateway { model }),
        Some("gateway") => Err(ConfigError {
            var: "SMOOTH_AGENT_EMBEDDINGS",
            problem: "'gateway' needs SMOOAI_GATEWAY_URL or SMOOAI_GATEWAY_KEY".into(),
        }),
        Some(other) => Err(ConfigError {
            var: "SMOOTH_AGENT_EMBEDDINGS",
            problem: format!("unknown embeddings '{other}' (expected: gateway | offline)"),
        }),
    }
}

fn rerank<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<RerankConfig, ConfigError> {
    let model = env
        .get("SMOOTH_AGENT_RERANK_MODEL")
        .unwrap_or_else(|| "rerank-english-v3.0".into());
    let gateway_configured =
        env.get("SMOOAI_GATEWAY_URL").is_some() || env.get("SMOOAI_GATEWAY_KEY").is_some();
    match env
        .get("SMOOTH_AGENT_RERANK")
        .map(|v| v.to_ascii_lowercase())
        .as_deref()
    {
        None | Some("off" | "none" | "0" | "false") => Ok(RerankConfig::Off),
        Some("lexical") => Ok(RerankConfig::Lexical),
        Some("gateway" | "on" | "1" | "true") if gateway_configured => {
            Ok(RerankConfig::Gateway { model })
        }
        Some("gateway" | "on" | "1" | "true") => Err(ConfigError {
            var: "SMOOTH_AGENT_RERANK",
            problem: "'gateway' needs SMOOAI_GATEWAY_URL or SMOOAI_GATEWAY_KEY (or use 'lexical')"
                .into(),
        }),
        Some(other) => Err(ConfigError {
            var: "SMOOTH_AGENT_RERANK",
            problem: format!("unknown rerank '{other}' (expected: off | lexical | gateway)"),
        }),
    }
}

fn gateway<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<Option<GatewayConfig>, ConfigError> {
    let key = env.get("SMOOAI_GATEWAY_KEY").map(SecretString::from);
    let url = match env.get("SMOOAI_GATEWAY_URL") {
        Some(url) => url,
        None if key.is_some() => DEFAULT_GATEWAY_URL.to_owned(),
        None => return Ok(None),
    };
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(ConfigError {
            var: "SMOOAI_GATEWAY_URL",
            problem: format!("'{url}' is not an http:// or https:// URL"),
        });
    }
    Ok(Some(GatewayConfig {
        url: url.trim_end_matches('/').to_owned(),
        key,
        timeout: Duration::from_secs(u64::from(
            env.positive("SMOOTH_AGENT_LLM_TIMEOUT_SECS", 60)?,
        )),
    }))
}

/// Typed access to variables; blank values count as unset.
struct Env<F>(F);

impl<F: Fn(&str) -> Option<String>> Env<F> {
    fn get(&self, var: &str) -> Option<String> {
        (self.0)(var)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn parse<T: FromStr>(
        &self,
        var: &'static str,
        expected: &str,
        default: T,
    ) -> Result<T, ConfigError> {
        match self.get(var) {
            None => Ok(default),
            Some(raw) => raw.parse().map_err(|_| ConfigError {
                var,
                problem: format!("'{raw}' is not {expected}"),
            }),
        }
    }

    fn positive(&self, var: &'static str, default: u32) -> Result<u32, ConfigError> {
        let value = self.parse(var, "a positive integer", default)?;
        if value == 0 {
            return Err(ConfigError {
                var,
                problem: "must be greater than 0".into(),
            });
        }
        Ok(value)
    }

    /// A comma-separated list, blanks dropped.
    fn list(&self, var: &str) -> Vec<String> {
        self.get(var)
            .map(|v| {
                v.split(',')
                    .map(|p| p.trim().to_owned())
                    .filter(|p| !p.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn flag(&self, var: &'static str) -> Result<bool, ConfigError> {
        match self.get(var).map(|v| v.to_ascii_lowercase()).as_deref() {
            None | Some("0" | "false" | "no" | "off") => Ok(false),
            Some("1" | "true" | "yes" | "on") => Ok(true),
            Some(other) => Err(ConfigError {
                var,
                problem: format!("'{other}' is not a boolean (use 1 or 0)"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_match_the_reference_contract() {
        let c = config(&[]).unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1");
        assert_eq!(c.port, 8787);
        assert!(!c.seed_kb);
        assert_eq!(c.model, "claude-haiku-4-5");
        assert_eq!((c.max_iterations, c.max_tokens), (20, 8192));
        assert!(matches!(c.storage, StorageConfig::Memory));
        assert!(c.gateway.is_none());
        assert!(c.agent_config.is_none());
    }

    #[test]
    fn invalid_values_name_their_variable() {
        for (var, value) in [
            ("SMOOTH_AGENT_BIND", "localhost:80"),
            ("SMOOTH_AGENT_PORT", "99999"),
            ("SMOOTH_AGENT_PORT", "http"),
            ("SMOOTH_AGENT_MAX_ITERATIONS", "0"),
            ("SMOOTH_AGENT_MAX_TOKENS", "-5"),
            ("SMOOTH_AGENT_SEED_KB", "maybe"),
            ("SMOOTH_AGENT_STORAGE", "sqlite3"),
            ("SMOOAI_GATEWAY_URL", "llm.local:4000"),
        ] {
            let err = config(&[(var, value)]).unwrap_err();
            assert_eq!(err.var, var, "{value}");
            assert!(err.to_string().starts_with(var));
        }
    }

    #[test]
    fn postgres_needs_a_database_url_and_says_which() {
        let err = config(&[("SMOOTH_AGENT_STORAGE", "Postgres")]).unwrap_err();
        assert!(err.to_string().contains("SMOOTH_AGENT_DATABASE_URL"));
        assert!(err.to_string().contains("DATABASE_URL"));
        let c = config(&[
            ("SMOOTH_AGENT_STORAGE", "pg"),
            ("DATABASE_URL", "postgres://x/y"),
        ])
        .unwrap();
        let StorageConfig::Postgres { url, rank_fusion } = c.storage else {
            panic!()
        };
        assert_eq!(url.expose_secret(), "postgres://x/y");
        assert!(!rank_fusion, "score fusion unless asked");
    }

    #[test]
    fn rank_fusion_is_a_postgres_option() {
        let pg = [
            ("SMOOTH_AGENT_STORAGE", "postgres"),
            ("DATABASE_URL", "postgres://x/y"),
        ];
        let with = |fusion| {
            let mut vars = pg.to_vec();
            vars.push(("SMOOTH_AGENT_KNOWLEDGE_FUSION", fusion));
            config(&vars)
        };
        let c = with("RRF").unwrap();
        assert!(matches!(
            c.storage,
            StorageConfig::Postgres {
                rank_fusion: true,
                ..
            }
        ));
        let err = with("borda").unwrap_err().to_string();
        assert!(
            err.contains("SMOOTH_AGENT_KNOWLEDGE_FUSION") && err.contains("borda"),
            "{err}"
        );
        let err = config(&[("SMOOTH_AGENT_KNOWLEDGE_FUSION", "rrf")]).unwrap_err();
        assert!(
            err.to_string().contains("SMOOTH_AGENT_STORAGE=postgres"),
            "{err}"
        );
    }

    #[test]
    fn dynamodb_takes_a_table_and_an_optional_endpoint() {
        let c = config(&[("SMOOTH_AGENT_STORAGE", "DynamoDB")]).unwrap();
        let StorageConfig::DynamoDb { table, endpoint } = c.storage else {
            panic!()
        };
        assert_eq!((table.as_str(), endpoint), ("smooth-operator", None));
        let c = config(&[
            ("SMOOTH_AGENT_STORAGE", "ddb"),
            ("SMOOTH_AGENT_DDB_TABLE", "agents"),
            ("SMOOTH_AGENT_DDB_ENDPOINT", "http://127.0.0.1:8000"),
        ])
        .unwrap();
        let StorageConfig::DynamoDb { table, endpoint } = c.storage else {
            panic!()
        };
        assert_eq!(table, "agents");
        assert_eq!(endpoint.as_deref(), Some("http://127.0.0.1:8000"));
        let err = config(&[
            ("SMOOTH_AGENT_STORAGE", "dynamodb"),
            ("SMOOTH_AGENT_DDB_ENDPOINT", "127.0.0.1:8000"),
        ])
        .unwrap_err();
        assert_eq!(err.var, "SMOOTH_AGENT_DDB_ENDPOINT");
    }

    #[test]
    fn gateway_from_url_or_key() {
        let c = config(&[("SMOOAI_GATEWAY_URL", "http://127.0.0.1:4000/v1/")]).unwrap();
        let g = c.gateway.unwrap();
        assert_eq!(g.url, "http://127.0.0.1:4000/v1");
        assert!(g.key.is_none());
        let c = config(&[("SMOOAI_GATEWAY_KEY", "sk-1")]).unwrap();
        assert_eq!(c.gateway.unwrap().url, DEFAULT_GATEWAY_URL);
    }

    #[test]
    fn embeddings_follow_the_gateway_unless_told_otherwise() {
        assert_eq!(config(&[]).unwrap().embeddings, EmbeddingsConfig::Offline);
        let gw = [("SMOOAI_GATEWAY_URL", "http://gw/v1")];
        assert!(matches!(
            config(&gw).unwrap().embeddings,
            EmbeddingsConfig::Gateway { .. }
        ));
        let off = [gw[0], ("SMOOTH_AGENT_EMBEDDINGS", "offline")];
        assert_eq!(config(&off).unwrap().embeddings, EmbeddingsConfig::Offline);
        assert_eq!(
            config(&[("SMOOTH_AGENT_EMBEDDINGS", "gateway")])
                .unwrap_err()
                .var,
            "SMOOTH_AGENT_EMBEDDINGS"
        );
        assert_eq!(
            config(&[("SMOOTH_AGENT_RERANK", "lexical")])
                .unwrap()
                .rerank,
            RerankConfig::Lexical
        );
        assert_eq!(
            config(&[("SMOOTH_AGENT_RERANK", "gateway")])
                .unwrap_err()
                .var,
            "SMOOTH_AGENT_RERANK"
        );
        assert_eq!(
            config(&[("SMOOTH_AGENT_RERANK", "bm42")]).unwrap_err().var,
            "SMOOTH_AGENT_RERANK"
        );
        let paths = config(&[("SMOOTH_AGENT_KNOWLEDGE_PATH", "./docs, ./faq.md")])
            .unwrap()
            .knowledge_paths;
        assert_eq!(paths, [PathBuf::from("./docs"), PathBuf::from("./faq.md")]);
        assert!(config(&[]).unwrap().connector_file_roots.is_empty());
        let roots = config(&[("SMOOTH_AGENT_CONNECTOR_FILE_ROOTS", "/srv/docs, /data")])
            .unwrap()
            .connector_file_roots;
        assert_eq!(roots, [PathBuf::from("/srv/docs"), PathBuf::from("/data")]);
    }

    #[test]
    fn confirm_tools_are_a_comma_list() {
        let c = config(&[("SMOOTH_AGENT_CONFIRM_TOOLS", "issue_refund, delete ,,")]).unwrap();
        assert_eq!(c.confirm_tools, vec!["issue_refund", "delete"]);
        let c = config(&[("SMOOTH_AGENT_SMTP_HOST", "127.0.0.1")]);
        assert_eq!(c.unwrap_err().var, "SMOOTH_AGENT_SMTP_FROM");
        let c = config(&[
            ("SMOOTH_AGENT_SMTP_HOST", "mail"),
            ("SMOOTH_AGENT_SMTP_FROM", "a@b.c"),
        ])
        .unwrap();
        assert!(matches!(c.otp, Some(OtpConfig::Smtp { port: 25, .. })));
        assert_eq!(
            config(&[("SMOOTH_AGENT_OTP_WEBHOOK_URL", "ftp://x")])
                .unwrap_err()
                .var,
            "SMOOTH_AGENT_OTP_WEBHOOK_URL"
        );
    }

    #[test]
    fn secrets_never_print() {
        let c = config(&[
            ("SMOOAI_GATEWAY_KEY", "sk-very-secret"),
            ("SMOOTH_AGENT_STORAGE", "pg"),
            ("DATABASE_URL", "postgres://u:pw@h/db"),
        ])
        .unwrap();
        let debug = format!("{c:?}");
        assert!(!debug.contains("sk-very-secret"));
        assert!(!debug.contains("pw@h"));
    }

    #[test]
    fn auth_modes() {
        assert!(matches!(config(&[]).unwrap().auth, AuthConfig::Disabled));
        let err = config(&[("AUTH_MODE", "jwt")]).unwrap_err();
        assert_eq!(err.var, "AUTH_MODE", "jwt without a key refuses to start");
        let c = config(&[("AUTH_JWT_HS256_SECRET", "s3cret")]).unwrap();
        assert!(
            matches!(
                c.auth,
                AuthConfig::Jwt {
                    key: JwtKey::Hs256(_),
                    ..
                }
            ),
            "a key alone means jwt"
        );
        let c = config(&[("SMOOTH_AGENT_AUTH_MODE", "None"), ("AUTH_MODE", "jwt")]).unwrap();
        assert!(
            matches!(c.auth, AuthConfig::Open { ref dev_org } if dev_org == "dev-org"),
            "canonical name wins"
        );
        assert!(matches!(
            config(&[("AUTH_MODE", "trusted")]).unwrap().auth,
            AuthConfig::Trusted
        ));
        assert_eq!(
            config(&[("AUTH_MODE", "magic")]).unwrap_err().var,
            "AUTH_MODE"
        );
        assert_eq!(
            config(&[("AUTH_JWT_JWKS_URL", "https://x/jwks")])
                .unwrap_err()
                .var,
            "AUTH_JWT_JWKS_URL"
        );
        let debug = format!(
            "{:?}",
            config(&[("AUTH_JWT_HS256_SECRET", "s3cret")]).unwrap()
        );
        assert!(!debug.contains("s3cret"));
    }

    #[test]
    fn variables_we_do_not_act_on_yet_are_reported() {
        let c = config(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel:4317")]).unwrap();
        assert_eq!(c.ignored, vec!["OTEL_EXPORTER_OTLP_ENDPOINT"]);
    }

    #[test]
    fn backplanes() {
        let label = |vars: &[(&str, &str)]| config(vars).map(|c| c.backplane.label());
        assert_eq!(label(&[]).unwrap(), "memory");
        assert_eq!(
            label(&[("SMOOTH_AGENT_BACKPLANE", "InMemory")]).unwrap(),
            "memory"
        );
        assert_eq!(
            label(&[
                ("SMOOTH_AGENT_BACKPLANE", "valkey"),
                ("SMOOTH_AGENT_REDIS_URL", "redis://r:6379")
            ])
            .unwrap(),
            "redis"
        );
        assert_eq!(
            label(&[
                ("SMOOTH_AGENT_BACKPLANE", "nats"),
                ("SMOOTH_AGENT_BACKPLANE_URL", "nats://n:4222")
            ])
            .unwrap(),
            "nats"
        );
        let err = config(&[("SMOOTH_AGENT_BACKPLANE", "nats")]).unwrap_err();
        assert_eq!(err.var, "SMOOTH_AGENT_BACKPLANE_URL");
        assert!(err.to_string().contains("SMOOTH_AGENT_NATS_URL"), "{err}");
        let err = config(&[("SMOOTH_AGENT_BACKPLANE", "bogus")]).unwrap_err();
        assert_eq!(err.var, "SMOOTH_AGENT_BACKPLANE");
        assert!(
            err.to_string()
                .contains("expected: memory | redis | valkey | nats"),
            "{err}"
        );
        let debug = format!(
            "{:?}",
            config(&[
                ("SMOOTH_AGENT_BACKPLANE", "redis"),
                ("SMOOTH_AGENT_BACKPLANE_URL", "redis://:hunter2@r:6379")
            ])
            .unwrap()
        );
        assert!(!debug.contains("hunter2"), "the URL may hold a password");
    }

    #[test]
    fn widget_auth_is_off_and_permissive_by_default() {
        let c = config(&[]).unwrap();
        assert!(c.widget.service.is_none());
        assert!(!c.widget.strict);
    }

    #[test]
    fn widget_policy_service_and_strict_mode() {
        let c = config(&[
            ("WIDGET_AUTH_URL", "https://policies.example.com/widget/"),
            ("WIDGET_AUTH_BEARER", "wb-very-secret"),
            ("WIDGET_AUTH_TTL_SECS", "5"),
            ("WIDGET_AUTH_STRICT", "yes"),
        ])
        .unwrap();
        assert!(c.widget.strict);
        let service = c.widget.service.as_ref().unwrap();
        assert_eq!(service.url.as_str(), "https://policies.example.com/widget/");
        assert_eq!(
            service.bearer.as_ref().map(ExposeSecret::expose_secret),
            Some("wb-very-secret")
        );
        assert_eq!(service.ttl, Duration::from_secs(5));
        assert!(!format!("{c:?}").contains("wb-very-secret"));

        let c = config(&[("WIDGET_AUTH_URL", "http://127.0.0.1:9000")]).unwrap();
        let service = c.widget.service.unwrap();
        assert_eq!(service.ttl, Duration::from_secs(60), "the default TTL");
        assert!(service.bearer.is_none());
        for on in ["1", "true", "YES"] {
            assert!(config(&[("WIDGET_AUTH_STRICT", on)]).unwrap().widget.strict);
        }
        for off in ["0", "false", "no"] {
            assert!(
                !config(&[("WIDGET_AUTH_STRICT", off)])
                    .unwrap()
                    .widget
                    .strict
            );
        }
    }

    #[test]
    fn bad_widget_values_name_their_variable() {
        for (vars, var) in [
            (
                &[("WIDGET_AUTH_STRICT", "sometimes")][..],
                "WIDGET_AUTH_STRICT",
            ),
            (
                &[("WIDGET_AUTH_URL", "policies.example.com")],
                "WIDGET_AUTH_URL",
            ),
            (
                &[("WIDGET_AUTH_URL", "ftp://policies.example.com")],
                "WIDGET_AUTH_URL",
            ),
            (
                &[
                    ("WIDGET_AUTH_URL", "http://p"),
                    ("WIDGET_AUTH_TTL_SECS", "1m"),
                ],
                "WIDGET_AUTH_TTL_SECS",
            ),
            (&[("WIDGET_AUTH_TTL_SECS", "-1")], "WIDGET_AUTH_TTL_SECS"),
            (&[("WIDGET_AUTH_BEARER", "t")], "WIDGET_AUTH_BEARER"),
        ] {
            let err = config(vars).unwrap_err();
            assert_eq!(err.var, var, "{vars:?}");
            assert!(err.to_string().starts_with(var));
        }
    }

    #[test]
    fn connection_limits_have_defaults_can_be_turned_off_and_name_bad_values() {
        let c = config(&[]).unwrap();
        assert_eq!(
            c.rate_limit,
            Some(RateLimit {
                per_sec: 20,
                burst: 40
            })
        );
        assert_eq!(c.idle_timeout, Some(Duration::from_secs(300)));
        assert_eq!(c.max_connections_per_ip, Some(64));
        assert!(!c.trust_forwarded_for);
        assert_eq!(c.max_frame_bytes, 1 << 20);

        let c = config(&[
            ("SMOOTH_AGENT_RATE_LIMIT_PER_SEC", "5"),
            ("SMOOTH_AGENT_RATE_LIMIT_BURST", "7"),
            ("SMOOTH_AGENT_IDLE_TIMEOUT_SECS", "30"),
            ("SMOOTH_AGENT_MAX_CONNECTIONS_PER_IP", "3"),
            ("SMOOTH_AGENT_TRUST_FORWARDED_FOR", "true"),
        ])
        .unwrap();
        assert_eq!(
            c.rate_limit,
            Some(RateLimit {
                per_sec: 5,
                burst: 7
            })
        );
        assert_eq!(c.idle_timeout, Some(Duration::from_secs(30)));
        assert_eq!(c.max_connections_per_ip, Some(3));
        assert!(c.trust_forwarded_for);

        let off = config(&[
            ("SMOOTH_AGENT_RATE_LIMIT_PER_SEC", "0"),
            ("SMOOTH_AGENT_IDLE_TIMEOUT_SECS", "0"),
            ("SMOOTH_AGENT_MAX_CONNECTIONS_PER_IP", "0"),
        ])
        .unwrap();
        assert_eq!(off.rate_limit, None);
        assert_eq!(off.idle_timeout, None);
        assert_eq!(off.max_connections_per_ip, None);

        for (var, value) in [
            ("SMOOTH_AGENT_RATE_LIMIT_PER_SEC", "-1"),
            ("SMOOTH_AGENT_RATE_LIMIT_PER_SEC", "fast"),
            ("SMOOTH_AGENT_RATE_LIMIT_BURST", "0"),
            ("SMOOTH_AGENT_RATE_LIMIT_BURST", "lots"),
            ("SMOOTH_AGENT_IDLE_TIMEOUT_SECS", "5m"),
            ("SMOOTH_AGENT_MAX_CONNECTIONS_PER_IP", "-3"),
            ("SMOOTH_AGENT_MAX_CONNECTIONS_PER_IP", "many"),
            ("SMOOTH_AGENT_TRUST_FORWARDED_FOR", "perhaps"),
            ("SMOOTH_AGENT_MAX_FRAME_BYTES", "0"),
        ] {
            let err = config(&[(var, value)]).unwrap_err();
            assert_eq!(err.var, var, "{value}");
            assert!(err.to_string().starts_with(var), "{err}");
        }
    }

    #[test]
    fn blank_values_count_as_unset() {
        let c = config(&[("SMOOTH_AGENT_PORT", "  "), ("SMOOTH_AGENT_SEED_KB", "")]).unwrap();
        assert_eq!(c.port, 8787);
        assert!(!c.seed_kb);
    }
}
