//! `send_message` and `cancel`: starting and stopping this connection's one turn.

use super::{ActionError, Ctx};
use crate::access;
use switchboard_protocol::{Event, SendMessage};
use tokio::task::JoinHandle;

/// The connection's single running turn, if any.
#[derive(Default)]
pub struct TurnSlot {
    running: Option<RunningTurn>,
}

struct RunningTurn {
    request_id: String,
    task: JoinHandle<()>,
}

impl TurnSlot {
    /// Whether a turn is still running (finished ones are forgotten here).
    pub fn is_busy(&mut self) -> bool {
        if self.running.as_ref().is_some_and(|t| t.task.is_finished()) {
            self.running = None;
        }
        self.running.is_some()
    }

    /// Aborts the running turn; returns its request id when there was one.
    pub fn abort(&mut self) -> Option<String> {
        let turn = self.running.take().filter(|t| !t.task.is_finished())?;
        turn.task.abort();
        Some(turn.request_id)
    }

    /// Waits for the running turn to finish on its own, for at most `limit`, then
    /// aborts it.
    pub async fn drain(&mut self, limit: std::time::Duration) {
        let Some(mut turn) = self.running.take() else {
            return;
        };
        if tokio::time::timeout(limit, &mut turn.task).await.is_err() {
            tracing::warn!(request_id = %turn.request_id, "turn did not finish before the drain deadline; aborting it");
            turn.task.abort();
        }
    }
}

/// Starts a turn. Agent turns arrive with the turns issue; until then a valid
/// session is answered with `LLM_UNAVAILABLE`.
pub async fn send_message(
    ctx: &mut Ctx<'_>,
    req: SendMessage,
) -> Result<Option<Event>, ActionError> {
    if ctx.turn.is_busy() {
        return Err(ActionError::TurnInProgress);
    }
    let _session = access::load_session(ctx.state, ctx.viewer, &req.session_id).await?;
    Err(ActionError::LlmUnavailable(
        "agent turns are not available on this server yet".into(),
    ))
}

/// Stops the running turn with `cancelled`, echoing the turn's request id. With no
/// turn running, nothing is sent.
pub fn cancel(ctx: &mut Ctx<'_>) -> Option<Event> {
    let turn_request_id = ctx.turn.abort()?;
    Some(Event::cancelled(Some(turn_request_id)))
}
