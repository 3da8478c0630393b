//! The `/ws` endpoint: upgrade, then one [`Connection`] per socket.

mod connection;
mod outbound;
mod per_ip;
mod rate;

pub use connection::Connection;
pub use outbound::{Closed, Outbound};
pub use per_ip::{AtCapacity, IpSlot, PerIpSlots, client_ip};

use crate::AcceptedSlot;
use crate::access::Viewer;
use crate::state::AppState;
use axum::Extension;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::net::SocketAddr;

/// The query string of the upgrade request.
#[derive(Deserialize)]
pub struct UpgradeQuery {
    /// The caller's token: a missing or bad one makes the connection anonymous.
    token: Option<String>,
}

/// `GET /ws`: upgrades to a WebSocket speaking the smooth-operator protocol.
///
/// The peer address comes from `ConnectInfo` and the connection's place under the
/// per-address cap from [`AcceptedSlot`] (see [`crate::serve`]); a router served
/// without them counts the address here, or cannot when it is unknown.
pub async fn upgrade(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    accepted: Option<Extension<AcceptedSlot>>,
    Query(query): Query<UpgradeQuery>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if state.shutdown_token().is_cancelled() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response();
    }
    let ip = client_ip(
        peer.map(|Extension(ConnectInfo(addr))| addr),
        &headers,
        state.config().trust_forwarded_for,
    );
    // Counted at accept (see `crate::listener`) unless the address came from
    // `X-Forwarded-For`; moved into the connection: an upgrade that never completes
    // drops it, and so does a connection however it ends.
    let accepted = accepted.and_then(|Extension(slot)| slot.take());
    let slot = match accepted.map_or_else(|| state.ip_slots().acquire(ip), Ok) {
        Ok(slot) => slot,
        Err(AtCapacity { max }) => {
            state
                .metrics()
                .refused("SMOOTH_AGENT_MAX_CONNECTIONS_PER_IP");
            tracing::warn!(
                limit = "SMOOTH_AGENT_MAX_CONNECTIONS_PER_IP",
                max,
                ip = ?ip,
                "refusing a WebSocket upgrade: too many connections from this address"
            );
            return (
                StatusCode::TOO_MANY_REQUESTS,
                format!("too many connections from this address (at most {max})"),
            )
                .into_response();
        }
    };
    let principal = state.auth().connection(query.token.as_deref()).await;
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
            let open = state.metrics().connection_opened();
            let connection = Connection::new(state, viewer, slot, ip).run(socket);
            connections.track_future(async move {
                connection.await;
                drop(open);
            })
        })
}
