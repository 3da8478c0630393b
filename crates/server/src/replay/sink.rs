//! Where a resumable turn's events go: its stream (for replay and other sockets),
//! the backplane (for the other replicas) and the socket that started it.

use super::{Stream, TurnBody, TurnKey, TurnMessage};
use crate::hub::Hub;
use crate::ws::Outbound;
use std::sync::{Arc, Mutex};
use switchboard_agent::turn::{EventSink, SinkClosed};
use switchboard_protocol::{ErrorCode, Event};

/// How long a turn waits for room in its starting socket's full queue before it
/// stops sending to that socket and goes on for the others. A phone that lost its
/// network without closing the connection stops reading; the server may not learn
/// it is gone for minutes, and its turn must not stall meanwhile. The socket, if
/// alive after all, catches up by reopening the conversation.
pub const ORIGIN_STALL: std::time::Duration = std::time::Duration::from_secs(10);

/// A turn's [`EventSink`] that outlives its socket.
pub struct StreamSink {
    stream: Arc<Stream>,
    hub: Arc<Hub>,
    /// The socket that started the turn, until it goes.
    origin: Mutex<Option<Outbound>>,
    /// One event at a time, from numbering to delivery, so the starting socket and
    /// the backplane see the stream's order even when a cancel emits from another
    /// task.
    order: tokio::sync::Mutex<()>,
}

impl StreamSink {
    pub fn new(stream: Arc<Stream>, hub: Arc<Hub>, origin: Outbound) -> Arc<Self> {
        Arc::new(Self {
            stream,
            hub,
            origin: Mutex::new(Some(origin)),
            order: tokio::sync::Mutex::new(()),
        })
    }

    pub fn key(&self) -> &TurnKey {
        &self.stream.key
    }

    /// Numbers `event`, keeps it, sends it to the starting socket (waiting for room,
    /// as a turn always did) and to the other replicas. Refused once the stream is
    /// over: a turn whose end was claimed by a cancel stops here.
    pub async fn emit(&self, event: Event) -> Result<(), SinkClosed> {
        let _order = self.order.lock().await;
        let frame = event.to_json();
        let terminal = is_terminal(&event);
        let seq = self.stream.push(&frame, terminal).ok_or(SinkClosed)?;
        let origin = self.lock_origin().clone();
        if let Some(out) = origin {
            match tokio::time::timeout(ORIGIN_STALL, out.send_frame(frame.clone())).await {
                Ok(Ok(())) => {}
                // The client went; the turn goes on for whoever reopens it.
                Ok(Err(_)) => self.forget_origin(),
                Err(_) => {
                    tracing::warn!(
                        request_id = %self.stream.key.request_id,
                        "a client took no event for {ORIGIN_STALL:?}; its turn goes on without it"
                    );
                    self.forget_origin();
                }
            }
        }
        self.publish(seq, TurnBody::Event { frame, terminal }).await;
        if terminal {
            self.hub.streams().forget(self.stream.key.stream);
        }
        Ok(())
    }

    /// Ends the stream without a terminal event (its task stopped), if it is not
    /// over yet, and forgets it.
    pub async fn end(&self) {
        let _order = self.order.lock().await;
        if let Some(seq) = self.stream.end() {
            self.publish(seq, TurnBody::End).await;
        }
        self.hub.streams().forget(self.stream.key.stream);
    }

    /// The starting socket is gone: stop sending to it (and holding its queue open).
    pub fn forget_origin(&self) {
        *self.lock_origin() = None;
    }

    async fn publish(&self, seq: u64, body: TurnBody) {
        let message = TurnMessage {
            key: self.stream.key.clone(),
            seq,
            body,
        };
        if let Err(error) = self.hub.publish_turn(message).await {
            // The other replicas see a gap and say the turn cannot be replayed.
            tracing::warn!(%error, "a turn event was not sent to the other replicas");
        }
    }

    fn lock_origin(&self) -> std::sync::MutexGuard<'_, Option<Outbound>> {
        self.origin.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait::async_trait]
impl EventSink for StreamSink {
    async fn send(&self, event: Event) -> Result<(), SinkClosed> {
        self.emit(event).await
    }
}

/// Whether `event` ends its turn: the reply, a cancel, or an error (except a
/// one-time code that could not be sent, after which the turn goes on).
pub fn is_terminal(event: &Event) -> bool {
    match event {
        Event::EventualResponse(_) | Event::Cancelled(_) => true,
        Event::Error(e) => e.error.code != ErrorCode::OtpSendFailed,
        _ => false,
    }
}
