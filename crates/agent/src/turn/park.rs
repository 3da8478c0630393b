//! Turns parked on a human's approval, by session.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use switchboard_core::SessionId;
use tokio::sync::oneshot;

/// The approvals turns are waiting for. Cheap to clone.
#[derive(Clone, Default)]
pub struct Parking {
    inner: Arc<ParkingInner>,
}

#[derive(Default)]
struct ParkingInner {
    slots: Mutex<HashMap<SessionId, Slot>>,
    next_token: AtomicU64,
}

struct Slot {
    token: u64,
    request_id: String,
    tool: String,
    responder: oneshot::Sender<bool>,
}

/// A waiting approval, taken out of the registry: it can be answered once.
pub struct PendingConfirmation {
    pub request_id: String,
    pub tool: String,
    responder: oneshot::Sender<bool>,
}

/// Removes the turn's registration when the turn stops waiting, however it stops
/// (answered, timed out, cancelled, disconnected): a later answer then finds
/// nothing pending instead of a dead turn.
pub struct ParkGuard {
    parking: Parking,
    session: SessionId,
    token: u64,
}

impl Parking {
    /// Registers a turn's wait for approval. The registration exists before the
    /// client can possibly answer, because the prompt is sent after this returns.
    pub fn park(
        &self,
        session: SessionId,
        request_id: &str,
        tool: &str,
    ) -> (ParkGuard, oneshot::Receiver<bool>) {
        let (responder, decision) = oneshot::channel();
        let token = self.inner.next_token.fetch_add(1, Ordering::Relaxed);
        self.slots().insert(
            session,
            Slot {
                token,
                request_id: request_id.to_owned(),
                tool: tool.to_owned(),
                responder,
            },
        );
        let guard = ParkGuard {
            parking: self.clone(),
            session,
            token,
        };
        (guard, decision)
    }

    /// Takes the session's pending approval, so a second answer finds nothing.
    pub fn take(&self, session: SessionId) -> Option<PendingConfirmation> {
        self.slots()
            .remove(&session)
            .map(|slot| PendingConfirmation {
                request_id: slot.request_id,
                tool: slot.tool,
                responder: slot.responder,
            })
    }

    /// Whether a turn of `session` waits for approval.
    pub fn is_parked(&self, session: SessionId) -> bool {
        self.slots().contains_key(&session)
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, HashMap<SessionId, Slot>> {
        self.inner.slots.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl PendingConfirmation {
    /// Whether the turn is still there to hear the answer.
    pub fn is_live(&self) -> bool {
        !self.responder.is_closed()
    }

    /// Answers the turn; `false` when it went away meanwhile.
    pub fn resolve(self, approved: bool) -> bool {
        self.responder.send(approved).is_ok()
    }
}

impl Drop for ParkGuard {
    fn drop(&mut self) {
        let mut slots = self.parking.slots();
        if slots
            .get(&self.session)
            .is_some_and(|s| s.token == self.token)
        {
            slots.remove(&self.session);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_approval_is_delivered_once() {
        let parking = Parking::default();
        let session = SessionId::random();
        let (_guard, decision) = parking.park(session, "r1", "delete_record");
        let pending = parking.take(session).expect("parked");
        assert_eq!(
            (pending.request_id.as_str(), pending.tool.as_str()),
            ("r1", "delete_record")
        );
        assert!(parking.take(session).is_none(), "taken, not cloned");
        assert!(pending.resolve(true));
        assert_eq!(decision.await, Ok(true));
    }

    #[tokio::test]
    async fn a_gone_turn_leaves_nothing_to_answer() {
        let parking = Parking::default();
        let session = SessionId::random();
        let (guard, decision) = parking.park(session, "r1", "t");
        drop(guard);
        drop(decision);
        assert!(parking.take(session).is_none());
        // A newer park is not removed by an older guard.
        let (old, _d1) = parking.park(session, "r1", "t");
        let (_new, _d2) = parking.park(session, "r2", "t");
        drop(old);
        assert_eq!(parking.take(session).unwrap().request_id, "r2");
    }
}
