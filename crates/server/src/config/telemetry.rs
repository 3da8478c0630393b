//! What the operator sees: log format, where metrics are served, and OpenTelemetry
//! trace export (the standard `OTEL_*` variables).

use super::ConfigError;
use super::env::Env;
use secrecy::SecretString;
use std::net::SocketAddr;

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (the default).
    Text,
    /// One JSON object per line, with the spans (session, request) it sits in.
    Json,
}

/// The wire protocol of the OTLP exporter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtlpProtocol {
    Grpc,
    HttpProtobuf,
}

/// Where and how traces are exported.
#[derive(Debug, Clone)]
pub struct OtlpConfig {
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`, e.g. `http://collector:4317`.
    pub endpoint: String,
    /// `OTEL_EXPORTER_OTLP_PROTOCOL`: `grpc` (default) or `http/protobuf`.
    pub protocol: OtlpProtocol,
    /// `OTEL_EXPORTER_OTLP_HEADERS`: `key=value` pairs sent with every export (an
    /// API key, often), kept secret.
    pub headers: Vec<(String, SecretString)>,
    /// `OTEL_SERVICE_NAME` (default `switchboard`).
    pub service_name: String,
    /// `OTEL_RESOURCE_ATTRIBUTES`: `key=value` pairs describing this process.
    pub resource_attributes: Vec<(String, String)>,
}

/// The telemetry settings.
#[derive(Debug, Clone)]
pub struct TelemetryConfig {
    /// `SMOOTH_AGENT_LOG_FORMAT`: `text` (default) or `json`.
    pub log_format: LogFormat,
    /// `SMOOTH_AGENT_METRICS_ADDR`: serve `/metrics` on this address instead of the
    /// main port.
    pub metrics_addr: Option<SocketAddr>,
    /// Trace export; `None` when `OTEL_EXPORTER_OTLP_ENDPOINT` is unset.
    pub otlp: Option<OtlpConfig>,
}

pub(super) fn telemetry<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<TelemetryConfig, ConfigError> {
    let log_format = match env
        .get("SMOOTH_AGENT_LOG_FORMAT")
        .map(|v| v.to_ascii_lowercase())
        .as_deref()
    {
        None | Some("text") => LogFormat::Text,
        Some("json") => LogFormat::Json,
        Some(other) => {
            return Err(ConfigError {
                var: "SMOOTH_AGENT_LOG_FORMAT",
                problem: format!("'{other}' is not a log format (use text or json)"),
            });
        }
    };
    let metrics_addr = match env.get("SMOOTH_AGENT_METRICS_ADDR") {
        None => None,
        Some(raw) => Some(raw.parse().map_err(|_| ConfigError {
            var: "SMOOTH_AGENT_METRICS_ADDR",
            problem: format!("'{raw}' is not an address and port (e.g. 127.0.0.1:9090)"),
        })?),
    };
    Ok(TelemetryConfig {
        log_format,
        metrics_addr,
        otlp: otlp(env)?,
    })
}

fn otlp<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Option<OtlpConfig>, ConfigError> {
    let Some(endpoint) = env.get("OTEL_EXPORTER_OTLP_ENDPOINT") else {
        return Ok(None);
    };
    if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
        return Err(ConfigError {
            var: "OTEL_EXPORTER_OTLP_ENDPOINT",
            problem: format!("'{endpoint}' is not an http:// or https:// URL"),
        });
    }
    let protocol = match env.get("OTEL_EXPORTER_OTLP_PROTOCOL").as_deref() {
        None | Some("grpc") => OtlpProtocol::Grpc,
        Some("http/protobuf") => OtlpProtocol::HttpProtobuf,
        Some(other) => {
            return Err(ConfigError {
                var: "OTEL_EXPORTER_OTLP_PROTOCOL",
                problem: format!("'{other}' is not supported (use grpc or http/protobuf)"),
            });
        }
    };
    let headers = pairs(env, "OTEL_EXPORTER_OTLP_HEADERS")?
        .into_iter()
        .map(|(k, v)| (k, SecretString::from(v)))
        .collect();
    Ok(Some(OtlpConfig {
        endpoint,
        protocol,
        headers,
        service_name: env
            .get("OTEL_SERVICE_NAME")
            .unwrap_or_else(|| "switchboard".into()),
        resource_attributes: pairs(env, "OTEL_RESOURCE_ATTRIBUTES")?,
    }))
}

/// A `key=value,key=value` list (the OpenTelemetry convention); values may be
/// percent-encoded, and are decoded.
fn pairs<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
    var: &'static str,
) -> Result<Vec<(String, String)>, ConfigError> {
    let Some(raw) = env.get(var) else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                Ok((k.trim().to_owned(), percent_decode(v.trim())))
            }
            // The value may be a secret: never echo it back.
            _ => Err(ConfigError {
                var,
                problem: "expects key=value pairs separated by commas".into(),
            }),
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
