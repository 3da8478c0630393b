//! `send_message` and `cancel`: starting and stopping this connection's one turn.

use super::{ActionError, Ctx};
use crate::access;
use std::sync::Arc;
use switchboard_agent::TurnRequest;
use switchboard_agent::llm::ImageRef;
use switchboard_agent::turn::{EventSink, TerminalClaim};
use switchboard_core::{Direction, Message};
use switchboard_protocol::{Ack, Empty, Event, SendMessage};
use tokio::task::JoinHandle;

/// The connection's single running turn, if any.
#[derive(Default)]
pub struct TurnSlot {
    running: Option<RunningTurn>,
}

struct RunningTurn {
    request_id: String,
    task: JoinHandle<()>,
    terminal: TerminalClaim,
}

impl TurnSlot {
    /// Whether a turn is still running. A turn that has released its place (its
    /// terminal event is on its way) no longer counts; finished ones are forgotten.
    pub fn is_busy(&mut self) -> bool {
        if self
            .running
            .as_ref()
            .is_some_and(|t| t.task.is_finished() || t.terminal.is_released())
        {
            self.running = None;
        }
        self.running.is_some()
    }

    /// Stops the running turn for a `cancel`: returns the turn's request id when
    /// the cancel won the right to end it. A turn that already claimed its own
    /// terminal event is left to finish.
    fn cancel(&mut self) -> Option<String> {
        let turn = self.running.take()?;
        if turn.task.is_finished() || !turn.terminal.claim() {
            return None;
        }
        turn.stop();
        Some(turn.request_id)
    }

    /// Aborts the running turn silently (the client is gone).
    pub fn abort(&mut self) {
        if let Some(turn) = self.running.take() {
            turn.stop();
        }
    }

    /// Waits for the running turn to finish on its own, for at most `limit`, then
    /// aborts it.
    pub async fn drain(&mut self, limit: std::time::Duration) {
        let Some(mut turn) = self.running.take() else {
            return;
        };
        if tokio::time::timeout(limit, &mut turn.task).await.is_err() {
            tracing::warn!(request_id = %turn.request_id, "turn did not finish before the drain deadline; aborting it");
            turn.stop();
        }
    }
}

impl RunningTurn {
    /// Aborts the turn and frees its session at once, rather than whenever the
    /// aborted task is finally dropped.
    fn stop(&self) {
        self.task.abort();
        self.terminal.release();
    }
}

/// Starts a turn: stores the user's message, acknowledges with 202, and runs the
/// turn in its own task so this connection keeps reading (confirmations, cancels).
pub async fn send_message(
    ctx: &mut Ctx<'_>,
    req: SendMessage,
) -> Result<Option<Event>, ActionError> {
    if ctx.turn.is_busy() {
        return Err(ActionError::TurnInProgress);
    }
    let session = access::load_session(ctx.state, ctx.viewer, &req.session_id).await?;
    let runtime = ctx.state.runtime().clone();
    // One turn per session, whichever connection it comes from.
    let busy = runtime
        .reserve(session.id)
        .ok_or(ActionError::TurnInProgress)?;
    let conversation = ctx
        .state
        .store()
        .get_conversation(session.conversation_id)
        .await?
        .ok_or_else(|| ActionError::SessionNotFound(req.session_id.clone()))?;
    // Stored before the acknowledgement: an acknowledged message is never lost.
    let message = Message::new(&conversation, Direction::Inbound, req.message);
    ctx.state.store().append_message(&message).await?;
    let request_id = ctx.request_id.clone().unwrap_or_default();
    let ack = Event::ack(
        Some(request_id.clone()),
        202,
        "Processing your request...",
        Ack::Empty(Empty {}),
    );
    if ctx.out.send(ack).await.is_err() {
        return Ok(None);
    }
    let terminal = TerminalClaim::default();
    // The session stays reserved until the turn releases it.
    terminal.hold(busy);
    let sink: Arc<dyn EventSink> = Arc::new(ctx.out.clone());
    let request = TurnRequest {
        request_id: request_id.clone(),
        session,
        message,
        model: req.model,
        images: req
            .images
            .into_iter()
            .map(|i| ImageRef {
                url: i.url,
                detail: i.detail.map(|d| format!("{d:?}").to_lowercase()),
            })
            .collect(),
        access: ctx.viewer.access(),
    };
    let claim = terminal.clone();
    let task = tokio::spawn(async move { runtime.run(request, sink, claim).await });
    ctx.turn.running = Some(RunningTurn {
        request_id,
        task,
        terminal,
    });
    Ok(None)
}

/// Stops the running turn with `cancelled`, echoing the turn's request id. With no
/// turn running, nothing is sent.
pub fn cancel(ctx: &mut Ctx<'_>) -> Option<Event> {
    let turn_request_id = ctx.turn.cancel()?;
    Some(Event::cancelled(Some(turn_request_id)))
}
