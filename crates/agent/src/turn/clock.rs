//! The turn's deadline (`SMOOTH_AGENT_TURN_TIMEOUT_SECS`): however a gateway
//! behaves (tokens forever, keep-alives forever, long `Retry-After`s), a turn's own
//! work ends by then with `LLM_TIMEOUT`.
//!
//! What counts is the turn's work: model calls with their retries' waits, tool
//! calls, and the workflow judge. Waiting for a human does not: the clock stops when
//! the turn parks, and the answer starts a fresh budget (the same whether the turn
//! resumes in its own task or from the store on another connection), so each answer
//! buys at most one more deadline's worth of work.

use crate::llm::LlmError;
use std::future::Future;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// The running deadline of one turn; `None` inside while the turn is parked.
pub(super) struct TurnClock {
    budget: Duration,
    deadline: watch::Sender<Option<Instant>>,
}

impl TurnClock {
    /// A clock running from now.
    pub(super) fn start(budget: Duration) -> Self {
        Self {
            budget,
            deadline: watch::Sender::new(Some(Instant::now() + budget)),
        }
    }

    /// The turn waits for a human: the deadline no longer applies.
    pub(super) fn pause(&self) {
        self.deadline.send_replace(None);
    }

    /// The human answered: a full budget from now.
    pub(super) fn restart(&self) {
        self.deadline
            .send_replace(Some(Instant::now() + self.budget));
    }

    /// Runs `work` unless the deadline passes first.
    pub(super) async fn bound<T>(&self, work: impl Future<Output = T>) -> Result<T, LlmError> {
        tokio::select! {
            biased;
            value = work => Ok(value),
            () = self.expired() => Err(LlmError::Timeout("turn deadline")),
        }
    }

    /// Resolves when the deadline passes while the clock runs.
    async fn expired(&self) {
        let mut changes = self.deadline.subscribe();
        loop {
            let deadline = *changes.borrow_and_update();
            let passed = async {
                match deadline {
                    Some(deadline) => tokio::time::sleep_until(deadline).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = passed => return,
                // The sender lives as long as `self`, so this does not fail here.
                _ = changes.changed() => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn work_past_the_deadline_is_cut_with_a_timeout() {
        let clock = TurnClock::start(Duration::from_secs(5));
        let begun = Instant::now();
        let quick = clock
            .bound(tokio::time::sleep(Duration::from_secs(1)))
            .await;
        assert_eq!(quick, Ok(()));
        let slow = clock.bound(std::future::pending::<()>()).await;
        assert_eq!(slow, Err(LlmError::Timeout("turn deadline")));
        assert_eq!(begun.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_paused_clock_never_expires_and_a_restart_gives_a_full_budget() {
        let clock = TurnClock::start(Duration::from_secs(5));
        let begun = Instant::now();
        let work = async {
            tokio::time::sleep(Duration::from_secs(4)).await;
            clock.pause();
            // Parked far longer than the budget.
            tokio::time::sleep(Duration::from_secs(60)).await;
            clock.restart();
            tokio::time::sleep(Duration::from_secs(4)).await;
        };
        assert_eq!(clock.bound(work).await, Ok(()));
        assert_eq!(begun.elapsed(), Duration::from_secs(68));
        let rest = clock.bound(std::future::pending::<()>()).await;
        assert_eq!(rest, Err(LlmError::Timeout("turn deadline")));
        assert_eq!(begun.elapsed(), Duration::from_secs(69));
    }
}
