//! Turns of this process waiting, right now, for a human's answer.
//!
//! The durable record of a parked turn is in the store; this registry only lets an
//! answer reach a turn whose task is still alive here. When the task is gone (its
//! client disconnected), the answer resumes the turn from the store instead.

use super::state::Resolution;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use switchboard_core::SessionId;
use tokio::sync::oneshot;
use uuid::Uuid;

/// Each session's live waiter: its park id and where to send the answer.
type Waiters = HashMap<SessionId, (Uuid, oneshot::Sender<Resolution>)>;

/// Live waiters, by session. Cheap to clone.
#[derive(Clone, Default)]
pub struct Parking {
    waiters: Arc<Mutex<Waiters>>,
}

/// Removes a waiter when its turn stops waiting, however it stops.
pub struct ParkGuard {
    parking: Parking,
    session: SessionId,
    park: Uuid,
}

impl Parking {
    /// Registers a live waiter for park `park` of `session`.
    pub fn wait(
        &self,
        session: SessionId,
        park: Uuid,
    ) -> (ParkGuard, oneshot::Receiver<Resolution>) {
        let (tx, rx) = oneshot::channel();
        self.lock().insert(session, (park, tx));
        (
            ParkGuard {
                parking: self.clone(),
                session,
                park,
            },
            rx,
        )
    }

    /// Whether a live turn here waits on park `park` of `session`.
    pub fn is_waiting(&self, session: SessionId, park: Uuid) -> bool {
        self.lock()
            .get(&session)
            .is_some_and(|(p, tx)| *p == park && !tx.is_closed())
    }

    /// Whether any live turn here waits for `session`.
    pub fn is_parked(&self, session: SessionId) -> bool {
        self.lock().contains_key(&session)
    }

    /// Delivers an answer to the live waiter of park `park`; `false` if there is none.
    pub fn resolve(&self, session: SessionId, park: Uuid, resolution: Resolution) -> bool {
        let waiter = {
            let mut waiters = self.lock();
            match waiters.get(&session) {
                Some((p, _)) if *p == park => waiters.remove(&session),
                _ => None,
            }
        };
        waiter.is_some_and(|(_, tx)| tx.send(resolution).is_ok())
    }

    /// Drops the live waiter of park `park`, which was taken on another replica:
    /// the turn waiting here learns its answer went elsewhere and stops.
    pub fn forget(&self, session: SessionId, park: Uuid) {
        let mut waiters = self.lock();
        if waiters.get(&session).is_some_and(|(p, _)| *p == park) {
            waiters.remove(&session);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Waiters> {
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for ParkGuard {
    fn drop(&mut self) {
        let mut waiters = self.parking.lock();
        if waiters
            .get(&self.session)
            .is_some_and(|(p, _)| *p == self.park)
        {
            waiters.remove(&self.session);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_answer_reaches_its_own_park_once() {
        let parking = Parking::default();
        let session = SessionId::random();
        let park = Uuid::new_v4();
        let (_guard, rx) = parking.wait(session, park);
        assert!(parking.is_waiting(session, park));
        assert!(
            !parking.resolve(session, Uuid::new_v4(), Resolution::Approved),
            "another park"
        );
        assert!(parking.resolve(session, park, Resolution::Denied));
        assert!(
            !parking.resolve(session, park, Resolution::Approved),
            "answered once"
        );
        assert_eq!(rx.await, Ok(Resolution::Denied));
    }

    #[tokio::test]
    async fn a_dropped_guard_leaves_no_waiter_and_spares_a_newer_one() {
        let parking = Parking::default();
        let session = SessionId::random();
        let (old, _rx1) = parking.wait(session, Uuid::new_v4());
        let newer = Uuid::new_v4();
        let (_new, _rx2) = parking.wait(session, newer);
        drop(old);
        assert!(parking.is_waiting(session, newer));
        drop(_new);
        assert!(!parking.is_parked(session));
    }

    #[tokio::test]
    async fn a_park_taken_elsewhere_closes_its_waiter_here() {
        let parking = Parking::default();
        let session = SessionId::random();
        let park = Uuid::new_v4();
        let (_guard, rx) = parking.wait(session, park);
        parking.forget(session, Uuid::new_v4());
        assert!(
            parking.is_waiting(session, park),
            "another park is untouched"
        );
        parking.forget(session, park);
        assert!(!parking.is_parked(session));
        assert!(
            rx.await.is_err(),
            "the waiting turn learns it was handed off"
        );
    }
}
