//! The server's Prometheus metrics: one registry per server (so tests that run
//! several servers in one process each read their own), served by `GET /metrics`.
//!
//! Every label value is bounded: outcomes, wire codes, error kinds, limit names and
//! the models the configuration names (any other model counts as `other`). No
//! session, user or free text ever becomes a label.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use std::collections::HashSet;
use std::sync::atomic::AtomicU64;
use std::time::Duration;
use switchboard_agent::llm::TokenUsage;
use switchboard_agent::observe::{Observer, TurnEnd};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TurnLabels {
    /// answered, error, cancelled or abandoned.
    outcome: &'static str,
    /// The error's wire code; `none` otherwise.
    code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TokenLabels {
    model: String,
    /// input or output.
    direction: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModelLabel {
    model: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DuringLabel {
    during: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabel {
    /// The variable that sets the limit (e.g. `SMOOTH_AGENT_RATE_LIMIT_PER_SEC`).
    limit: &'static str,
}

type Seconds = Histogram;

/// Buckets from 5 ms to about 82 s, doubling.
fn seconds() -> Seconds {
    Histogram::new(exponential_buckets(0.005, 2.0, 15))
}

/// Every metric the server keeps, and the registry that encodes them.
pub struct Metrics {
    registry: Registry,
    connections_open: Gauge,
    sessions_created: Counter,
    turns: Family<TurnLabels, Counter>,
    turn_duration: Seconds,
    first_token: Seconds,
    gateway_duration: Seconds,
    gateway_retries: Counter,
    gateway_errors: Family<KindLabel, Counter>,
    tokens: Family<TokenLabels, Counter>,
    cost: Family<ModelLabel, Counter<f64, AtomicU64>>,
    retrieval: Seconds,
    waiting: Gauge,
    backplane_publish: Seconds,
    backplane_failures: Counter,
    store_errors: Family<DuringLabel, Counter>,
    refusals: Family<LimitLabel, Counter>,
    /// Models that may appear as a label value; others are counted as `other`.
    models: HashSet<String>,
}

impl Metrics {
    /// A registry with every metric at zero. `models` are the model names the
    /// configuration names (the default, the judge, the agents'), the only ones
    /// given their own label value.
    pub fn new(models: impl IntoIterator<Item = String>) -> Self {
        let mut registry = Registry::with_prefix("switchboard");
        let m = Self {
            registry: Registry::default(),
            connections_open: Gauge::default(),
            sessions_created: Counter::default(),
            turns: Family::default(),
            turn_duration: seconds(),
            first_token: seconds(),
            gateway_duration: seconds(),
            gateway_retries: Counter::default(),
            gateway_errors: Family::default(),
            tokens: Family::default(),
            cost: Family::default(),
            retrieval: seconds(),
            waiting: Gauge::default(),
            backplane_publish: seconds(),
            backplane_failures: Counter::default(),
            store_errors: Family::default(),
            refusals: Family::default(),
            models: models.into_iter().collect(),
        };
        let r = &mut registry;
        r.register(
            "connections_open",
            "Open WebSocket connections",
            m.connections_open.clone(),
        );
        r.register(
            "sessions_created",
            "Conversation sessions created",
            m.sessions_created.clone(),
        );
        r.register(
            "turns",
            "Turns ended, by outcome (answered, error, cancelled, abandoned) and error code",
            m.turns.clone(),
        );
        r.register_with_unit(
            "turn_duration",
            "Time from a turn's start (or resumption) to its end",
            Unit::Seconds,
            m.turn_duration.clone(),
        );
        r.register_with_unit(
            "turn_first_token",
            "Time from a turn's start to its first streamed token",
            Unit::Seconds,
            m.first_token.clone(),
        );
        r.register_with_unit(
            "gateway_request_duration",
            "Time from sending a gateway request to its response headers, retries included",
            Unit::Seconds,
            m.gateway_duration.clone(),
        );
        r.register(
            "gateway_retries",
            "Gateway requests sent again after a transient failure",
            m.gateway_retries.clone(),
        );
        r.register(
            "gateway_errors",
            "Gateway requests that failed, by kind",
            m.gateway_errors.clone(),
        );
        r.register(
            "llm_tokens",
            "Tokens the gateway reported, by model and direction (input, output)",
            m.tokens.clone(),
        );
        r.register(
            "llm_cost_usd",
            "Cost the gateway reported, in US dollars, by model",
            m.cost.clone(),
        );
        r.register_with_unit(
            "retrieval_duration",
            "Time to retrieve knowledge for a user's message",
            Unit::Seconds,
            m.retrieval.clone(),
        );
        r.register(
            "turns_waiting_for_human",
            "Turns waiting for a human's answer (an approval, an interaction)",
            m.waiting.clone(),
        );
        r.register_with_unit(
            "backplane_publish_duration",
            "Time to hand a batch of events to the backplane broker",
            Unit::Seconds,
            m.backplane_publish.clone(),
        );
        r.register(
            "backplane_publish_failures",
            "Backplane publishes that failed (their events did not reach other replicas)",
            m.backplane_failures.clone(),
        );
        r.register(
            "store_errors",
            "Store calls that failed, by where (turn, action)",
            m.store_errors.clone(),
        );
        r.register(
            "refusals",
            "Requests, frames and connections refused by a limit, by the limit's variable",
            m.refusals.clone(),
        );
        Self { registry, ..m }
    }

    /// The metrics in the OpenMetrics text format (what Prometheus asks for).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }

    /// The metrics in the classic Prometheus text format (0.0.4), for clients that
    /// do not ask for OpenMetrics (promtool, curl): a counter's `HELP` and `TYPE`
    /// name its `_total` series, and there is no `UNIT` or `EOF` line.
    pub fn encode_prometheus(&self) -> String {
        to_prometheus_text(&self.encode())
    }

    fn model(&self, model: &str) -> String {
        if self.models.contains(model) {
            model.to_owned()
        } else {
            "other".to_owned()
        }
    }

    /// A WebSocket connection opened; the guard counts it closed when dropped.
    pub fn connection_opened(self: &std::sync::Arc<Self>) -> OpenConnection {
        self.connections_open.inc();
        OpenConnection(self.clone())
    }

    pub fn session_created(&self) {
        self.sessions_created.inc();
    }

    /// A running turn was stopped by `cancel`.
    pub fn turn_cancelled(&self) {
        self.turns
            .get_or_create(&TurnLabels {
                outcome: "cancelled",
                code: "none",
            })
            .inc();
    }

    /// Something was refused by the limit `variable` sets.
    pub fn refused(&self, variable: &'static str) {
        self.refusals
            .get_or_create(&LimitLabel { limit: variable })
            .inc();
    }

    /// A batch was handed to the backplane broker in `elapsed`, or failed.
    pub fn backplane_published(&self, elapsed: Duration, ok: bool) {
        self.backplane_publish.observe(elapsed.as_secs_f64());
        if !ok {
            self.backplane_failures.inc();
        }
    }
}

/// OpenMetrics text as the classic Prometheus text format.
fn to_prometheus_text(openmetrics: &str) -> String {
    let mut out = String::with_capacity(openmetrics.len());
    let mut help: Option<&str> = None;
    for line in openmetrics.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            help = Some(rest);
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, "untyped"));
            let name = if kind == "counter" {
                format!("{name}_total")
            } else {
                name.to_owned()
            };
            if let Some(help) = help.take() {
                let text = help.split_once(' ').map_or("", |(_, text)| text);
                out.push_str(&format!("# HELP {name} {text}\n"));
            }
            out.push_str(&format!("# TYPE {name} {kind}\n"));
            continue;
        }
        if line.starts_with("# UNIT ") || line == "# EOF" {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Counts one open connection until dropped.
pub struct OpenConnection(std::sync::Arc<Metrics>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.connections_open.dec();
    }
}

impl Observer for Metrics {
    fn turn_ended(&self, end: TurnEnd, elapsed: Duration) {
        let labels = match end {
            TurnEnd::Answered => TurnLabels {
                outcome: "answered",
                code: "none",
            },
            TurnEnd::Failed(code) => TurnLabels {
                outcome: "error",
                code: code.as_str(),
            },
            TurnEnd::Abandoned => TurnLabels {
                outcome: "abandoned",
                code: "none",
            },
        };
        self.turns.get_or_create(&labels).inc();
        self.turn_duration.observe(elapsed.as_secs_f64());
    }

    fn first_token(&self, elapsed: Duration) {
        self.first_token.observe(elapsed.as_secs_f64());
    }

    fn usage(&self, model: &str, usage: &TokenUsage) {
        let model = self.model(model);
        for (direction, count) in [
            ("input", usage.prompt_tokens),
            ("output", usage.completion_tokens),
        ] {
            self.tokens
                .get_or_create(&TokenLabels {
                    model: model.clone(),
                    direction,
                })
                .inc_by(count);
        }
        if let Some(cost) = usage.cost_usd.filter(|c| c.is_finite() && *c > 0.0) {
            self.cost.get_or_create(&ModelLabel { model }).inc_by(cost);
        }
    }

    fn retrieval(&self, elapsed: Duration) {
        self.retrieval.observe(elapsed.as_secs_f64());
    }

    fn waiting_for_human(&self, delta: i64) {
        self.waiting.inc_by(delta);
    }

    fn gateway_request(&self, elapsed: Duration, error: Option<&'static str>) {
        self.gateway_duration.observe(elapsed.as_secs_f64());
        if let Some(kind) = error {
            self.gateway_errors.get_or_create(&KindLabel { kind }).inc();
        }
    }

    fn gateway_retry(&self) {
        self.gateway_retries.inc();
    }

    fn store_error(&self, during: &'static str) {
        self.store_errors
            .get_or_create(&DuringLabel { during })
            .inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_prefix_and_suffixes_and_unknown_models_are_other() {
        let metrics = Metrics::new(["claude-haiku-4-5".to_owned()]);
        metrics.turn_ended(TurnEnd::Answered, Duration::from_millis(20));
        metrics.usage(
            "some-model-a-client-chose",
            &TokenUsage {
                prompt_tokens: 3,
                completion_tokens: 2,
                cost_usd: Some(0.5),
            },
        );
        let text = metrics.encode();
        assert!(text.contains("switchboard_turns_total{outcome=\"answered\",code=\"none\"} 1"));
        assert!(text.contains("switchboard_turn_duration_seconds_count 1"));
        assert!(
            text.contains("switchboard_llm_tokens_total{model=\"other\",direction=\"input\"} 3")
        );
        assert!(!text.contains("some-model-a-client-chose"));
        let classic = metrics.encode_prometheus();
        assert!(classic.contains("# TYPE switchboard_turns_total counter\n"));
        assert!(classic.contains("# HELP switchboard_turns_total Turns ended"));
        assert!(!classic.contains("# EOF") && !classic.contains("# UNIT"));
    }
}
