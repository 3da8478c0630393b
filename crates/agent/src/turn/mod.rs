//! The turn state machine. It alone decides the order of a turn's events:
//! `stream_token`s as the model speaks, for each tool call its `toolCall` chunk
//! (preceded by `write_confirmation_required` when a human must approve it) and its
//! `toolResult` chunk, then exactly one terminal event.

mod outcome;
mod park;
pub mod prompt;
mod sink;

pub use park::{ParkGuard, Parking, PendingConfirmation};
pub use sink::{EventSink, SinkClosed, TerminalClaim};

use crate::llm::{
    ChatMessage, ChatRequest, Grounding, LlmError, LlmProvider, StreamEvent, TokenUsage, ToolCall,
};
use crate::tools::{ConfirmPolicy, Tool, ToolContext, ToolOutput};
use futures_util::StreamExt;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use switchboard_core::{Session, Store, StoreError};
use switchboard_knowledge::{Access, Hit};
use switchboard_protocol::{Event, RawResponse, ToolCallInfo, ToolResultInfo, WriteConfirmation};

/// Tool results shown to the client are cut here; the model gets all of it.
const DISPLAYED_RESULT_CHARS: usize = 500;

/// Everything one turn needs, resolved by the runtime before it starts.
pub struct TurnPlan {
    pub request_id: String,
    pub session: Session,
    pub model: String,
    pub max_iterations: u32,
    pub max_tokens: u32,
    /// System prompt, knowledge, memory and the user's message, in order.
    pub transcript: Vec<ChatMessage>,
    /// The passages retrieved for the user's message.
    pub grounding: Vec<Hit>,
    pub tools: Vec<Arc<dyn Tool>>,
    pub access: Access,
}

/// The shared parts a turn runs against.
#[derive(Clone)]
pub struct TurnEnv {
    pub llm: Arc<dyn LlmProvider>,
    pub store: Arc<dyn Store>,
    pub confirm: Arc<ConfirmPolicy>,
    pub parking: Parking,
    pub confirm_timeout: Duration,
}

/// Why a turn stopped early.
#[derive(Debug, thiserror::Error)]
pub enum TurnError {
    #[error(transparent)]
    Llm(#[from] LlmError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    ClientGone(#[from] SinkClosed),
}

/// A turn in progress: what the model has said and done so far.
struct TurnState {
    plan: TurnPlan,
    iteration: u32,
    pending: VecDeque<ToolCall>,
    usage: Option<TokenUsage>,
    /// Knowledge tools retrieved during the turn, for citations.
    tool_hits: Vec<Hit>,
    /// The last model reply's text, and everything streamed, for the empty-reply fallback.
    final_text: String,
    streamed: String,
    reasoning: String,
}

/// Runs a turn to its single terminal event. `terminal` is shared with whoever may
/// cancel the turn.
pub async fn run(plan: TurnPlan, env: TurnEnv, sink: Arc<dyn EventSink>, terminal: TerminalClaim) {
    let request_id = plan.request_id.clone();
    let mut state = TurnState {
        plan,
        iteration: 0,
        pending: VecDeque::new(),
        usage: None,
        tool_hits: Vec::new(),
        final_text: String::new(),
        streamed: String::new(),
        reasoning: String::new(),
    };
    let result = match drive(&mut state, &env, &*sink).await {
        Ok(()) => outcome::finish(state, &env, &*sink, &terminal).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) | Err(TurnError::ClientGone(_)) => {}
        Err(e) => {
            if !terminal.claim() {
                return;
            }
            let (code, message) = match &e {
                TurnError::Llm(llm) => {
                    tracing::warn!(request_id, error = %llm, "turn failed at the gateway");
                    (llm.code(), llm.safe_message())
                }
                TurnError::Store(store) => {
                    tracing::error!(request_id, error = %store, "turn failed in the store");
                    (
                        switchboard_protocol::ErrorCode::StorageError,
                        "The conversation could not be saved; try again.".to_owned(),
                    )
                }
                TurnError::ClientGone(_) => return,
            };
            terminal.release();
            let _ = sink
                .send(Event::error(Some(request_id), code, message))
                .await;
        }
    }
}

/// Model calls and tool calls until the model answers or the cap is reached.
async fn drive(
    state: &mut TurnState,
    env: &TurnEnv,
    sink: &dyn EventSink,
) -> Result<(), TurnError> {
    loop {
        while let Some(call) = state.pending.pop_front() {
            run_tool_call(state, call, env, sink).await?;
        }
        if state.iteration >= state.plan.max_iterations {
            return Ok(());
        }
        state.iteration += 1;
        let last = state.iteration == state.plan.max_iterations;
        let mut messages = state.plan.transcript.clone();
        if last && state.iteration > 1 {
            messages.push(ChatMessage::system(prompt::LAST_CALL_NOTE));
        }
        let request = ChatRequest {
            model: state.plan.model.clone(),
            messages,
            // The last call offers no tools, so the model has to answer.
            tools: if last && state.iteration > 1 {
                Vec::new()
            } else {
                state.plan.tools.iter().map(|t| t.spec().clone()).collect()
            },
            max_tokens: state.plan.max_tokens,
            temperature: None,
            grounding: state
                .plan
                .grounding
                .iter()
                .map(|h| Grounding {
                    title: h.title.clone(),
                    text: h.text.clone(),
                })
                .collect(),
        };
        let (text, calls) = call_model(state, request, env, sink).await?;
        state.plan.transcript.push(ChatMessage::Assistant {
            content: (!text.is_empty()).then(|| text.clone()),
            tool_calls: calls.clone(),
        });
        state.final_text = text;
        if calls.is_empty() || last {
            return Ok(());
        }
        state.pending = calls.into();
    }
}

/// One streamed model call: tokens go out as they arrive.
async fn call_model(
    state: &mut TurnState,
    request: ChatRequest,
    env: &TurnEnv,
    sink: &dyn EventSink,
) -> Result<(String, Vec<ToolCall>), TurnError> {
    let request_id = state.plan.request_id.clone();
    let mut stream = env.llm.stream(request).await?;
    let mut text = String::new();
    let mut calls = Vec::new();
    while let Some(event) = stream.next().await {
        match event? {
            StreamEvent::Text(delta) => {
                text.push_str(&delta);
                state.streamed.push_str(&delta);
                sink.send(Event::token(&request_id, &delta)).await?;
            }
            StreamEvent::Reasoning(delta) => {
                state.reasoning.push_str(&delta);
                sink.send(Event::reasoning(&request_id, &delta)).await?;
            }
            StreamEvent::ToolCall(call) => calls.push(call),
            StreamEvent::Usage(usage) => {
                let total = state.usage.get_or_insert_with(TokenUsage::default);
                total.prompt_tokens += usage.prompt_tokens;
                total.completion_tokens += usage.completion_tokens;
                total.cost_usd = match (total.cost_usd, usage.cost_usd) {
                    (Some(a), Some(b)) => Some(a + b),
                    (a, b) => a.or(b),
                };
            }
        }
    }
    Ok((text, calls))
}

/// Runs one tool call, parking first when a human must approve it.
async fn run_tool_call(
    state: &mut TurnState,
    call: ToolCall,
    env: &TurnEnv,
    sink: &dyn EventSink,
) -> Result<(), TurnError> {
    let request_id = state.plan.request_id.clone();
    let tool = state
        .plan
        .tools
        .iter()
        .find(|t| t.spec().name == call.name)
        .cloned();
    let call_chunk = Event::chunk(
        &request_id,
        RawResponse::ToolCall(ToolCallInfo {
            name: call.name.clone(),
            arguments: call.arguments.clone(),
        }),
    );
    let approved = if tool.is_some() && env.confirm.requires_confirmation(&call.name) {
        // Register first, then ask: an answer can never arrive before the park
        // exists. The prompt precedes the tool's call chunk by construction.
        let (guard, decision) = env
            .parking
            .park(state.plan.session.id, &request_id, &call.name);
        sink.send(Event::write_confirmation(
            &request_id,
            WriteConfirmation {
                tool_id: call.name.clone(),
                action_description: describe(&call),
            },
        ))
        .await?;
        sink.send(call_chunk).await?;
        let verdict = tokio::time::timeout(env.confirm_timeout, decision).await;
        drop(guard);
        match verdict {
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) => Err("the user rejected this action; it was not performed".to_owned()),
            Ok(Err(_)) | Err(_) => {
                Err("no one approved this action in time; it was not performed".to_owned())
            }
        }
    } else {
        sink.send(call_chunk).await?;
        Ok(())
    };
    let result = match (approved, tool) {
        (Err(refusal), _) => Err(refusal),
        (Ok(()), None) => Err(format!("unknown tool: {}", call.name)),
        (Ok(()), Some(tool)) => match arguments(&call.arguments) {
            Err(e) => Err(e),
            Ok(args) => {
                let ctx = ToolContext {
                    access: state.plan.access.clone(),
                };
                tool.call(&args, &ctx).await.map_err(|e| e.0)
            }
        },
    };
    let (text, is_error) = match result {
        Ok(ToolOutput { text, hits }) => {
            state.tool_hits.extend(hits);
            (text, false)
        }
        Err(message) => (format!("error: {message}"), true),
    };
    sink.send(Event::chunk(
        &request_id,
        RawResponse::ToolResult(ToolResultInfo {
            name: call.name.clone(),
            is_error,
            result: text.chars().take(DISPLAYED_RESULT_CHARS).collect(),
        }),
    ))
    .await?;
    state.plan.transcript.push(ChatMessage::Tool {
        tool_call_id: call.id,
        content: text,
    });
    Ok(())
}

/// The model's arguments as a JSON object (`{}` when empty).
fn arguments(raw: &str) -> Result<serde_json::Value, String> {
    if raw.trim().is_empty() {
        return Ok(serde_json::json!({}));
    }
    match serde_json::from_str::<serde_json::Value>(raw) {
        Ok(value) if value.is_object() => Ok(value),
        _ => Err("the tool arguments were not a JSON object".into()),
    }
}

/// What the human approving a call is shown.
fn describe(call: &ToolCall) -> String {
    let args: String = call.arguments.trim().chars().take(300).collect();
    if args.is_empty() || args == "{}" {
        format!("Tool '{}' requires confirmation. Allow?", call.name)
    } else {
        format!("Tool '{}' wants to run with {args}. Allow?", call.name)
    }
}
