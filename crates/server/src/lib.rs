//! The Switchboard server: an axum app serving the smooth-operator WebSocket protocol.
//!
//! [`app`] builds the router and [`serve`] runs it until a shutdown signal, so tests
//! boot the real server on port 0 exactly as `main` does.

pub mod access;
pub mod actions;
pub mod admin;
pub mod auth;
pub mod cli;
pub mod config;
pub mod handoff;
pub mod hub;
pub mod indexing;
pub mod knowledge;
mod listener;
pub mod mcp;
pub mod quota;
pub mod replay;
mod shutdown;
pub mod state;
mod sweeper;
pub mod telemetry;
pub mod web;
pub mod widget;
pub mod ws;

pub use config::Config;
pub use listener::AcceptedSlot;
pub use shutdown::shutdown_signal;
pub use state::{AppState, StartupError};

use axum::Router;
use axum::routing::get;
use std::future::Future;
use tokio::net::TcpListener;

/// The HTTP routes: the WebSocket endpoint, the health and readiness probes, the
/// metrics (unless `SMOOTH_AGENT_METRICS_ADDR` moves them), the admin API and the
/// MCP endpoint.
pub fn app(state: AppState) -> Router {
    let mut router = Router::new()
        .route("/ws", get(ws::upgrade))
        .route("/health", get(health))
        .route("/ready", get(telemetry::ready));
    if state.config().telemetry.metrics_addr.is_none() {
        router = router.route("/metrics", get(telemetry::metrics));
    }
    router
        .nest("/admin", admin::router(state.clone()))
        .merge(mcp::router(state.clone()))
        .merge(web::router())
        .with_state(state)
}

/// `GET /health`: the process is up (liveness). Touches no store and no LLM; see
/// `/ready` for readiness.
async fn health() -> &'static str {
    "ok"
}

/// Serves until `shutdown` resolves, then stops accepting, lets running turns and
/// requests finish within the configured drain time, closes every socket, and
/// returns: half-sent requests and slow clients cannot hold it up for longer.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let token = state.shutdown_token();
    tokio::spawn({
        let token = token.clone();
        async move {
            shutdown.await;
            token.cancel();
        }
    });
    // HTTP connections and WebSockets drain at the same time, each within the bound.
    let http = listener::run(listener, state.clone());
    let websockets = async {
        token.cancelled().await;
        state.drain_connections().await;
    };
    tokio::join!(http, websockets);
    state.indexer().stop().await;
    Ok(())
}
