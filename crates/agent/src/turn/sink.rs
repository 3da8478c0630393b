//! Where a turn's events go, and the rule that a turn ends with exactly one
//! terminal event.

use async_trait::async_trait;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use switchboard_protocol::Event;

/// The client is gone; the turn should stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the client is gone")]
pub struct SinkClosed;

/// Delivers a turn's events to its client, in order.
#[async_trait]
pub trait EventSink: Send + Sync + 'static {
    async fn send(&self, event: Event) -> Result<(), SinkClosed>;
}

/// Decides who emits a turn's terminal event, and frees the turn's place for the
/// next one. The turn claims it before its `eventual_response` or `error`; a
/// `cancel` claims it before `cancelled`. Whoever claims first emits; the other
/// stays silent. A cancel that arrives after the turn claimed is too late and
/// changes nothing.
#[derive(Clone, Default)]
pub struct TerminalClaim(Arc<ClaimState>);

#[derive(Default)]
struct ClaimState {
    claimed: AtomicBool,
    released: AtomicBool,
    /// Whatever reserves the turn's place (a session lock), dropped on release.
    held: Mutex<Option<Box<dyn Send>>>,
}

impl TerminalClaim {
    /// `true` for the first caller only.
    pub fn claim(&self) -> bool {
        !self.0.claimed.swap(true, Ordering::AcqRel)
    }

    /// Keeps `reservation` until the turn is released.
    pub fn hold(&self, reservation: impl Send + 'static) {
        *self.lock() = Some(Box::new(reservation));
    }

    /// The turn is over as far as the next turn is concerned: called once its reply
    /// is stored and just before its terminal event is sent, so a client that
    /// answers that event at once is never told a turn is still running.
    pub fn release(&self) {
        self.0.released.store(true, Ordering::Release);
        drop(self.lock().take());
    }

    pub fn is_released(&self) -> bool {
        self.0.released.load(Ordering::Acquire)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Box<dyn Send>>> {
        self.0.held.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl std::fmt::Debug for TerminalClaim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TerminalClaim")
            .field("claimed", &self.0.claimed.load(Ordering::Relaxed))
            .field("released", &self.is_released())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_claim_wins() {
        let claim = TerminalClaim::default();
        let other = claim.clone();
        assert!(claim.claim());
        assert!(!other.claim());
        assert!(!claim.claim());
    }

    #[test]
    fn release_drops_what_was_held() {
        let claim = TerminalClaim::default();
        let token = Arc::new(());
        claim.hold(token.clone());
        assert_eq!(Arc::strong_count(&token), 2);
        assert!(!claim.is_released());
        claim.clone().release();
        assert!(claim.is_released());
        assert_eq!(Arc::strong_count(&token), 1);
    }
}
