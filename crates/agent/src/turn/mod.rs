//! The turn state machine. It alone decides the order of a turn's events:
//! `stream_token`s as the model speaks; for each tool call its `toolCall` chunk
//! (preceded by `write_confirmation_required` or `interaction_required` when a human
//! must answer first) and its `toolResult` chunk; then exactly one terminal event.
//!
//! A turn that waits for a human is stored ([`Parked`]) before it asks, so the
//! answer can resume it even if its task is gone.

mod calls;
mod clock;
mod outcome;
mod park;
pub mod prompt;
mod sink;
pub mod state;

pub use calls::{SUBMIT_TOOL, park_event};
pub use park::{ParkGuard, Parking};
pub use sink::{EventSink, SinkClosed, TerminalClaim};
pub use state::{Parked, Resolution, TurnState, Waiting};

use crate::llm::{
    ChatMessage, ChatRequest, Grounding, LlmError, LlmProvider, StreamEvent, TokenUsage, ToolCall,
};
use crate::observe::TurnEnd;
use crate::otp::OtpService;
use crate::tools::{ConfirmPolicy, Tool};
use clock::TurnClock;
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use switchboard_core::{Store, StoreError};
use switchboard_protocol::{ErrorCode, Event};
use tracing::Instrument;

/// The shared parts a turn runs against.
#[derive(Clone)]
pub struct TurnEnv {
    pub llm: Arc<dyn LlmProvider>,
    pub store: Arc<dyn Store>,
    pub confirm: Arc<ConfirmPolicy>,
    pub parking: Parking,
    /// How long a parked turn waits for its answer before it expires.
    pub park_ttl: Duration,
    /// The most a turn works (model and tool calls, retries' waits) between human
    /// answers before it ends with `LLM_TIMEOUT`; see [`clock`].
    pub turn_timeout: Duration,
    pub otp: Option<Arc<dyn OtpService>>,
    /// Workflows by agent id, and the model that judges their steps (`None`: no
    /// judge, e.g. offline).
    pub workflows: Arc<std::collections::HashMap<String, crate::workflow::Workflow>>,
    pub judge_model: Option<String>,
    /// Where turns report what they measure.
    pub observe: crate::observe::Observe,
    /// Where conversations are handed to a person (`None`: nowhere, so never).
    pub handoff: Option<Arc<dyn crate::handoff::HandoffDesk>>,
    /// Handoff policies by agent id.
    pub handoff_policies: Arc<std::collections::HashMap<String, crate::handoff::HandoffPolicy>>,
}

/// The tools a turn may call, resolved from the names in its state.
pub type TurnTools = Vec<Arc<dyn Tool>>;

/// Why a turn stopped early.
#[derive(Debug, thiserror::Error)]
pub enum TurnError {
    #[error(transparent)]
    Llm(#[from] LlmError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    ClientGone(#[from] SinkClosed),
    /// The turn waited for a human longer than allowed.
    #[error("the turn waited for an answer too long")]
    Expired,
    /// Another connection or replica took over the turn (it answered the park).
    #[error("the turn continues elsewhere")]
    Handed,
}

/// Where a turn's events go and who may end it.
pub struct TurnIo {
    pub sink: Arc<dyn EventSink>,
    pub terminal: TerminalClaim,
    /// The address of the client driving the turn, when known (per-address limits).
    pub client: Option<std::net::IpAddr>,
}

impl TurnIo {
    /// Ends the turn with an `error` event, unless its terminal event was sent;
    /// says whether this call ended it.
    pub async fn fail(&self, request_id: String, code: ErrorCode, message: String) -> bool {
        if !self.terminal.claim() {
            return false;
        }
        self.terminal.release();
        let _ = self
            .sink
            .send(Event::error(Some(request_id), code, message))
            .await;
        true
    }
}

/// Runs a turn (fresh, or resumed with its answer in `state.resolution`) to its
/// single terminal event, and says how it ended (`None`: it continues elsewhere, or
/// a cancel ended it).
pub async fn run(
    mut state: TurnState,
    tools: TurnTools,
    env: TurnEnv,
    io: TurnIo,
    started: std::time::Instant,
) -> Option<TurnEnd> {
    let request_id = state.request_id.clone();
    let clock = TurnClock::start(env.turn_timeout);
    let driven = clock
        .bound(drive(&mut state, &tools, &env, &io, &clock, started))
        .await;
    let result = match driven.map_err(TurnError::Llm).and_then(|r| r) {
        // The judge inside is bounded by what is left of the deadline; the rest
        // (storing the reply, the terminal event) must not be cut once begun.
        Ok(()) => outcome::finish(state, &env, &io, &clock).await,
        Err(e) => Err(e),
    };
    let (code, message) = match result {
        // A turn that lost its terminal to a cancel is counted by the cancel.
        Ok(true) => return Some(TurnEnd::Answered),
        Ok(false) | Err(TurnError::Handed) => return None,
        Err(TurnError::ClientGone(_)) => return Some(TurnEnd::Abandoned),
        Err(TurnError::Expired) => (
            ErrorCode::TurnExpired,
            "Nobody answered in time, so the turn was stopped and nothing was done.".to_owned(),
        ),
        Err(TurnError::Llm(llm)) => {
            tracing::warn!(request_id, error = %llm, "turn failed at the gateway");
            (llm.code(), llm.safe_message())
        }
        Err(TurnError::Store(store)) => {
            env.observe.store_error("turn");
            tracing::error!(request_id, error = %store, "turn failed in the store");
            (
                ErrorCode::StorageError,
                "The conversation could not be saved; try again.".to_owned(),
            )
        }
    };
    if io.fail(request_id, code, message).await {
        Some(TurnEnd::Failed(code))
    } else {
        None
    }
}

/// Model calls and tool calls until the model answers or the cap is reached.
async fn drive(
    state: &mut TurnState,
    tools: &TurnTools,
    env: &TurnEnv,
    io: &TurnIo,
    clock: &TurnClock,
    started: std::time::Instant,
) -> Result<(), TurnError> {
    let mut first_token = Some(started);
    loop {
        while let Some(call) = state.pending.front().cloned() {
            calls::run(state, call, tools, env, io, clock).await?;
            state.pending.pop_front();
            state.resolution = None;
        }
        // Handed to a person: the agent says so and stops.
        if state.escalated.is_some() {
            return Ok(());
        }
        if state.iteration >= state.max_iterations {
            return Ok(());
        }
        state.iteration += 1;
        let last = state.iteration == state.max_iterations && state.iteration > 1;
        let mut messages = state.transcript.clone();
        if last {
            messages.push(ChatMessage::system(prompt::LAST_CALL_NOTE));
        }
        let request = ChatRequest {
            model: state.model.clone(),
            messages,
            // The last call offers no tools, so the model has to answer.
            tools: if last {
                Vec::new()
            } else {
                calls::specs(state, tools)
            },
            max_tokens: state.max_tokens,
            temperature: None,
            grounding: state
                .grounding
                .iter()
                .map(|h| Grounding {
                    title: h.title.clone(),
                    text: h.text.clone(),
                })
                .collect(),
        };
        let span = tracing::info_span!("gateway.request", gen_ai.request.model = %state.model);
        let (text, tool_calls) = call_model(state, request, env, io, &mut first_token)
            .instrument(span)
            .await?;
        state.transcript.push(ChatMessage::Assistant {
            content: (!text.is_empty()).then(|| text.clone()),
            tool_calls: tool_calls.clone(),
        });
        state.final_text = text;
        if tool_calls.is_empty() || last {
            return Ok(());
        }
        state.pending = tool_calls.into();
    }
}

/// One streamed model call: tokens go out as they arrive.
async fn call_model(
    state: &mut TurnState,
    request: ChatRequest,
    env: &TurnEnv,
    io: &TurnIo,
    first_token: &mut Option<std::time::Instant>,
) -> Result<(String, Vec<ToolCall>), TurnError> {
    let request_id = state.request_id.clone();
    let mut stream = env.llm.stream(request).await?;
    let mut text = String::new();
    let mut tool_calls = Vec::new();
    while let Some(event) = stream.next().await {
        match event? {
            StreamEvent::Text(delta) => {
                if let Some(started) = first_token.take() {
                    env.observe.first_token(started.elapsed());
                }
                text.push_str(&delta);
                state.streamed.push_str(&delta);
                io.sink.send(Event::token(&request_id, &delta)).await?;
            }
            StreamEvent::Reasoning(delta) => {
                state.reasoning.push_str(&delta);
                io.sink.send(Event::reasoning(&request_id, &delta)).await?;
            }
            StreamEvent::ToolCall(call) => tool_calls.push(call),
            StreamEvent::Usage(usage) => {
                env.observe.usage(&state.model, &usage);
                add_usage(&mut state.usage, usage);
            }
        }
    }
    Ok((text, tool_calls))
}

fn add_usage(total: &mut Option<TokenUsage>, usage: TokenUsage) {
    *total = Some(usage.plus(*total));
}
