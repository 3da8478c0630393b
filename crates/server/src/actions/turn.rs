//! `send_message` and `cancel`: starting and stopping this connection's one turn.

use super::{ActionError, Ctx};
use crate::access;
use crate::hub::{ConnectionId, Hub};
use crate::replay::{LocalTurn, StreamSink, TurnKey, TurnStreams, Watching};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use switchboard_agent::llm::ImageRef;
use switchboard_agent::turn::{EventSink, Parking, TerminalClaim, TurnIo};
use switchboard_agent::{BusyGuard, TurnRequest};
use switchboard_core::{ConversationId, Direction, Message, OrgId, SessionId};
use switchboard_protocol::{Ack, Cancel, Empty, ErrorCode, Event, SendMessage};
use tokio::task::JoinHandle;
use uuid::Uuid;

/// The connection's single running turn, if any, and the turns of other sockets
/// it watches because it reopened their conversation.
#[derive(Default)]
pub struct TurnSlot {
    running: Option<RunningTurn>,
    /// The connection's client address, handed to its turns.
    client: Option<std::net::IpAddr>,
    watching: Vec<Watching>,
}

/// The most streams one connection watches at once; reopening more conversations
/// while their turns run stops watching the oldest.
const MAX_WATCHED: usize = 16;

struct RunningTurn {
    request_id: String,
    session: SessionId,
    task: JoinHandle<()>,
    terminal: TerminalClaim,
    /// Its stream, when turns outlive their socket.
    sink: Option<Arc<StreamSink>>,
}

/// Where a turn of this connection runs: the hub (for its stream) and which
/// conversation it belongs to.
pub struct TurnPlace<'a> {
    pub hub: &'a Arc<Hub>,
    pub connection: ConnectionId,
    pub org: OrgId,
    pub conversation: ConversationId,
}

impl TurnSlot {
    /// The slot of a connection from `client`.
    pub fn for_client(client: Option<std::net::IpAddr>) -> Self {
        Self {
            running: None,
            client,
            watching: Vec::new(),
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
    fn cancel(&mut self) -> Option<(String, SessionId, Option<Arc<StreamSink>>)> {
        let turn = self.running.take()?;
        if turn.task.is_finished() || !turn.terminal.claim() {
            return None;
        }
        turn.task.abort();
        turn.terminal.release();
        Some((turn.request_id, turn.session, turn.sink))
    }

    /// Aborts the running turn silently (a limit closes the connection). A parked
    /// turn stays stored, so a reconnecting client can still answer it.
    pub fn abort(&mut self) {
        if let Some(turn) = self.running.take() {
            turn.stop();
        }
    }

    /// The client is gone. Its turn runs on for up to `window` for whoever reopens
    /// the conversation (see [`crate::replay`]), then is stopped with
    /// `TURN_EXPIRED`; a turn parked on a human stops now, as its park is stored.
    /// Without a window (or a stream), or when this client address has too many
    /// turns running on already, the turn is aborted, as before.
    pub fn detach(
        &mut self,
        window: Option<Duration>,
        parking: &Parking,
        streams: &Arc<TurnStreams>,
    ) {
        let Some(turn) = self.running.take() else {
            return;
        };
        let (Some(window), Some(sink)) = (window, turn.sink.clone()) else {
            turn.stop();
            return;
        };
        if turn.task.is_finished() {
            return;
        }
        let Some(slot) = streams.hold_detached(self.client) else {
            turn.stop();
            return;
        };
        if parking.is_parked(turn.session) {
            turn.stop();
            return;
        }
        sink.forget_origin();
        let parking = parking.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let RunningTurn {
                request_id,
                session,
                mut task,
                terminal,
                ..
            } = turn;
            if tokio::time::timeout(window, &mut task).await.is_ok() {
                return;
            }
            if !parking.is_parked(session) && terminal.claim() {
                task.abort();
                terminal.release();
                tracing::info!(%request_id, "a turn whose client left ran past the resume window; stopping it");
                let message = format!(
                    "The turn was stopped: its connection closed more than {} s ago.",
                    window.as_secs()
                );
                let _ = sink
                    .emit(Event::error(
                        Some(request_id),
                        ErrorCode::TurnExpired,
                        message,
                    ))
                    .await;
            } else if !terminal.is_released() {
                // Parked: its park is stored and answerable; the task can go.
                task.abort();
                terminal.release();
            } else {
                // Its terminal event is on its way.
                let _ = task.await;
            }
            sink.end().await;
        });
    }

    /// Starts watching streams; the oldest beyond [`MAX_WATCHED`] are dropped.
    pub fn watch(&mut self, watching: impl IntoIterator<Item = Watching>) {
        self.watching.retain(|w| !w.task.is_finished());
        self.watching.extend(watching);
        while self.watching.len() > MAX_WATCHED {
            self.watching.remove(0).task.abort();
        }
    }

    /// Whether this connection already watches stream `id`.
    pub fn watches(&self, id: Uuid) -> bool {
        self.watching
            .iter()
            .any(|w| w.stream == id && !w.task.is_finished())
    }

    /// The conversations of the live streams this connection watches.
    fn watched(&self) -> Vec<(OrgId, ConversationId)> {
        let mut watched: Vec<(OrgId, ConversationId)> = Vec::new();
        for w in self.watching.iter().filter(|w| !w.task.is_finished()) {
            if !watched
                .iter()
                .any(|(o, c)| o == &w.org && *c == w.conversation)
            {
                watched.push((w.org.clone(), w.conversation));
            }
        }
        watched
    }

    /// Stops sending watched streams (the connection ends).
    pub fn stop_watching(&mut self) {
        for w in self.watching.drain(..) {
            w.task.abort();
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
    /// With resumable turns on, its events go through a stream (see
    /// [`crate::replay`]) that outlives this socket.
    pub fn start<F>(
        &mut self,
        ctx_out: &crate::ws::Outbound,
        place: TurnPlace<'_>,
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
        let streams = place.hub.streams();
        let stream_sink = streams.config().window.map(|_| {
            let stream = streams.open(TurnKey {
                stream: Uuid::new_v4(),
                org: place.org,
                conversation: place.conversation,
                request_id: request_id.clone(),
            });
            StreamSink::new(stream, place.hub.clone(), ctx_out.clone())
        });
        let sink: Arc<dyn EventSink> = match &stream_sink {
            Some(sink) => sink.clone(),
            None => Arc::new(ctx_out.clone()),
        };
        // The task waits to be registered, so a turn that ends at once is forgotten
        // after it was noted, never before.
        let (go, registered) = tokio::sync::oneshot::channel::<()>();
        let ending = stream_sink.clone();
        let run = turn(TurnIo {
            sink,
            terminal: terminal.clone(),
            client: self.client,
        });
        let task = tokio::spawn(async move {
            let _ = registered.await;
            run.await;
            if let Some(sink) = ending {
                sink.end().await;
            }
        });
        if let Some(sink) = &stream_sink {
            streams.run(
                sink.key().stream,
                LocalTurn {
                    session,
                    origin: place.connection,
                    claim: terminal.clone(),
                    abort: task.abort_handle(),
                    sink: sink.clone(),
                },
            );
        }
        let _ = go.send(());
        self.running = Some(RunningTurn {
            request_id,
            session,
            task,
            terminal,
            sink: stream_sink,
        });
    }
}

impl RunningTurn {
    /// Aborts the turn and frees its session at once, rather than whenever the
    /// aborted task is finally dropped; its stream ends.
    fn stop(&self) {
        self.task.abort();
        self.terminal.release();
        if let Some(sink) = self.sink.clone() {
            tokio::spawn(async move { sink.end().await });
        }
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
    // While a person owns the conversation, the agent stays silent: operators
    // see the message, and the visitor's turn ends without an agent answer.
    if let Some(handoff) = ctx.state.handoffs().with_person(conversation.id).await? {
        ctx.state.handoffs().visitor_wrote(&handoff, &message).await;
        let _ = ctx
            .out
            .send(crate::handoff::held_event(&request_id, &handoff))
            .await;
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
    let place = TurnPlace {
        hub: ctx.state.hub(),
        connection: ctx.connection,
        org: session.org_id.clone(),
        conversation: session.conversation_id,
    };
    ctx.turn.start(
        ctx.out,
        place,
        request_id,
        session.id,
        busy,
        move |io| async move { runtime.run(request, io).await },
    );
    Ok(None)
}

/// Stops the running turn with `cancelled`, echoing the turn's request id, and
/// forgets anything it waited for. Without a turn of its own, a connection that
/// reopened a conversation cancels that conversation's turn, on whichever replica
/// it runs (with `sessionId`, only that session's conversation's); its
/// `cancelled` arrives with the turn's stream. With no turn running, nothing is
/// sent.
pub async fn cancel(ctx: &mut Ctx<'_>, req: Cancel) -> Result<Option<Event>, ActionError> {
    let Some((turn_request_id, session, sink)) = ctx.turn.cancel() else {
        let mut watched = ctx.turn.watched();
        if watched.is_empty() {
            return Ok(None);
        }
        if let Some(id) = &req.session_id {
            let session = access::load_session(ctx.state, ctx.viewer, id).await?;
            watched.retain(|(org, c)| *org == session.org_id && *c == session.conversation_id);
        }
        for (org, conversation) in watched {
            ctx.state.hub().cancel_turn(&org, conversation).await;
        }
        return Ok(None);
    };
    ctx.state.metrics().turn_cancelled();
    if let Err(e) = ctx.state.store().take_parked_turn(session, None).await {
        tracing::error!(error = %e, "could not forget a cancelled turn's park");
    }
    let cancelled = Event::cancelled(Some(turn_request_id));
    Ok(match sink {
        // Every socket of the stream, this one included, gets it in order.
        Some(sink) => {
            let _ = sink.emit(cancelled).await;
            sink.end().await;
            None
        }
        None => Some(cancelled),
    })
}
