//! One WebSocket connection: a reader loop, a writer task, and the caller's state.

use super::Outbound;
use super::per_ip::IpSlot;
use super::rate::{FrameAllowance, Verdict};
use crate::access::Viewer;
use crate::actions::{self, Ctx, TurnSlot};
use crate::hub::ConnectionId;
use crate::state::AppState;
use axum::extract::ws::{CloseFrame, Message, WebSocket, close_code};
use futures_util::{SinkExt, StreamExt, stream::SplitSink};
use std::time::Duration;
use switchboard_core::{OrgId, Target};
use switchboard_protocol::{ErrorCode, Event, decode_frame, peek_request_id};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// How long a connection the server closes waits for the client's closing
/// handshake, so the client reads the last events and the close reason before the
/// TCP connection goes.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Per-connection state. Frames are handled one at a time, in order; turns run in
/// their own task so confirmations and cancels on the same socket are still read.
pub struct Connection {
    state: AppState,
    viewer: Viewer,
    turn: TurnSlot,
    /// This connection's place under the per-address cap, given back when it ends.
    _slot: IpSlot,
    /// The client's address, for per-address quotas.
    client_ip: Option<std::net::IpAddr>,
}

/// Why the reader loop stopped.
#[derive(Debug)]
enum Exit {
    /// The client closed the socket or it broke: the running turn goes on for
    /// whoever reopens its conversation, within the resume window.
    ClientGone,
    /// The server is shutting down: let the running turn finish, within a bound.
    Shutdown,
    /// A limit ends the connection: abort the running turn and close with `frame`.
    /// `readable` is false when the read side can no longer be trusted (an
    /// oversized message is still in flight), so no closing handshake is read.
    Refused { frame: CloseFrame, readable: bool },
}

impl Connection {
    /// `client_ip` is the client's address (see [`super::client_ip`]), for per-address
    /// limits inside turns (one-time codes).
    pub fn new(
        state: AppState,
        viewer: Viewer,
        slot: IpSlot,
        client_ip: Option<std::net::IpAddr>,
    ) -> Self {
        Self {
            state,
            viewer,
            turn: TurnSlot::for_client(client_ip),
            _slot: slot,
            client_ip,
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
        let writer = tokio::spawn(write_loop(sink, rx));
        let exit = self.read_loop(&mut stream, &out, connection).await;
        self.turn.stop_watching();
        match &exit {
            Exit::ClientGone => self.turn.detach(
                self.state.config().resume.window,
                self.state.runtime().parking(),
                hub.streams(),
            ),
            Exit::Refused { .. } => self.turn.abort(),
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
        let Ok(Some(mut sink)) = writer.await else {
            return;
        };
        let close = match exit {
            Exit::Refused { frame, readable } => {
                let _ = sink.send(Message::Close(Some(frame))).await;
                closing_handshake(&mut stream, readable, &shutdown).await;
                return;
            }
            Exit::Shutdown => close_code::AWAY,
            Exit::ClientGone => close_code::NORMAL,
        };
        let _ = sink
            .send(Message::Close(Some(CloseFrame {
                code: close,
                reason: "".into(),
            })))
            .await;
    }

    /// Reads and handles frames until the client goes, the server shuts down, or a
    /// limit ends the connection.
    async fn read_loop(
        &mut self,
        stream: &mut futures_util::stream::SplitStream<WebSocket>,
        out: &Outbound,
        connection: ConnectionId,
    ) -> Exit {
        let shutdown = self.state.shutdown_token();
        let mut allowance = self
            .state
            .config()
            .rate_limit
            .map(|limit| FrameAllowance::new(limit, Instant::now().into_std()));
        let idle = self.state.config().idle_timeout;
        let mut heard = Instant::now();
        // Armed lazily: when it fires early (frames came meanwhile) it is pushed on.
        let idle_timer = tokio::time::sleep(idle.unwrap_or(Duration::MAX));
        tokio::pin!(idle_timer);
        loop {
            let turn_live = self.turn.is_busy();
            let frame = tokio::select! {
                biased;
                () = shutdown.cancelled() => return Exit::Shutdown,
                frame = stream.next() => frame,
                // Silence during a turn is the server's to fill: the idle clock starts
                // again when the turn ends.
                () = self.turn.finished(), if turn_live => {
                    heard = Instant::now();
                    continue;
                }
                () = &mut idle_timer, if idle.is_some() && !turn_live => {
                    let idle = idle.unwrap_or_default();
                    let due = heard + idle;
                    if due > Instant::now() {
                        idle_timer.as_mut().reset(due);
                        continue;
                    }
                    return idle_close(idle);
                }
            };
            heard = Instant::now();
            let message = match frame {
                Some(Ok(message)) => message,
                Some(Err(e)) => return self.read_failed(&e, out).await,
                None => return Exit::ClientGone,
            };
            if let Some(allowance) = allowance.as_mut() {
                match admit(allowance, &message, heard, out).await {
                    Gate::Pass => {}
                    Gate::Skip => {
                        self.state
                            .metrics()
                            .refused("SMOOTH_AGENT_RATE_LIMIT_PER_SEC");
                        continue;
                    }
                    Gate::Exit(exit) => return exit,
                }
            }
            let delivered = match message {
                Message::Text(text) => self.on_text(text.as_str(), out, connection).await,
                Message::Binary(_) => out
                    .send(Event::error(
                        None,
                        ErrorCode::ValidationError,
                        "binary frames are not supported; send JSON text frames",
                    ))
                    .await
                    .is_ok(),
                // Control frames are answered by the WebSocket layer.
                Message::Ping(_) | Message::Pong(_) => true,
                Message::Close(_) => return Exit::ClientGone,
            };
            if !delivered {
                return Exit::ClientGone;
            }
        }
    }

    /// A read error: a message over the size limit gets a clear error and a 1009
    /// close, a text message that is not UTF-8 one and a 1007 close (RFC 6455
    /// §8.1); anything else means the client is gone.
    async fn read_failed(&self, e: &axum::Error, out: &Outbound) -> Exit {
        use tungstenite::error::{CapacityError, Error};
        let cause = std::error::Error::source(e).and_then(|s| s.downcast_ref::<Error>());
        let (message, frame) = match cause {
            Some(Error::Capacity(CapacityError::MessageTooLong { size, max_size })) => {
                self.state.metrics().refused("SMOOTH_AGENT_MAX_FRAME_BYTES");
                too_long(*size, *max_size)
            }
            Some(Error::Utf8(_)) => {
                tracing::info!("closing a connection that sent a text frame that is not UTF-8");
                (
                    "invalid text frame: text frames must be valid UTF-8 (RFC 6455); the connection will be closed".to_owned(),
                    CloseFrame {
                        code: close_code::INVALID,
                        reason: "text frame is not valid UTF-8".into(),
                    },
                )
            }
            _ => return Exit::ClientGone,
        };
        let _ = out
            .send(Event::error(None, ErrorCode::ValidationError, message))
            .await;
        // The WebSocket layer reads nothing more after an error: the connection is
        // closed, lingering briefly so the client reads why.
        Exit::Refused {
            frame,
            readable: false,
        }
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
                    client_ip: self.client_ip,
                    turn: &mut self.turn,
                    request_id: None,
                };
                // Boxed: the largest action's state lives on the heap only while
                // a frame is handled, not in every idle connection's future.
                Box::pin(actions::dispatch(&mut ctx, frame)).await;
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

/// What the rate limit lets the reader loop do with a frame.
enum Gate {
    /// Handle it.
    Pass,
    /// It was refused (and answered): read the next one.
    Skip,
    Exit(Exit),
}

/// Takes a data frame's token. A frame over the limit is answered `RATE_LIMITED`,
/// echoing its `requestId` when one can be read without decoding the frame; a
/// client that keeps flooding is disconnected with 1008.
async fn admit(
    allowance: &mut FrameAllowance,
    message: &Message,
    now: Instant,
    out: &Outbound,
) -> Gate {
    let text = match message {
        Message::Text(text) => text.as_str(),
        Message::Binary(_) => "",
        // Control frames are the WebSocket layer's, and cost nothing here.
        Message::Ping(_) | Message::Pong(_) | Message::Close(_) => return Gate::Pass,
    };
    let limit = allowance.limit();
    let first = match allowance.check(now.into_std()) {
        Verdict::Allow => return Gate::Pass,
        Verdict::Refuse { first } => first,
        Verdict::Close => {
            tracing::warn!(
                limit = "SMOOTH_AGENT_RATE_LIMIT_PER_SEC",
                per_sec = limit.per_sec,
                burst = limit.burst,
                "closing a connection that kept sending over its rate limit"
            );
            return Gate::Exit(Exit::Refused {
                frame: CloseFrame {
                    code: close_code::POLICY,
                    reason: "rate limit exceeded: too many frames refused".into(),
                },
                readable: true,
            });
        }
    };
    if first {
        tracing::warn!(
            limit = "SMOOTH_AGENT_RATE_LIMIT_PER_SEC",
            per_sec = limit.per_sec,
            burst = limit.burst,
            "refusing frames over the rate limit"
        );
    }
    let refusal = Event::error(
        peek_request_id(text),
        ErrorCode::RateLimited,
        format!(
            "rate limit exceeded: at most {} frames a second (bursts of {}); this frame was not processed, send it again later",
            limit.per_sec, limit.burst
        ),
    );
    match out.send(refusal).await {
        Ok(()) => Gate::Skip,
        Err(_) => Gate::Exit(Exit::ClientGone),
    }
}

/// Closes a connection that sent nothing for `idle` (1000, with the reason).
fn idle_close(idle: Duration) -> Exit {
    tracing::info!(
        limit = "SMOOTH_AGENT_IDLE_TIMEOUT_SECS",
        secs = idle.as_secs(),
        "closing an idle connection"
    );
    Exit::Refused {
        frame: CloseFrame {
            code: close_code::NORMAL,
            reason: format!("idle timeout: nothing received for {} s", idle.as_secs()).into(),
        },
        readable: true,
    }
}

/// The error and the 1009 close for a message of `size` bytes over `limit`. The rest
/// of it is still on its way and the WebSocket layer cannot skip it, so the
/// connection cannot go on reading.
fn too_long(size: usize, limit: usize) -> (String, CloseFrame) {
    tracing::warn!(
        limit = "SMOOTH_AGENT_MAX_FRAME_BYTES",
        max = limit,
        size,
        "closing a connection that sent a message over the size limit"
    );
    (
        format!(
            "message too large: {size} bytes is over this server's limit of {limit} bytes; the connection will be closed"
        ),
        CloseFrame {
            code: close_code::SIZE,
            reason: format!("message too large: limit is {limit} bytes").into(),
        },
    )
}

/// After the server's close frame: waits (briefly) for the client's, so the client
/// reads what was sent before the connection drops. With an unreadable read side it
/// only lingers for the same grace.
async fn closing_handshake(
    stream: &mut futures_util::stream::SplitStream<WebSocket>,
    readable: bool,
    shutdown: &tokio_util::sync::CancellationToken,
) {
    let wait = async {
        if readable {
            while let Some(Ok(message)) = stream.next().await {
                if matches!(message, Message::Close(_)) {
                    return;
                }
            }
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        _ = tokio::time::timeout(CLOSE_GRACE, wait) => {}
        () = shutdown.cancelled() => {}
    }
}

/// Writes queued events in order until every sender is gone, then hands the sink
/// back for the close frame. `None` when the client stopped taking frames.
async fn write_loop(
    mut sink: SplitSink<WebSocket, Message>,
    mut rx: mpsc::Receiver<String>,
) -> Option<SplitSink<WebSocket, Message>> {
    while let Some(frame) = rx.recv().await {
        if sink.send(Message::Text(frame.into())).await.is_err() {
            return None;
        }
    }
    Some(sink)
}
