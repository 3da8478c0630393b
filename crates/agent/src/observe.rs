//! What turns and the gateway client report for metrics, and the trace headers they
//! send. The agent crate holds no exporter: the server implements [`Observer`] over
//! its metrics registry, and installs the propagator that fills [`trace_headers`].
//!
//! Spans are plain `tracing` spans named after the OpenTelemetry GenAI conventions
//! (`gen_ai.chat`, `gen_ai.tool`); see docs/observability.md.

use crate::llm::TokenUsage;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use switchboard_protocol::ErrorCode;

/// How a turn ended, as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnEnd {
    /// `eventual_response` was sent.
    Answered,
    /// An `error` event with this code was sent.
    Failed(ErrorCode),
    /// The client left before the end (nothing more could be sent).
    Abandoned,
}

/// Receives measurements; every method defaults to doing nothing. Labels it is
/// given are bounded (codes, kinds); the model name is the implementation's to bound.
pub trait Observer: Send + Sync + 'static {
    /// A turn (or the resumed part of one) ended after `elapsed`.
    fn turn_ended(&self, _end: TurnEnd, _elapsed: Duration) {}
    /// The turn's first streamed token left `elapsed` after the turn began.
    fn first_token(&self, _elapsed: Duration) {}
    /// Tokens and cost one model call reported (only measured figures).
    fn usage(&self, _model: &str, _usage: &TokenUsage) {}
    /// Retrieval for a user's message took `elapsed`.
    fn retrieval(&self, _elapsed: Duration) {}
    /// A turn started (+1) or stopped (-1) waiting for a human.
    fn waiting_for_human(&self, _delta: i64) {}
    /// One gateway request (its retries included) ended after `elapsed`, up to its
    /// response headers; `error` names the failure's kind.
    fn gateway_request(&self, _elapsed: Duration, _error: Option<&'static str>) {}
    /// A gateway request was retried.
    fn gateway_retry(&self) {}
    /// A store call failed; `during` says where ("turn", "action", ...).
    fn store_error(&self, _during: &'static str) {}
}

/// An observer that records nothing.
pub struct Unobserved;

impl Observer for Unobserved {}

/// A cheap-to-clone handle on an [`Observer`] (nothing recorded by default).
#[derive(Clone)]
pub struct Observe(pub Arc<dyn Observer>);

impl Default for Observe {
    fn default() -> Self {
        Self(Arc::new(Unobserved))
    }
}

impl std::fmt::Debug for Observe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Observe")
    }
}

impl std::ops::Deref for Observe {
    type Target = dyn Observer;
    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

/// Adds the current trace's context (W3C `traceparent`) to outbound headers.
pub type Propagator = dyn Fn(&mut reqwest::header::HeaderMap) + Send + Sync;

static PROPAGATOR: OnceLock<Box<Propagator>> = OnceLock::new();

/// Installs the process's trace propagator (the server does, once, when it exports
/// traces). Later calls are ignored.
pub fn set_propagator(propagator: Box<Propagator>) {
    let _ = PROPAGATOR.set(propagator);
}

/// The headers that carry the current trace to the gateway or an HTTP tool; empty
/// when traces are not exported.
pub fn trace_headers() -> reqwest::header::HeaderMap {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(propagator) = PROPAGATOR.get() {
        propagator(&mut headers);
    }
    headers
}

/// Keys whose values never leave in a span (any key containing one of these).
const SECRET_KEYS: [&str; 10] = [
    "secret",
    "token",
    "password",
    "api_key",
    "apikey",
    "authorization",
    "bearer",
    "credential",
    "access_key",
    "private_key",
];

/// The longest tool-argument text a span carries, in bytes (then `…`).
pub const MAX_ARGUMENT_BYTES: usize = 2048;

/// Tool arguments as a span may carry them: every value under a secret-like key
/// (at any depth) replaced by `"[REDACTED]"`, cut at [`MAX_ARGUMENT_BYTES`]. Text
/// that is not JSON is not shown at all, since it cannot be redacted by key.
pub fn redact_arguments(raw: &str) -> String {
    let text = match serde_json::from_str::<serde_json::Value>(raw) {
        Ok(mut value) => {
            redact(&mut value);
            value.to_string()
        }
        Err(_) if raw.trim().is_empty() => "{}".to_owned(),
        Err(_) => "[UNPARSEABLE]".to_owned(),
    };
    cap(text, MAX_ARGUMENT_BYTES)
}

fn redact(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                let key = key.to_ascii_lowercase();
                if SECRET_KEYS.iter().any(|s| key.contains(s)) {
                    *value = serde_json::Value::String("[REDACTED]".into());
                } else {
                    redact(value);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

/// `text` cut to at most `max` bytes on a character boundary, marked with `…`.
fn cap(mut text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut end = max - '…'.len_utf8();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push('…');
    text
}

/// The target of spans that exist for logs only (they tie log lines to a session
/// and request); trace export leaves them out, so a turn's trace starts at
/// `gen_ai.chat`.
pub const LOG_ONLY_TARGET: &str = "switchboard::log";

/// The span every log line of a turn sits in: its session and request.
pub fn turn_log_span(session: &str, request_id: &str) -> tracing::Span {
    tracing::info_span!(target: LOG_ONLY_TARGET, "turn", session = session, request_id = request_id)
}

/// The `gen_ai.chat` span of a turn, with the O-TELEMETRY attributes; usage, cost
/// and the model are recorded once known.
pub fn chat_span(conversation: &str, org: &str) -> tracing::Span {
    tracing::info_span!(
        "gen_ai.chat",
        gen_ai.system = GEN_AI_SYSTEM,
        gen_ai.operation.name = "chat",
        gen_ai.request.model = tracing::field::Empty,
        gen_ai.conversation.id = conversation,
        gen_ai.agent.name = "smooth-agent-chat",
        smooai.org_id = org,
        gen_ai.usage.input_tokens = tracing::field::Empty,
        gen_ai.usage.output_tokens = tracing::field::Empty,
        gen_ai.usage.cost_usd = tracing::field::Empty,
        gen_ai.usage.cost_source = tracing::field::Empty,
        smooai.gen_ai.cost_unavailable = tracing::field::Empty,
        gen_ai.response.id = tracing::field::Empty,
    )
}

/// `gen_ai.system` of every GenAI span (the protocol's name, as other servers use).
pub const GEN_AI_SYSTEM: &str = "smooth-operator";

/// The `gen_ai.tool` span of one tool call (a child of the turn's `gen_ai.chat`).
pub fn tool_span(conversation: &str, org: &str, tool: &str, arguments: &str) -> tracing::Span {
    tracing::info_span!(
        "gen_ai.tool",
        gen_ai.system = GEN_AI_SYSTEM,
        gen_ai.operation.name = "tool",
        gen_ai.conversation.id = conversation,
        smooai.org_id = org,
        gen_ai.tool.name = tool,
        gen_ai.tool.call.arguments = redact_arguments(arguments),
        duration_ms = tracing::field::Empty,
        is_error = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
        otel.status_message = tracing::field::Empty,
    )
}

/// Records how a tool call ended on its span.
pub fn record_tool_end(span: &tracing::Span, elapsed: Duration, error: Option<&str>) {
    // Signed: OpenTelemetry integers are i64, and a u64 would be exported as text.
    let millis = i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX);
    span.record("duration_ms", millis);
    span.record("is_error", error.is_some());
    if let Some(error) = error {
        span.record("otel.status_code", "ERROR");
        span.record("otel.status_message", cap(error.to_owned(), 512));
    }
}

/// Records a turn's usage on its `gen_ai.chat` span: tokens only when measured
/// (the gateway reported them), cost only when priced.
pub fn record_usage(span: &tracing::Span, usage: Option<&TokenUsage>) {
    if let Some(usage) = usage {
        // Signed: OpenTelemetry integers are i64, and a u64 would be exported as text.
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        span.record("gen_ai.usage.input_tokens", count(usage.prompt_tokens));
        span.record("gen_ai.usage.output_tokens", count(usage.completion_tokens));
    }
    match usage
        .and_then(|u| u.cost_usd)
        .filter(|c| c.is_finite() && *c > 0.0)
    {
        Some(cost) => {
            span.record("gen_ai.usage.cost_usd", cost);
            span.record("gen_ai.usage.cost_source", "gateway");
        }
        None => {
            span.record("smooai.gen_ai.cost_unavailable", "unpriced");
        }
    }
}

/// The span of one store call made by a turn.
pub fn store_span(operation: &'static str) -> tracing::Span {
    tracing::info_span!("store", db.operation = operation)
}

/// Counts a turn as waiting for a human while it lives (aborted tasks included).
pub struct WaitingForHuman(Observe);

impl WaitingForHuman {
    pub fn start(observe: &Observe) -> Self {
        observe.waiting_for_human(1);
        Self(observe.clone())
    }
}

impl Drop for WaitingForHuman {
    fn drop(&mut self) {
        self.0.waiting_for_human(-1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_like_keys_are_redacted_at_any_depth() {
        let out = redact_arguments(
            r#"{"city":"Oslo","api_key":"sk-1","nested":{"Authorization":"Bearer x","list":[{"refresh_token":"t"}]}}"#,
        );
        assert!(!out.contains("sk-1") && !out.contains("Bearer x") && !out.contains("\"t\""));
        assert!(out.contains("Oslo"));
        assert_eq!(out.matches("[REDACTED]").count(), 3);
    }

    #[test]
    fn long_arguments_are_capped_on_a_character_boundary() {
        let raw = serde_json::json!({ "text": "é".repeat(4000) }).to_string();
        let out = redact_arguments(&raw);
        assert!(out.len() <= MAX_ARGUMENT_BYTES);
        assert!(out.ends_with('…'));
        assert_eq!(redact_arguments("not json"), "[UNPARSEABLE]");
    }
}
