//! The `/ws` endpoint: upgrade, then one [`Connection`] per socket.

mod connection;
mod outbound;

pub use connection::Connection;
pub use outbound::{Closed, Outbound};

use crate::access::Viewer;
use crate::state::AppState;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

/// The query string of the upgrade request.
#[derive(Deserialize)]
pub struct UpgradeQuery {
    /// The caller's token: a missing or bad one makes the connection anonymous.
    token: Option<String>,
}

/// `GET /ws`: upgrades to a WebSocket speaking the smooth-operator protocol.
pub async fn upgrade(
    State(state): State<AppState>,
    Query(query): Query<UpgradeQuery>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if state.shutdown_token().is_cancelled() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response();
    }
    let principal = state.auth().connection(query.token.as_deref());
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let viewer = Viewer::new(principal, origin);
    let limit = state.config().max_frame_bytes;
    // Protocol frames are small: a 4 KiB read buffer (tungstenite's default is
    // 128 KiB) keeps an idle connection cheap, and writing each event eagerly keeps
    // latency low. Both grow on demand up to `limit`.
    ws.max_message_size(limit)
        .max_frame_size(limit)
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .on_upgrade(move |socket| {
            let connections = state.connections().clone();
            connections.track_future(Connection::new(state, viewer).run(socket))
        })
}
