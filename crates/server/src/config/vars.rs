//! Every environment variable the server reads, with its default and meaning: what
//! `switchboard --help` prints. A test holds it to what the config module reads.

/// One variable as `--help` shows it.
#[derive(Debug, Clone, Copy)]
pub struct Variable {
    pub name: &'static str,
    /// "" when unset by default.
    pub default: &'static str,
    pub meaning: &'static str,
}

const fn var(name: &'static str, default: &'static str, meaning: &'static str) -> Variable {
    Variable {
        name,
        default,
        meaning,
    }
}

/// Grouped as in docs/configuration.md; one line each, so it reads
/// as a table (hence no rustfmt).
#[rustfmt::skip]
pub const VARIABLES: &[Variable] = &[
    var("SMOOTH_AGENT_BIND", "127.0.0.1", "IP address to listen on"),
    var("SMOOTH_AGENT_PORT", "8787", "port (0 picks a free one)"),
    var("SMOOTH_AGENT_STORAGE", "sqlite", "sqlite, memory, postgres or dynamodb"),
    var("SMOOTH_AGENT_DATA_DIR", "./data", "folder of the SQLite file switchboard.db"),
    var("SMOOTH_AGENT_SQLITE_DURABILITY", "full", "full (survives power cuts) or process (survives crashes; cheaper)"),
    var("SMOOTH_AGENT_DATABASE_URL", "", "sqlite://PATH, or a PostgreSQL DSN (then DATABASE_URL)"),
    var("DATABASE_URL", "", "PostgreSQL DSN when SMOOTH_AGENT_DATABASE_URL is unset"),
    var("SMOOTH_AGENT_KNOWLEDGE_FUSION", "score", "score or rrf (PostgreSQL only)"),
    var("SMOOTH_AGENT_DDB_TABLE", "smooth-operator", "DynamoDB table, created when absent"),
    var("SMOOTH_AGENT_DDB_ENDPOINT", "", "a DynamoDB-compatible server instead of AWS"),
    var("SMOOTH_AGENT_AUTH_MODE", "", "jwt, trusted or none (then AUTH_MODE)"),
    var("AUTH_MODE", "", "jwt, trusted or none"),
    var("AUTH_JWT_HS256_SECRET", "", "shared secret verifying HS256 tokens"),
    var("AUTH_JWT_RS256_PUBLIC_KEY", "", "PEM RSA public key verifying RS256 tokens"),
    var("AUTH_JWT_ES256_PUBLIC_KEY", "", "PEM P-256 public key verifying ES256 tokens"),
    var("AUTH_JWT_EDDSA_PUBLIC_KEY", "", "PEM Ed25519 public key verifying EdDSA tokens"),
    var("AUTH_JWT_JWKS_URL", "", "the identity provider's JWKS, fetched and cached"),
    var("AUTH_JWT_ISSUER", "", "required iss claim"),
    var("AUTH_JWT_AUDIENCE", "", "required aud claim"),
    var("AUTH_DEV_ORG_ID", "dev-org", "the organisation of AUTH_MODE=none"),
    var("SMOOTH_AGENT_BACKPLANE", "memory", "memory, redis/valkey or nats"),
    var("SMOOTH_AGENT_BACKPLANE_URL", "", "the broker's URL (redis://, rediss://, nats://)"),
    var("SMOOTH_AGENT_REDIS_URL", "", "Redis URL when SMOOTH_AGENT_BACKPLANE_URL is unset"),
    var("SMOOTH_AGENT_NATS_URL", "", "NATS URL when SMOOTH_AGENT_BACKPLANE_URL is unset"),
    var("SMOOTH_AGENT_BACKPLANE_CHANNEL", "smooth-operator:backplane", "the channel (Redis) or subject (NATS) replicas share"),
    var("SMOOAI_GATEWAY_URL", "", "OpenAI-compatible gateway base URL; unset: offline answers"),
    var("SMOOAI_GATEWAY_KEY", "", "gateway bearer key (alone: the hosted gateway)"),
    var("SMOOTH_AGENT_MODEL", "claude-haiku-4-5", "default chat model"),
    var("SMOOTH_AGENT_MAX_ITERATIONS", "20", "model calls per turn"),
    var("SMOOTH_AGENT_MAX_TOKENS", "8192", "max_tokens per model call"),
    var("SMOOTH_AGENT_SEED_KB", "off", "1 seeds the demo knowledge base"),
    var("SMOOTH_AGENT_CONFIG", "", "agent configuration file (JSON or TOML)"),
    var("SMOOTH_AGENT_CONFIRM_TOOLS", "", "tool-name substrings that need approval"),
    var("SMOOTH_AGENT_PARK_TIMEOUT_SECS", "600", "how long a turn waits for a human"),
    var("SMOOTH_AGENT_AUTH_TOOLS", "", "tools that need a verified visitor"),
    var("SMOOTH_AGENT_HANDOFF_WEBHOOK_URL", "", "POSTed when a conversation enters the handoff queue"),
    var("SMOOTH_AGENT_HANDOFF_WEBHOOK_SECRET", "", "signs handoff webhook bodies (HMAC-SHA256)"),
    var("SMOOTH_AGENT_HANDOFF_WEBHOOK_ALLOW_PRIVATE", "off", "let the handoff webhook reach private addresses"),
    var("SMOOTH_AGENT_HANDOFF_EMAIL_TO", "", "addresses emailed when a conversation enters the queue"),
    var("SMOOTH_AGENT_OTP_WEBHOOK_URL", "", "one-time codes delivered by webhook"),
    var("SMOOTH_AGENT_OTP_WEBHOOK_BEARER", "", "bearer token for the OTP webhook"),
    var("SMOOTH_AGENT_SMTP_HOST", "", "one-time codes delivered by email through this host"),
    var("SMOOTH_AGENT_SMTP_PORT", "by SMOOTH_AGENT_SMTP_SECURITY", "SMTP port"),
    var("SMOOTH_AGENT_SMTP_FROM", "", "sender address of code emails"),
    var("SMOOTH_AGENT_SMTP_USERNAME", "", "SMTP user"),
    var("SMOOTH_AGENT_SMTP_PASSWORD", "", "SMTP password"),
    var("SMOOTH_AGENT_SMTP_SECURITY", "starttls", "starttls (587), tls (465) or none (25)"),
    var("SMOOTH_AGENT_SMTP_ALLOW_INSECURE_AUTH", "off", "allow an SMTP login without TLS"),
    var("SMOOTH_AGENT_OTP_SECRET", "", "key of stored code hashes (at least 32 characters)"),
    var("SMOOTH_AGENT_OTP_MAX_PER_DESTINATION", "5", "codes per address or number per window"),
    var("SMOOTH_AGENT_OTP_DESTINATION_WINDOW_SECS", "900", "that window"),
    var("SMOOTH_AGENT_OTP_MAX_PER_CLIENT", "20", "codes asked from one client address per window"),
    var("SMOOTH_AGENT_OTP_CLIENT_WINDOW_SECS", "900", "that window"),
    var("SMOOTH_AGENT_PHONE_DEFAULT_REGION", "US", "region national phone numbers are read in"),
    var("SMOOTH_AGENT_JUDGE_MODEL", "claude-haiku-4-5", "model judging workflow steps"),
    var("SMOOTH_SKILLS_DIR", "", "skill folders (:-separated)"),
    var("SMOOTH_AGENT_HISTORY_TOKENS", "6000", "conversation history replayed per turn"),
    var("SMOOTH_AGENT_LLM_TIMEOUT_SECS", "60", "longest wait for a first byte or mid-stream"),
    var("SMOOTH_AGENT_TURN_TIMEOUT_SECS", "300", "longest a turn may work (time parked excluded)"),
    var("SMOOTH_AGENT_RESUME_WINDOW_SECS", "120", "how long a turn runs on after its client disconnects (0: abort it)"),
    var("SMOOTH_AGENT_RESUME_BUFFER_BYTES", "524288", "a running turn's events kept for replay, in bytes"),
    var("SMOOTH_AGENT_RESUME_BUFFER_EVENTS", "4096", "a running turn's events kept for replay, in events"),
    var("SMOOTH_AGENT_KNOWLEDGE_PATH", "", "folders or files to ingest at start-up"),
    var("SMOOTH_AGENT_EMBEDDINGS", "gateway with a gateway, else offline", "offline or gateway"),
    var("SMOOTH_AGENT_EMBEDDING_MODEL", "text-embedding-3-small", "gateway embedding model"),
    var("SMOOTH_AGENT_RERANK", "off", "off, lexical or gateway"),
    var("SMOOTH_AGENT_RERANK_MODEL", "rerank-english-v3.0", "gateway rerank model"),
    var("SMOOTH_AGENT_CONNECTOR_FILE_ROOTS", "", "folders file connectors may read"),
    var("SMOOTH_AGENT_INDEXING_CONCURRENCY", "2", "indexing runs worked on at once (more wait)"),
    var("SMOOTH_AGENT_DRAIN_SECS", "25", "how long shutdown waits for running turns"),
    var("SMOOTH_AGENT_MAX_FRAME_BYTES", "1048576", "largest WebSocket message"),
    var("SMOOTH_AGENT_RATE_LIMIT_PER_SEC", "20", "frames per second per connection (0: off)"),
    var("SMOOTH_AGENT_RATE_LIMIT_BURST", "40", "frames allowed at once"),
    var("SMOOTH_AGENT_IDLE_TIMEOUT_SECS", "300", "close silent connections after this (0: off)"),
    var("SMOOTH_AGENT_MAX_CONNECTIONS_PER_IP", "64", "open connections per client address, from accept (0: off)"),
    var("SMOOTH_AGENT_MAX_PENDING_PER_IP", "32", "not-yet-WebSocket connections per address (0: off)"),
    var("SMOOTH_AGENT_HEADER_TIMEOUT_SECS", "10", "time to send a request's line and headers"),
    var("SMOOTH_AGENT_TRUST_FORWARDED_FOR", "off", "count the proxy's X-Forwarded-For address"),
    var("SMOOTH_AGENT_MAX_METADATA_BYTES", "16384", "largest session metadata, as JSON"),
    var("SMOOTH_AGENT_MAX_METADATA_DEPTH", "8", "deepest session metadata nesting"),
    var("SMOOTH_AGENT_SESSIONS_PER_HOUR_PER_IP", "200", "new sessions per client address an hour (0: off)"),
    var("SMOOTH_AGENT_SESSIONS_PER_HOUR_PER_ORG", "20000", "new sessions per organisation an hour (0: off)"),
    var("SMOOTH_AGENT_STORED_BYTES_PER_DAY_PER_ORG", "1073741824", "bytes one organisation may store a day (0: off)"),
    var("SMOOTH_AGENT_OUTBOUND_QUEUE", "256", "events queued per connection"),
    var("WIDGET_AUTH_URL", "", "widget policy service"),
    var("WIDGET_AUTH_BEARER", "", "bearer token for the policy service"),
    var("WIDGET_AUTH_TTL_SECS", "60", "how long policy answers are remembered"),
    var("WIDGET_AUTH_STRICT", "off", "refuse agents without a widget policy"),
    var("SMOOTH_AGENT_PREAMBLE_MODEL", "", "read by other servers; ignored here (a warning)"),
    var("SMOOTH_EXTENSIONS_ALLOW", "", "read by other servers; ignored here (a warning)"),
    var("OTEL_EXPORTER_OTLP_ENDPOINT", "", "OTLP collector traces are exported to (unset: none)"),
    var("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", "grpc or http/protobuf"),
    var("OTEL_EXPORTER_OTLP_HEADERS", "", "key=value pairs sent with every export"),
    var("OTEL_SERVICE_NAME", "switchboard", "service.name of exported traces"),
    var("OTEL_RESOURCE_ATTRIBUTES", "", "key=value pairs describing this process"),
    var("SMOOTH_AGENT_METRICS_ADDR", "", "serve /metrics here instead of the main port"),
    var("SMOOTH_AGENT_LOG_FORMAT", "text", "text or json (one object per line)"),
    var("RUST_LOG", "info", "log filter (logs go to stderr)"),
];

#[cfg(test)]
mod tests {
    use super::VARIABLES;
    use std::collections::BTreeSet;
    use std::path::Path;

    /// Quoted names of the server's variable families in `text`.
    fn names_in(text: &str, found: &mut BTreeSet<String>) {
        const PREFIXES: [&str; 7] = [
            "SMOOTH_",
            "SMOOAI_",
            "AUTH_",
            "WIDGET_",
            "OTEL_",
            "DATABASE_URL",
            "RUST_LOG",
        ];
        for piece in text.split('"').skip(1).step_by(2) {
            let is_name = PREFIXES.iter().any(|p| piece.starts_with(p))
                && piece
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                && !piece.ends_with('_');
            if is_name {
                found.insert(piece.to_owned());
            }
        }
    }

    fn read_all(dir: &Path, found: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                read_all(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs")
                && !path.ends_with("vars.rs")
                && !path.ends_with("tests.rs")
            {
                names_in(&std::fs::read_to_string(&path).unwrap(), found);
            }
        }
    }

    #[test]
    fn every_variable_the_config_reads_is_listed() {
        let mut read = BTreeSet::new();
        read_all(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src/config"),
            &mut read,
        );
        let listed: BTreeSet<String> = VARIABLES.iter().map(|v| v.name.to_owned()).collect();
        let missing: Vec<_> = read.difference(&listed).collect();
        assert!(missing.is_empty(), "not in VARIABLES: {missing:?}");
        assert!(read.len() > 40, "the scan found too little: {read:?}");
    }

    #[test]
    fn every_listed_variable_is_documented() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut docs = std::fs::read_to_string(root.join("README.md")).unwrap();
        if let Ok(entries) = std::fs::read_dir(root.join("docs")) {
            for entry in entries.flatten() {
                if entry.path().extension().is_some_and(|e| e == "md") {
                    docs.push_str(&std::fs::read_to_string(entry.path()).unwrap());
                }
            }
        }
        for var in VARIABLES {
            assert!(
                docs.contains(var.name),
                "{} is documented neither in README.md nor in docs/",
                var.name
            );
        }
    }
}
