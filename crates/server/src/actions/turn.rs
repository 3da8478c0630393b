//! `send_message` and `cancel`: starting and stopping this connection's one turn.

use super::{ActionError, Ctx};
use crate::access;
use std::future::Future;
use std::sync::Arc;
use switchboard_agent::llm::ImageRef;
use switchboard_agent::turn::{EventSink, TerminalClaim, TurnIo};
use switchboard_agent::{BusyGuard, TurnRequest};
use switchboard_core::{Direction, Message, SessionId};
use switchboard_protocol::{Ack, Empty, Event, SendMessage};
use tokio::task::JoinHandle;

/// The connection's single running turn, if any.
#[derive(Default)]
pub struct TurnSlot {
    running: Option<RunningTurn>,
    /// The connection's client address, handed to its turns.
    client: Option<std::net::IpAddr>,
}

struct RunningTurn {
    request_id: String,
    session: SessionId,
    task: JoinHandle<()>,
    terminal: TerminalClaim,
}

impl TurnSlot {
    /// The slot of a connection from `client`.
    pub fn for_client(client: Option<std::net::IpAddr>) -> Self {
        Self {
            running: None,
            client,
        }
    }

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

    /// Resolves when the running turn's task has ended, and forgets it; never
    /// resolves without one.
    pub async fn finished(&mut self) {
        match self.running.as_mut() {
            Some(turn) => {
                let _ = (&mut turn.task).await;
                self.running = None;
            }
            None => std::future::pending().await,
        }
    }

    /// The session of the running turn.
    pub fn session(&self) -> Option<SessionId> {
        self.running.as_ref().map(|t| t.session)
    }

    /// Stops the running turn for a `cancel`: returns the turn when the cancel won
    /// the right to end it. A turn that already claimed its own terminal event is
    /// left to finish.
    fn cancel(&mut self) -> Option<(String, SessionId)> {
        let turn = self.running.take()?;
        if turn.task.is_finished() || !turn.terminal.claim() {
            return None;
        }
        turn.stop();
        Some((turn.request_id, turn.session))
    }

    /// Aborts the running turn silently (the client is gone). A parked turn stays
    /// stored, so a reconnecting client can still answer it.
    pub fn abort(&mut self) {
        if let Some(turn) = self.running.take() {
            turn.stop();
        }
    }

    /// Waits for the running turn to finish on its own, for at most `limit`, then
    /// aborts it. A turn parked on a human is stored already, so it stops at once.
    pub async fn drain(&mut self, limit: std::time::Duration, parked: impl Fn(SessionId) -> bool) {
        let Some(mut turn) = self.running.take() else {
            return;
        };
        if parked(turn.session) {
            turn.stop();
            return;
        }
        if tokio::time::timeout(limit, &mut turn.task).await.is_err() {
            tracing::warn!(request_id = %turn.request_id, "turn did not finish before the drain deadline; aborting it");
            turn.stop();
        }
    }

    /// Runs `turn` as this connection's turn, holding `busy` until it releases.
    pub fn start<F>(
        &mut self,
        ctx_out: &crate::ws::Outbound,
        request_id: String,
        session: SessionId,
        busy: BusyGuard,
        turn: impl FnOnce(TurnIo) -> F,
    ) where
        F: Future<Output = ()> + Send + 'static,
    {
        let terminal = TerminalClaim::default();
        // The session stays reserved until the turn releases it.
        terminal.hold(busy);
        let sink: Arc<dyn EventSink> = Arc::new(ctx_out.clone());
        let task = tokio::spawn(turn(TurnIo {
            sink,
            terminal: terminal.clone(),
            client: self.client,
        }));
        self.running = Some(RunningTurn {
            request_id,
            session,
            task,
            terminal,
        });
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
/// turn in its own task so this connection keeps reading (answers, cancels).
pub async fn send_message(
    ctx: &mut Ctx<'_>,
    req: SendMessage,
) -> Result<Option<Event>, ActionError> {
    if ctx.turn.is_busy() {
        return Err(ActionError::TurnInProgress);
    }
    let runtime = ctx.state.runtime().clone();
    // A skill that cannot be resolved fails the turn before anything is stored:
    // answering without the recipe asked for would look like answering with it.
    let skill = match req.skill {
        Some(name) => match runtime.skill(&name) {
            Some(body) => Some((name, body)),
            None => return Err(ActionError::SkillNotFound(name)),
        },
        None => None,
    };
    let session = access::load_session(ctx.state, ctx.viewer, &req.session_id).await?;
    // One turn per session, whichever connection it comes from.
    let busy = runtime
        .reserve(session.id)
        .ok_or(ActionError::TurnInProgress)?;
    let store = ctx.state.store();
    let conversation = store
        .get_conversation(session.conversation_id)
        .await?
        .ok_or_else(|| ActionError::SessionNotFound(req.session_id.clone()))?;
    crate::quota::charge_stored_bytes(
        &**store,
        &ctx.state.config().storage_limits,
        &conversation.org_id,
        req.message.len() as u64,
    )
    .await?;
    // A new message moves on from a turn left waiting for an answer.
    if store.take_parked_turn(session.id, None).await?.is_some() {
        tracing::info!(session = %session.id, "a new message abandons a parked turn");
    }
    // Stored before the acknowledgement: an acknowledged message is never lost.
    let message = Message::new(&conversation, Direction::Inbound, req.message);
    store.append_message(&message).await?;
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
    let request = TurnRequest {
        request_id: request_id.clone(),
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
        access: ctx.viewer.access(&session.org_id),
        session: session.clone(),
        skill,
    };
    ctx.turn.start(
        ctx.out,
        request_id,
        session.id,
        busy,
        move |io| async move { runtime.run(request, io).await },
    );
    Ok(None)
}

/// Stops the running turn with `cancelled`, echoing the turn's request id, and
/// forgets anything it waited for. With no turn running, nothing is sent.
pub async fn cancel(ctx: &mut Ctx<'_>) -> Option<Event> {
    let (turn_request_id, session) = ctx.turn.cancel()?;
    ctx.state.metrics().turn_cancelled();
    if let Err(e) = ctx.state.store().take_parked_turn(session, None).await {
        tracing::error!(error = %e, "could not forget a cancelled turn's park");
    }
    Some(Event::cancelled(Some(turn_request_id)))
}
