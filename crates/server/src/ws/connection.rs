//! One WebSocket connection: a reader loop, a writer task, and the caller's state.

use super::Outbound;
use crate::access::Viewer;
use crate::actions::{self, Ctx, TurnSlot};
use crate::hub::ConnectionId;
use crate::state::AppState;
use axum::extract::ws::{CloseFrame, Message, WebSocket, close_code};
use futures_util::{SinkExt, StreamExt, stream::SplitSink};
use switchboard_core::{OrgId, Target};
use switchboard_protocol::{ErrorCode, Event, decode_frame};
use tokio::sync::mpsc;

/// Per-connection state. Frames are handled one at a time, in order; turns run in
/// their own task so confirmations and cancels on the same socket are still read.
pub struct Connection {
    state: AppState,
    viewer: Viewer,
    turn: TurnSlot,
}

/// Why the reader loop stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exit {
    /// The client closed the socket or it broke: abort the running turn.
    ClientGone,
    /// The server is shutting down: let the running turn finish, within a bound.
    Shutdown,
}

impl Connection {
    pub fn new(state: AppState, viewer: Viewer) -> Self {
        Self {
            state,
            viewer,
            turn: TurnSlot::default(),
        }
    }

    pub async fn run(mut self, socket: WebSocket) {
        let (sink, mut stream) = socket.split();
        let (out, rx) = Outbound::channel(self.state.config().outbound_queue);
        let hub = self.state.hub().clone();
        let connection = hub.attach(out.clone());
        if let Some(principal) = self.viewer.principal() {
            hub.associate(connection, Target::User(principal.user_id.clone()));
            hub.join_org(connection, &OrgId::new(principal.org_id.clone()));
        }
        let shutdown = self.state.shutdown_token();
        let writer = tokio::spawn(write_loop(sink, rx, shutdown.clone()));
        let exit = loop {
            let frame = tokio::select! {
                biased;
                () = shutdown.cancelled() => break Exit::Shutdown,
                frame = stream.next() => frame,
            };
            let delivered = match frame {
                Some(Ok(Message::Text(text))) => {
                    self.on_text(text.as_str(), &out, connection).await
                }
                Some(Ok(Message::Binary(_))) => out
                    .send(Event::error(
                        None,
                        ErrorCode::ValidationError,
                        "binary frames are not supported; send JSON text frames",
                    ))
                    .await
                    .is_ok(),
                // Control frames are answered by the WebSocket layer.
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => true,
                Some(Ok(Message::Close(_)) | Err(_)) | None => break Exit::ClientGone,
            };
            if !delivered {
                break Exit::ClientGone;
            }
        };
        match exit {
            Exit::ClientGone => {
                self.turn.abort();
            }
            Exit::Shutdown => {
                let parking = self.state.runtime().parking().clone();
                let limit = self.state.config().drain_timeout;
                self.turn
                    .drain(limit, |session| parking.is_parked(session))
                    .await
            }
        }
        hub.detach(connection);
        drop(out);
        let _ = writer.await;
    }

    /// Decodes and handles one text frame. Returns `false` when the client is gone.
    async fn on_text(&mut self, text: &str, out: &Outbound, connection: ConnectionId) -> bool {
        match decode_frame(text) {
            Ok(frame) => {
                let mut ctx = Ctx {
                    state: &self.state,
                    viewer: &mut self.viewer,
                    out,
                    connection,
                    turn: &mut self.turn,
                    request_id: None,
                };
                actions::dispatch(&mut ctx, frame).await;
            }
            Err(e) => {
                let _ = out
                    .send(Event::error(e.request_id, e.code, e.message))
                    .await;
            }
        }
        !out.is_closed()
    }
}

/// Writes queued events in order until every sender is gone, then closes the socket:
/// "going away" when the server is shutting down, a normal close otherwise.
async fn write_loop(
    mut sink: SplitSink<WebSocket, Message>,
    mut rx: mpsc::Receiver<String>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    while let Some(frame) = rx.recv().await {
        if sink.send(Message::Text(frame.into())).await.is_err() {
            return;
        }
    }
    let code = if shutdown.is_cancelled() {
        close_code::AWAY
    } else {
        close_code::NORMAL
    };
    let _ = sink
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: "".into(),
        })))
        .await;
}
