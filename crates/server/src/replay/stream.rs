//! One turn's events as this replica knows them: numbered, kept in order up to a
//! cap, and watched by the sockets that reopened its conversation.

use std::sync::{Arc, Mutex};
use std::time::Instant;
use switchboard_core::{ConversationId, OrgId};
use tokio::sync::watch;
use uuid::Uuid;

/// The most a turn's buffer holds (see `SMOOTH_AGENT_RESUME_BUFFER_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cap {
    pub bytes: usize,
    pub events: usize,
}

/// Which turn a stream carries.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TurnKey {
    /// The stream's own id: a resumed parked turn is a new stream.
    pub stream: Uuid,
    pub org: OrgId,
    pub conversation: ConversationId,
    pub request_id: String,
}

/// Where a stream stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Events may still come.
    Open,
    /// Its terminal event is in the buffer: nothing follows.
    Finished,
    /// It stopped without a terminal event here (its task was stopped, or it
    /// waits on a stored park that `get_session` shows).
    Ended,
    /// Not every event is kept (the cap was passed, or one was lost between
    /// replicas): it cannot be replayed.
    Unreplayable,
}

/// A stream: its key, its buffer, and a signal for its watchers.
pub struct Stream {
    pub key: TurnKey,
    buffer: Mutex<Buffer>,
    changed: watch::Sender<()>,
}

struct Buffer {
    /// The frames from seq 0, in order, while the stream is replayable.
    frames: Vec<Arc<str>>,
    bytes: usize,
    next_seq: u64,
    status: Status,
    touched: Instant,
    cap: Cap,
}

/// What [`Stream::read_from`] found.
pub struct Read {
    pub frames: Vec<Arc<str>>,
    pub status: Status,
}

impl Stream {
    /// A stream that starts at `seq` 0 with nothing in it yet; `replayable` false
    /// for one that cannot hold its events (this replica keeps too many already).
    pub fn new(key: TurnKey, cap: Cap, replayable: bool) -> Arc<Self> {
        Arc::new(Self {
            key,
            buffer: Mutex::new(Buffer {
                frames: Vec::new(),
                bytes: 0,
                next_seq: 0,
                status: if replayable {
                    Status::Open
                } else {
                    Status::Unreplayable
                },
                touched: Instant::now(),
                cap,
            }),
            changed: watch::channel(()).0,
        })
    }

    /// Numbers and keeps the next event of this replica's own turn. `None` once the
    /// stream is over (finished or ended): the event is not the turn's any more.
    pub fn push(&self, frame: &str, terminal: bool) -> Option<u64> {
        let mut buffer = self.lock();
        if matches!(buffer.status, Status::Finished | Status::Ended) {
            return None;
        }
        let seq = buffer.next_seq;
        buffer.take(seq, frame, terminal);
        drop(buffer);
        self.changed.send_replace(());
        Some(seq)
    }

    /// Applies event `seq` heard from the turn's replica. A gap makes the stream
    /// unreplayable; a repeat is ignored.
    pub fn apply(&self, seq: u64, frame: &str, terminal: bool) {
        let mut buffer = self.lock();
        if matches!(buffer.status, Status::Finished | Status::Ended) || seq < buffer.next_seq {
            return;
        }
        if seq > buffer.next_seq {
            tracing::warn!(stream = %self.key.stream, seq, expected = buffer.next_seq, "turn events were lost between replicas; that turn cannot be replayed here");
            buffer.unreplayable();
        }
        buffer.take(seq, frame, terminal);
        drop(buffer);
        self.changed.send_replace(());
    }

    /// The stream stops without a terminal event. Returns the seq it would have
    /// given the next event, or `None` when it was over already.
    pub fn end(&self) -> Option<u64> {
        let mut buffer = self.lock();
        if matches!(buffer.status, Status::Finished | Status::Ended) {
            return None;
        }
        buffer.status = Status::Ended;
        buffer.frames = Vec::new();
        buffer.bytes = 0;
        let seq = buffer.next_seq;
        drop(buffer);
        self.changed.send_replace(());
        Some(seq)
    }

    /// The frames from `seq` on that the buffer holds, and where the stream stands.
    pub fn read_from(&self, seq: u64) -> Read {
        let buffer = self.lock();
        let start = usize::try_from(seq).unwrap_or(usize::MAX);
        Read {
            frames: buffer.frames.get(start..).unwrap_or_default().to_vec(),
            status: buffer.status,
        }
    }

    pub fn status(&self) -> Status {
        self.lock().status
    }

    /// Whether it is over, or heard nothing since `before`.
    pub fn is_done_or_silent_since(&self, before: Instant) -> bool {
        let buffer = self.lock();
        matches!(buffer.status, Status::Finished | Status::Ended) || buffer.touched < before
    }

    /// Bytes the buffer holds now.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    pub fn watch(&self) -> watch::Receiver<()> {
        self.changed.subscribe()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Buffer> {
        self.buffer.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Buffer {
    fn take(&mut self, seq: u64, frame: &str, terminal: bool) {
        self.next_seq = seq + 1;
        self.touched = Instant::now();
        if terminal {
            if self.status == Status::Open {
                // The terminal event is kept even past the cap: a watcher that has
                // the rest must learn how the turn ended.
                self.frames.push(Arc::from(frame));
                self.bytes += frame.len();
                self.status = Status::Finished;
            }
            return;
        }
        if self.status != Status::Open {
            return;
        }
        if self.frames.len() >= self.cap.events || self.bytes + frame.len() > self.cap.bytes {
            tracing::info!(
                limit = "SMOOTH_AGENT_RESUME_BUFFER_BYTES / _EVENTS",
                bytes = self.bytes,
                events = self.frames.len(),
                "a turn's events passed the replay cap; reopening its conversation will say it cannot be replayed"
            );
            self.unreplayable();
            return;
        }
        self.bytes += frame.len();
        self.frames.push(Arc::from(frame));
    }

    fn unreplayable(&mut self) {
        self.status = Status::Unreplayable;
        self.frames = Vec::new();
        self.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(cap: Cap) -> Arc<Stream> {
        Stream::new(
            TurnKey {
                stream: Uuid::new_v4(),
                org: OrgId::new("o"),
                conversation: ConversationId::random(),
                request_id: "r".into(),
            },
            cap,
            true,
        )
    }

    #[test]
    fn events_are_numbered_kept_and_closed_by_the_terminal() {
        let s = stream(Cap {
            bytes: 1024,
            events: 10,
        });
        assert_eq!(s.push("a", false), Some(0));
        assert_eq!(s.push("b", false), Some(1));
        assert_eq!(s.push("end", true), Some(2));
        assert_eq!(s.push("late", false), None, "nothing after the terminal");
        let read = s.read_from(1);
        assert_eq!(read.frames, vec![Arc::from("b"), Arc::from("end")]);
        assert_eq!(read.status, Status::Finished);
    }

    #[test]
    fn passing_the_cap_frees_the_buffer_and_keeps_the_terminal_for_watchers() {
        let s = stream(Cap {
            bytes: 4,
            events: 10,
        });
        s.push("ab", false);
        s.push("cd", false);
        assert_eq!(s.bytes(), 4);
        s.push("e", false);
        assert_eq!(s.status(), Status::Unreplayable);
        assert_eq!(s.bytes(), 0, "the buffer is freed at once");
        s.push("f", false);
        assert!(s.read_from(0).frames.is_empty());
        let counted = stream(Cap {
            bytes: 1024,
            events: 2,
        });
        counted.push("a", false);
        counted.push("b", false);
        counted.push("c", false);
        assert_eq!(counted.status(), Status::Unreplayable);
    }

    #[test]
    fn a_gap_between_replicas_makes_it_unreplayable_and_repeats_are_ignored() {
        let s = stream(Cap {
            bytes: 1024,
            events: 10,
        });
        s.apply(0, "a", false);
        s.apply(0, "a", false);
        assert_eq!(s.read_from(0).frames.len(), 1);
        s.apply(2, "c", false);
        assert_eq!(s.status(), Status::Unreplayable);
        assert_eq!(s.end(), Some(3));
        assert_eq!(s.status(), Status::Ended);
    }
}
