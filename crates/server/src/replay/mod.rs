//! Resumable turns: a turn outlives its client's socket for a while, and whoever
//! reopens its conversation, on any replica, is sent its events from the first.
//!
//! The replica running a turn numbers its events (`seq` from 0), keeps them in a
//! capped [`Stream`] and publishes each on the backplane; every other replica keeps
//! its own copy from what it hears. A socket that reopens the conversation gets a
//! watcher that reads the buffer from seq 0 and then waits for more: reading and
//! delivering are one loop over one ordered buffer, so nothing is sent twice or
//! skipped, however the reopening races the turn. A stream that is over its cap, or
//! missed an event between replicas, is "unreplayable": a watcher says so
//! (`REPLAY_UNAVAILABLE`) instead of sending a stream with a hole.

mod sink;
mod stream;

pub use sink::{ORIGIN_STALL, StreamSink};
pub use stream::{Cap, Status, Stream, TurnKey};

use crate::hub::ConnectionId;
use crate::ws::Outbound;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use switchboard_agent::turn::TerminalClaim;
use switchboard_core::{ConversationId, OrgId, SessionId, Store};
use switchboard_protocol::{ErrorCode, Event};
use tokio::task::AbortHandle;
use uuid::Uuid;

/// The most turns one replica keeps replayable at once; later ones, until some end,
/// are unreplayable from the start. With the default caps this bounds the buffers
/// at 512 × 512 KiB = 256 MiB per replica.
pub const MAX_REPLAYABLE_TURNS: usize = 512;
/// The most turns one client address may leave running without their socket on
/// one replica; beyond it a disconnect aborts the turn, as it used to. So a client
/// cannot multiply the model's work by sending and hanging up.
pub const MAX_DETACHED_PER_ADDRESS: usize = 16;
/// The most turns running without their socket on one replica.
pub const MAX_DETACHED: usize = 1024;
/// How often streams heard of but gone silent are looked for.
const SWEEP_EVERY: Duration = Duration::from_secs(5);

/// How resumable turns are bounded (`SMOOTH_AGENT_RESUME_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResumeConfig {
    /// How long a turn runs on after its client's socket closes; `None` (0) turns
    /// resumable turns off: a disconnect aborts the turn, as it used to.
    pub window: Option<Duration>,
    pub cap: Cap,
}

/// What travels on the backplane for a turn.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TurnMessage {
    pub key: TurnKey,
    pub seq: u64,
    pub body: TurnBody,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TurnBody {
    /// Event `seq` of the turn, as its JSON frame.
    Event { frame: String, terminal: bool },
    /// The turn stopped without a terminal event.
    End,
}

/// A request, to whichever replica runs it, to cancel a conversation's turn.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelTurn {
    pub org: OrgId,
    pub conversation: ConversationId,
}

/// A turn running on this replica, as a cancel from any socket reaches it.
#[derive(Clone)]
pub struct LocalTurn {
    pub session: SessionId,
    pub origin: ConnectionId,
    pub claim: TerminalClaim,
    pub abort: AbortHandle,
    pub sink: Arc<StreamSink>,
}

/// A socket watching a stream, as its connection keeps it.
pub struct Watching {
    pub stream: Uuid,
    pub org: OrgId,
    pub conversation: ConversationId,
    pub task: AbortHandle,
}

/// This replica's streams (its own turns' and the ones it heard of) and its own
/// running turns.
pub struct TurnStreams {
    config: ResumeConfig,
    /// A stream heard of that says nothing for this long is dropped (its replica
    /// died, or its end was lost).
    stale_after: Duration,
    store: Arc<dyn Store>,
    inner: Mutex<Inner>,
}

struct Inner {
    streams: HashMap<Uuid, Arc<Stream>>,
    local: HashMap<Uuid, LocalTurn>,
    swept: Instant,
    /// Turns running without their socket, by client address (`None`: unknown).
    detached: HashMap<Option<IpAddr>, usize>,
}

/// A place among the turns running without their socket, given back on drop.
pub struct DetachedSlot {
    streams: Arc<TurnStreams>,
    client: Option<IpAddr>,
}

impl Drop for DetachedSlot {
    fn drop(&mut self) {
        let mut inner = self.streams.lock();
        if let Some(count) = inner.detached.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                inner.detached.remove(&self.client);
            }
        }
    }
}

impl TurnStreams {
    /// `stale_after` should exceed the longest a turn can stay silent (its
    /// timeout plus a park's).
    pub fn new(config: ResumeConfig, stale_after: Duration, store: Arc<dyn Store>) -> Arc<Self> {
        Arc::new(Self {
            config,
            stale_after,
            store,
            inner: Mutex::new(Inner {
                streams: HashMap::new(),
                local: HashMap::new(),
                swept: Instant::now(),
                detached: HashMap::new(),
            }),
        })
    }

    pub fn config(&self) -> ResumeConfig {
        self.config
    }

    /// A new stream for a turn of this replica.
    pub fn open(&self, key: TurnKey) -> Arc<Stream> {
        let mut inner = self.lock();
        inner.sweep(self.stale_after);
        let replayable = inner.replayable_count() < MAX_REPLAYABLE_TURNS;
        let stream = Stream::new(key, self.config.cap, replayable);
        inner.streams.insert(stream.key.stream, stream.clone());
        stream
    }

    /// A place for a turn of `client` to run on without its socket, unless that
    /// address (or this replica) has [`MAX_DETACHED_PER_ADDRESS`] ([`MAX_DETACHED`])
    /// already.
    pub fn hold_detached(self: &Arc<Self>, client: Option<IpAddr>) -> Option<DetachedSlot> {
        let mut inner = self.lock();
        let total: usize = inner.detached.values().sum();
        let mine = inner.detached.get(&client).copied().unwrap_or(0);
        if total >= MAX_DETACHED || mine >= MAX_DETACHED_PER_ADDRESS {
            tracing::warn!(client = ?client, mine, total, "too many turns running without their client; this one is aborted");
            return None;
        }
        *inner.detached.entry(client).or_default() += 1;
        Some(DetachedSlot {
            streams: self.clone(),
            client,
        })
    }

    /// Notes a running turn of this replica, so a cancel from any socket stops it.
    pub fn run(&self, stream: Uuid, turn: LocalTurn) {
        self.lock().local.insert(stream, turn);
    }

    /// Forgets a stream that is over, and its turn.
    pub fn forget(&self, stream: Uuid) {
        let mut inner = self.lock();
        inner.streams.remove(&stream);
        inner.local.remove(&stream);
    }

    /// Applies what another replica said of its turn.
    pub fn apply_remote(&self, message: TurnMessage) {
        let id = message.key.stream;
        let mut inner = self.lock();
        match message.body {
            TurnBody::Event { frame, terminal } => {
                let stream = match inner.streams.get(&id) {
                    Some(stream) => stream.clone(),
                    None => {
                        inner.sweep(self.stale_after);
                        // Heard from its start, it can be replayed here.
                        let replayable =
                            message.seq == 0 && inner.replayable_count() < MAX_REPLAYABLE_TURNS;
                        let stream = Stream::new(message.key, self.config.cap, replayable);
                        inner.streams.insert(id, stream.clone());
                        stream
                    }
                };
                stream.apply(message.seq, &frame, terminal);
                if terminal {
                    inner.streams.remove(&id);
                }
            }
            TurnBody::End => {
                if let Some(stream) = inner.streams.remove(&id) {
                    stream.end();
                }
            }
        }
    }

    /// Starts sending `out` the streams of conversation `conversation` (in `org`)
    /// it is not watching yet, from their first event; a socket never watches its
    /// own turn. The caller has checked the socket may read the conversation.
    pub fn attach(
        &self,
        connection: ConnectionId,
        out: &Outbound,
        org: &OrgId,
        conversation: ConversationId,
        skip: impl Fn(Uuid) -> bool,
    ) -> Vec<(Watching, String)> {
        let streams: Vec<Arc<Stream>> = {
            let mut inner = self.lock();
            inner.sweep(self.stale_after);
            let own = |id: &Uuid| inner.local.get(id).is_some_and(|t| t.origin == connection);
            inner
                .streams
                .values()
                .filter(|s| &s.key.org == org && s.key.conversation == conversation)
                .filter(|s| !own(&s.key.stream) && !skip(s.key.stream))
                .cloned()
                .collect()
        };
        streams
            .into_iter()
            .map(|stream| {
                let watching = Watching {
                    stream: stream.key.stream,
                    org: org.clone(),
                    conversation,
                    task: tokio::spawn(watch(stream.clone(), out.clone())).abort_handle(),
                };
                (watching, stream.key.request_id.clone())
            })
            .collect()
    }

    /// Cancels this replica's running turns of `conversation`: each ends with
    /// `cancelled`, sent to every socket of its stream.
    pub fn cancel(&self, org: &OrgId, conversation: ConversationId) {
        let turns: Vec<LocalTurn> = self
            .lock()
            .local
            .values()
            .filter(|t| &t.sink.key().org == org && t.sink.key().conversation == conversation)
            .filter(|t| t.claim.claim())
            .cloned()
            .collect();
        for turn in turns {
            let store = self.store.clone();
            tokio::spawn(async move {
                turn.abort.abort();
                turn.claim.release();
                if let Err(e) = store.take_parked_turn(turn.session, None).await {
                    tracing::error!(error = %e, "could not forget a cancelled turn's park");
                }
                let request_id = turn.sink.key().request_id.clone();
                let _ = turn.sink.emit(Event::cancelled(Some(request_id))).await;
                turn.sink.end().await;
            });
        }
    }

    /// How many streams this replica holds, and their buffered bytes.
    pub fn usage(&self) -> (usize, usize) {
        let inner = self.lock();
        let bytes = inner.streams.values().map(|s| s.bytes()).sum();
        (inner.streams.len(), bytes)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Inner {
    fn replayable_count(&self) -> usize {
        self.streams
            .values()
            .filter(|s| s.status() == Status::Open)
            .count()
    }

    /// Drops streams heard of that went silent; this replica's own turns end
    /// their streams themselves.
    fn sweep(&mut self, stale_after: Duration) {
        let now = Instant::now();
        if now.duration_since(self.swept) < SWEEP_EVERY {
            return;
        }
        self.swept = now;
        let Some(before) = now.checked_sub(stale_after) else {
            return;
        };
        let local = &self.local;
        self.streams
            .retain(|id, stream| local.contains_key(id) || !stream.is_done_or_silent_since(before));
    }
}

/// Sends `out` a stream's events from the first, then each as it comes, until its
/// end; an unreplayable stream gets the notice instead.
async fn watch(stream: Arc<Stream>, out: Outbound) {
    let mut changed = stream.watch();
    let mut next = 0u64;
    loop {
        changed.borrow_and_update();
        let read = stream.read_from(next);
        if read.status == Status::Unreplayable {
            let _ = out.send(unreplayable(&stream.key.request_id)).await;
            return;
        }
        for frame in read.frames {
            if out.send_frame(frame.to_string()).await.is_err() {
                return;
            }
            next += 1;
        }
        if read.status != Status::Open || changed.changed().await.is_err() {
            return;
        }
    }
}

/// The notice that a turn's stream cannot be replayed.
pub fn unreplayable(request_id: &str) -> Event {
    Event::error(
        Some(request_id.to_owned()),
        ErrorCode::ReplayUnavailable,
        "This reply is too long to replay here. It is still being written: read it with get_conversation_messages once it is done.",
    )
}

#[cfg(test)]
pub(crate) mod tests;
