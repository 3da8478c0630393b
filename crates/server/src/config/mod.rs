//! Configuration: one typed struct, read once from the environment at start-up.
//!
//! Variable names are those of the existing smooth-operator servers, so an operator
//! can swap servers without relearning them. A value that cannot be used stops
//! start-up with a message naming the variable; nothing falls back silently.

mod auth;
mod env;
mod handoff;
mod limits;
mod llm;
mod otp;
mod storage;
mod telemetry;
#[cfg(test)]
mod tests;
pub mod vars;

pub use auth::{AuthConfig, JwtKey, OtpConfig, WidgetAuthConfig, WidgetServiceConfig};
pub use handoff::HandoffConfig;
pub use limits::StorageLimits;
pub use llm::{DEFAULT_GATEWAY_URL, EmbeddingsConfig, GatewayConfig, RerankConfig};
pub use otp::{OtpKeySource, OtpOptions};
pub use storage::{BackplaneConfig, SqliteDurability, StorageConfig};
pub use telemetry::{LogFormat, OtlpConfig, OtlpProtocol, TelemetryConfig};

use env::Env;
use std::net::IpAddr;
use std::path::PathBuf;
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
    /// `SMOOTH_AGENT_TURN_TIMEOUT_SECS` (default 300): the most a turn works (model
    /// calls and their retries, tool calls, the judge) between human answers before
    /// it ends with `LLM_TIMEOUT`. Time parked for a human is not counted.
    pub turn_timeout: Duration,
    /// One-time-code delivery (`SMOOTH_AGENT_OTP_WEBHOOK_URL`, or
    /// `SMOOTH_AGENT_SMTP_*`); `None` turns identity verification off.
    pub otp: Option<OtpConfig>,
    /// One-time-code limits and key, and the phone region (`SMOOTH_AGENT_OTP_*`,
    /// `SMOOTH_AGENT_PHONE_DEFAULT_REGION`); see [`otp`].
    pub otp_options: OtpOptions,
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
    /// `SMOOTH_AGENT_INDEXING_CONCURRENCY`: indexing runs (start-up sources,
    /// refreshes, connectors) this server works on at once; more wait in a queue.
    pub indexing_concurrency: usize,
    /// `SMOOTH_AGENT_DRAIN_SECS`: how long shutdown waits for running turns.
    pub drain_timeout: Duration,
    /// `SMOOTH_AGENT_RESUME_WINDOW_SECS` and `SMOOTH_AGENT_RESUME_BUFFER_*`: how
    /// long a turn outlives its client's socket, and how much of it is kept for
    /// replay.
    pub resume: crate::replay::ResumeConfig,
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
    /// `SMOOTH_AGENT_MAX_CONNECTIONS_PER_IP`: open connections allowed per client
    /// address, counted from accept (WebSockets, requests, half-sent requests);
    /// `None` (0) allows any number.
    pub max_connections_per_ip: Option<usize>,
    /// `SMOOTH_AGENT_MAX_PENDING_PER_IP`: connections per client address that are
    /// open but not (yet) a WebSocket: a request being read, or an idle keep-alive.
    /// `None` (0) allows any number. Not applied with `trust_forwarded_for`, where
    /// every connection comes from the proxy.
    pub max_pending_per_ip: Option<usize>,
    /// `SMOOTH_AGENT_HEADER_TIMEOUT_SECS`: how long a connection may take to send a
    /// request's line and headers (and how long a keep-alive connection may idle
    /// between requests) before it is closed.
    pub header_timeout: Duration,
    /// `SMOOTH_AGENT_TRUST_FORWARDED_FOR`: take the client address from the last
    /// `X-Forwarded-For` entry (the one the operator's proxy appended) rather than
    /// the TCP peer. Only safe when every request comes through that proxy.
    pub trust_forwarded_for: bool,
    /// Metadata caps and quotas (`SMOOTH_AGENT_MAX_METADATA_*`, `_SESSIONS_PER_HOUR_*`,
    /// `_STORED_BYTES_PER_DAY_PER_ORG`).
    pub storage_limits: StorageLimits,
    /// `SMOOTH_AGENT_AUTH_MODE` (or `AUTH_MODE`) and the `AUTH_JWT_*` keys: how
    /// tokens are verified.
    pub auth: AuthConfig,
    /// `SMOOTH_AGENT_BACKPLANE`, its URL and `SMOOTH_AGENT_BACKPLANE_CHANNEL`: how
    /// replicas reach each other's sockets.
    pub backplane: BackplaneConfig,
    /// `WIDGET_AUTH_*`: where embeddable-widget policies come from besides the
    /// agent configuration file, and whether an agent without one is refused.
    pub widget: WidgetAuthConfig,
    /// `SMOOTH_AGENT_HANDOFF_*`: who hears of conversations entering the handoff
    /// queue.
    pub handoff: HandoffConfig,
    /// `RUST_LOG`: the log filter.
    pub log_filter: String,
    /// Log format, the metrics address, trace export (`SMOOTH_AGENT_LOG_FORMAT`,
    /// `SMOOTH_AGENT_METRICS_ADDR`, `OTEL_*`).
    pub telemetry: TelemetryConfig,
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

/// Variables of the existing servers that change who may do what. Until this
/// version acts on them, setting one stops start-up: running without the protection
/// an operator asked for would be worse than not running.
const REFUSED_UNTIL_SUPPORTED: &[&str] = &[];

/// Variables of the existing servers that only tune behaviour; this version warns
/// that it ignores them.
const IGNORED_UNTIL_SUPPORTED: &[&str] =
    &["SMOOTH_AGENT_PREAMBLE_MODEL", "SMOOTH_EXTENSIONS_ALLOW"];

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
        let storage = storage::storage(&env)?;
        let backplane = storage::backplane(&env)?;
        let auth = auth::auth(&env)?;
        let otp_options = otp::options(&env, &storage, &backplane, &auth)?;
        let otp = auth::otp(&env)?;
        let handoff = handoff::handoff(&env, otp.as_ref())?;
        Ok(Self {
            handoff,
            otp_options,
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
            storage,
            agent_config: env.get("SMOOTH_AGENT_CONFIG").map(PathBuf::from),
            gateway: llm::gateway(&env)?,
            confirm_tools: env.list("SMOOTH_AGENT_CONFIRM_TOOLS"),
            park_timeout: Duration::from_secs(u64::from(
                env.positive("SMOOTH_AGENT_PARK_TIMEOUT_SECS", 600)?,
            )),
            turn_timeout: Duration::from_secs(u64::from(
                env.positive("SMOOTH_AGENT_TURN_TIMEOUT_SECS", 300)?,
            )),
            otp,
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
            embeddings: llm::embeddings(&env)?,
            rerank: llm::rerank(&env)?,
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
            indexing_concurrency: env.positive("SMOOTH_AGENT_INDEXING_CONCURRENCY", 2)? as usize,
            drain_timeout: Duration::from_secs(u64::from(env.parse::<u32>(
                "SMOOTH_AGENT_DRAIN_SECS",
                "a number of seconds",
                25,
            )?)),
            resume: limits::resume(&env)?,
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
            max_pending_per_ip: match env.parse::<u32>(
                "SMOOTH_AGENT_MAX_PENDING_PER_IP",
                "a number of connections (0 turns the cap off)",
                32,
            )? {
                0 => None,
                max => Some(max as usize),
            },
            header_timeout: Duration::from_secs(u64::from(
                env.positive("SMOOTH_AGENT_HEADER_TIMEOUT_SECS", 10)?,
            )),
            trust_forwarded_for: env.flag("SMOOTH_AGENT_TRUST_FORWARDED_FOR")?,
            storage_limits: limits::storage_limits(&env)?,
            auth,
            backplane,
            widget: auth::widget(&env)?,
            log_filter: env.get("RUST_LOG").unwrap_or_else(|| "info".into()),
            telemetry: telemetry::telemetry(&env)?,
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
        // Nothing on disk: tests that test storage say which.
        config.storage = StorageConfig::Memory;
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

/// The value of an environment variable the agent configuration file names (an
/// MCP server's `${NAME}` in a header or `env`, and the few variables a stdio MCP
/// server inherits). Read once, when the MCP servers start.
pub fn named_env(name: &str) -> Option<String> {
    std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
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
