//! A connection's bounded outbound queue.

use switchboard_protocol::Event;
use tokio::sync::mpsc;

/// Sends events to one client, in order. The queue is bounded: when a client reads
/// slowly, senders wait instead of growing server memory. It holds serialized
/// frames, so an idle connection's queue costs little and an event is serialized
/// once, by its sender.
#[derive(Clone)]
pub struct Outbound {
    tx: mpsc::Sender<String>,
}

/// The client's socket is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the connection is closed")]
pub struct Closed;

impl Outbound {
    pub fn channel(capacity: usize) -> (Self, mpsc::Receiver<String>) {
        let (tx, rx) = mpsc::channel(capacity);
        (Self { tx }, rx)
    }

    pub async fn send(&self, event: Event) -> Result<(), Closed> {
        self.tx.send(event.to_json()).await.map_err(|_| Closed)
    }

    /// Queues an already serialized frame, waiting for room: a turn's events,
    /// serialized once for every socket that receives them.
    pub async fn send_frame(&self, frame: String) -> Result<(), Closed> {
        self.tx.send(frame).await.map_err(|_| Closed)
    }

    /// Queues an already serialized frame if there is room, never waiting: for
    /// published events, which must not let one slow client hold up the others.
    pub fn try_send_frame(&self, frame: String) -> Result<(), Closed> {
        self.tx.try_send(frame).map_err(|_| Closed)
    }

    /// Whether the socket behind this queue has gone away.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

#[async_trait::async_trait]
impl switchboard_agent::turn::EventSink for Outbound {
    async fn send(&self, event: Event) -> Result<(), switchboard_agent::turn::SinkClosed> {
        Outbound::send(self, event)
            .await
            .map_err(|_| switchboard_agent::turn::SinkClosed)
    }
}
