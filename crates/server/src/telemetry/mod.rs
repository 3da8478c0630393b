//! What an operator sees of the server: Prometheus metrics (`GET /metrics`),
//! readiness (`GET /ready`), structured logs and OpenTelemetry trace export.
//! docs/observability.md is the reference.

pub mod logging;
pub mod metrics;
pub mod otel;

pub use metrics::Metrics;

use crate::state::AppState;
use async_trait::async_trait;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard_core::{Bus, BusError, SessionId};
use tokio::sync::mpsc;

/// How long `/ready` waits for the store or the broker before calling it down.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /metrics` alone, for `SMOOTH_AGENT_METRICS_ADDR`.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// `GET /metrics`: every metric, in OpenMetrics text when the client asks for it
/// (Prometheus does), else in the classic Prometheus text format.
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let openmetrics = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/openmetrics-text"));
    if openmetrics {
        (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            state.metrics().encode(),
        )
            .into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            state.metrics().encode_prometheus(),
        )
            .into_response()
    }
}

/// `GET /ready`: 200 when the store and the backplane answer within two seconds and
/// the start-up indexing is done; 503 with the reason otherwise. Later indexing runs
/// (refreshes, connectors) do not count: turns answer from the index meanwhile.
/// `/health` only says the process is up.
pub async fn ready(State(state): State<AppState>) -> Response {
    let not_ready = |reason: String| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {reason}"),
        )
            .into_response()
    };
    if state.shutdown_token().is_cancelled() {
        return not_ready("shutting down".into());
    }
    if let Some(reason) = state.startup_indexing().status().not_ready() {
        // Expected while the server starts; the indexing logs its own progress.
        tracing::debug!(reason, "not ready");
        return not_ready(reason);
    }
    match readiness(&state).await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(reason) => {
            tracing::warn!(reason, "not ready");
            not_ready(reason)
        }
    }
}

/// Whether the store and the backplane answer.
async fn readiness(state: &AppState) -> Result<(), String> {
    // Any read proves the store answers; the nil session exists nowhere.
    let store = state
        .store()
        .get_session(SessionId::from(uuid::Uuid::nil()));
    match tokio::time::timeout(PROBE_TIMEOUT, store).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: the store failed");
            return Err("the store is not answering".into());
        }
        Err(_) => return Err("the store did not answer within 2 s".into()),
    }
    match tokio::time::timeout(PROBE_TIMEOUT, state.hub().probe()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: the backplane failed");
            Err(format!(
                "the backplane ({}) is not answering",
                state.hub().label()
            ))
        }
        Err(_) => Err(format!(
            "the backplane ({}) did not answer within 2 s",
            state.hub().label()
        )),
    }
}

/// A bus whose publishes are timed and counted.
pub struct MeteredBus {
    inner: Arc<dyn Bus>,
    metrics: Arc<Metrics>,
}

impl MeteredBus {
    pub fn new(inner: Arc<dyn Bus>, metrics: Arc<Metrics>) -> Self {
        Self { inner, metrics }
    }

    fn observe<T>(&self, started: Instant, result: &Result<T, BusError>) {
        self.metrics
            .backplane_published(started.elapsed(), result.is_ok());
    }
}

#[async_trait]
impl Bus for MeteredBus {
    fn label(&self) -> &'static str {
        self.inner.label()
    }

    async fn publish(&self, message: Vec<u8>) -> Result<(), BusError> {
        let started = Instant::now();
        let result = self.inner.publish(message).await;
        self.observe(started, &result);
        result
    }

    async fn publish_all(&self, messages: Vec<Vec<u8>>) -> Result<(), BusError> {
        let started = Instant::now();
        let result = self.inner.publish_all(messages).await;
        self.observe(started, &result);
        result
    }

    async fn subscribe(&self) -> Result<mpsc::Receiver<Vec<u8>>, BusError> {
        self.inner.subscribe().await
    }
}
