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
pub mod hub;
pub mod knowledge;
pub mod quota;
mod shutdown;
pub mod state;
mod sweeper;
pub mod web;
pub mod widget;
pub mod ws;

pub use config::Config;
pub use shutdown::shutdown_signal;
pub use state::{AppState, StartupError};

use axum::Router;
use axum::routing::get;
use axum::serve::ListenerExt;
use std::future::Future;
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// The HTTP routes: the WebSocket endpoint, the health probe and the admin API.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/ws", get(ws::upgrade))
        .route("/health", get(health))
        .nest("/admin", admin::router(state.clone()))
        .merge(web::router())
        .with_state(state)
}

/// `GET /health`: the process is up. Touches no store and no LLM.
async fn health() -> &'static str {
    "ok"
}

/// Serves until `shutdown` resolves, then stops accepting, lets running turns finish
/// within the configured drain time, closes every socket, and returns.
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
    // Small frames must not wait for Nagle's algorithm (~40 ms per event otherwise).
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!(error = %e, "could not set TCP_NODELAY");
        }
    });
    // The peer address feeds the per-address connection cap.
    let service = app(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(token.cancelled_owned())
        .await?;
    state.drain_connections().await;
    Ok(())
}
