//! Where a turn's events go, and the rule that a turn ends with exactly one
//! terminal event.

use async_trait::async_trait;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
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

/// Decides who emits a turn's terminal event. The turn claims it before its
/// `eventual_response` or `error`; a `cancel` claims it before `cancelled`. Whoever
/// claims first emits; the other stays silent. A cancel that arrives after the turn
/// claimed is too late and changes nothing.
#[derive(Debug, Clone, Default)]
pub struct TerminalClaim(Arc<AtomicBool>);

impl TerminalClaim {
    /// `true` for the first caller only.
    pub fn claim(&self) -> bool {
        !self.0.swap(true, Ordering::AcqRel)
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
}
