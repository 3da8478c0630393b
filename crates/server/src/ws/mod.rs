//! The `/ws` endpoint: upgrade, then one [`Connection`] per socket.

mod connection;
mod outbound;

pub use connection::Connection;
pub use outbound::{Closed, Outbound};

use crate::state::AppState;
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// `GET /ws`: upgrades to a WebSocket speaking the smooth-operator protocol.
pub async fn upgrade(State(state): State<AppState>, ws: WebSocketUpgrade) -> Response {
    if state.shutdown_token().is_cancelled() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response();
    }
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
            connections.track_future(Connection::new(state).run(socket))
        })
}
