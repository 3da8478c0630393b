//! Running one tool call: the identity gate, human approval, Rich Interactions.

use super::clock::TurnClock;
use super::state::{Parked, Resolution, TurnState, Waiting};
use super::{TurnEnv, TurnError, TurnIo, TurnTools};
use crate::contact;
use crate::interactions::{self, Kind};
use crate::llm::{ChatMessage, ToolCall, ToolSpec};
use crate::tools::{AuthLevel, Tool, ToolContext, ToolOutput};
use chrono::Utc;
use switchboard_core::ParkedTurn;
use switchboard_protocol::{
    Event, InteractionRequired, RawResponse, ToolCallInfo, ToolResultInfo, WriteConfirmation,
};
use tracing::Instrument;
use uuid::Uuid;

/// Tool results shown to the client are cut here; the model gets all of it.
const DISPLAYED_RESULT_CHARS: usize = 500;

pub use crate::interactions::SUBMIT_TOOL;

/// A call's result before it is shown: the text for the model, or the error.
type Outcome = Result<ToolOutput, String>;

/// The specs of the tools offered to the model, in the state's order.
pub(super) fn specs(state: &TurnState, tools: &TurnTools) -> Vec<ToolSpec> {
    state
        .tools
        .iter()
        .filter_map(|name| {
            if let Some(kind) = Kind::from_raise_tool(name) {
                let (description, parameters) = kind.raise_spec();
                return Some(ToolSpec {
                    name: name.clone(),
                    description,
                    parameters,
                });
            }
            if name == crate::handoff::HANDOFF_TOOL {
                return Some(crate::handoff::tool_spec());
            }
            if name == SUBMIT_TOOL {
                let (description, parameters) =
                    interactions::submit_tool_spec(&fallback_kinds(state));
                return Some(ToolSpec {
                    name: name.clone(),
                    description,
                    parameters,
                });
            }
            tools
                .iter()
                .find(|t| t.spec().name == *name)
                .map(|t| t.spec().clone())
        })
        .collect()
}

/// The interaction kinds this session cannot render, so handles in conversation.
pub fn fallback_kinds(state: &TurnState) -> Vec<Kind> {
    Kind::ALL
        .into_iter()
        .filter(|k| !state.supports.iter().any(|s| s == k.capability()))
        .collect()
}

/// Runs the front pending call to its result chunk.
pub(super) async fn run(
    state: &mut TurnState,
    call: ToolCall,
    tools: &TurnTools,
    env: &TurnEnv,
    io: &TurnIo,
    clock: &TurnClock,
) -> Result<(), TurnError> {
    let span = crate::observe::tool_span(
        &state.conversation_id.to_string(),
        state.access.org.as_deref().unwrap_or_default(),
        &call.name,
        &call.arguments,
    );
    let started = std::time::Instant::now();
    let outcome = dispatch(state, &call, tools, env, io, clock)
        .instrument(span.clone())
        .await?;
    crate::observe::record_tool_end(
        &span,
        started.elapsed(),
        outcome.as_ref().err().map(String::as_str),
    );
    finish_call(state, call, outcome, io).await
}

/// Runs the call: a raise, a submission in conversation, or a configured tool.
async fn dispatch(
    state: &mut TurnState,
    call: &ToolCall,
    tools: &TurnTools,
    env: &TurnEnv,
    io: &TurnIo,
    clock: &TurnClock,
) -> Result<Outcome, TurnError> {
    let offered = state.tools.contains(&call.name);
    Ok(
        match Kind::from_raise_tool(&call.name).filter(|_| offered) {
            Some(kind) => raise(state, call, kind, env, io, clock).await?,
            None if offered && call.name == SUBMIT_TOOL => {
                io.sink.send(call_chunk(state, call)).await?;
                submit_in_conversation(state, call, env).await?
            }
            None if offered && call.name == crate::handoff::HANDOFF_TOOL => {
                io.sink.send(call_chunk(state, call)).await?;
                hand_over(state, call, env).await?
            }
            None => match tools
                .iter()
                .find(|t| t.spec().name == call.name)
                .filter(|_| offered)
            {
                Some(tool) => regular(state, call, tool.as_ref(), env, io, clock).await?,
                None => {
                    io.sink.send(call_chunk(state, call)).await?;
                    Err(format!("unknown tool: {}", call.name))
                }
            },
        },
    )
}

/// Shows the call's result and gives it to the model.
async fn finish_call(
    state: &mut TurnState,
    call: ToolCall,
    outcome: Outcome,
    io: &TurnIo,
) -> Result<(), TurnError> {
    let (text, is_error) = match outcome {
        Ok(output) => {
            state.tool_hits.extend(output.hits);
            (output.text, false)
        }
        Err(message) => (format!("error: {message}"), true),
    };
    io.sink
        .send(Event::chunk(
            &state.request_id,
            RawResponse::ToolResult(ToolResultInfo {
                name: call.name.clone(),
                is_error,
                result: text.chars().take(DISPLAYED_RESULT_CHARS).collect(),
            }),
        ))
        .await?;
    state.transcript.push(ChatMessage::Tool {
        tool_call_id: call.id,
        content: text,
    });
    Ok(())
}

/// A configured tool: refused without the identity it needs, approved by a human
/// first when policy says so, then run.
async fn regular(
    state: &mut TurnState,
    call: &ToolCall,
    tool: &dyn Tool,
    env: &TurnEnv,
    io: &TurnIo,
    clock: &TurnClock,
) -> Result<Outcome, TurnError> {
    if let Some(refusal) = gate(state, tool) {
        io.sink.send(call_chunk(state, call)).await?;
        if tool.auth_level() == AuthLevel::EndUser
            && !state.refused_for_identity.contains(&call.name)
        {
            state.refused_for_identity.push(call.name.clone());
        }
        return Ok(Err(refusal));
    }
    if env.confirm.requires_confirmation(&call.name) {
        let waiting = Waiting::Confirmation {
            tool: call.name.clone(),
            description: describe(call),
        };
        match park(state, call, waiting, env, io, clock).await? {
            Resolution::Approved => {}
            _ => {
                return Ok(Err(
                    "the user rejected this action; it was not performed".into()
                ));
            }
        }
    } else {
        io.sink.send(call_chunk(state, call)).await?;
    }
    let arguments = match arguments(&call.arguments) {
        Ok(arguments) => arguments,
        Err(e) => return Ok(Err(e)),
    };
    let ctx = ToolContext {
        access: state.access.clone(),
        session_id: state.session_id,
        agent_id: state.agent_id.clone(),
    };
    Ok(tool.call(&arguments, &ctx).await.map_err(|e| e.0))
}

/// The identity a tool needs, if the session lacks it: the refusal the model sees.
fn gate(state: &TurnState, tool: &dyn Tool) -> Option<String> {
    let name = &tool.spec().name;
    match tool.auth_level() {
        AuthLevel::None => None,
        _ if state.internal_agent => None,
        AuthLevel::Admin => Some(format!(
            "Tool '{name}' requires admin authentication and is not available on public-facing agents."
        )),
        AuthLevel::EndUser if state.verified => None,
        AuthLevel::EndUser => Some(format!(
            "I need to verify your identity before I can use {name}. Please verify with a one-time code."
        )),
    }
}

/// A Rich Interaction raise: a card the client can render parks the turn; for a
/// client that cannot, the model is told to ask in conversation instead.
async fn raise(
    state: &mut TurnState,
    call: &ToolCall,
    kind: Kind,
    env: &TurnEnv,
    io: &TurnIo,
    clock: &TurnClock,
) -> Result<Outcome, TurnError> {
    let parsed = arguments(&call.arguments).and_then(|a| kind.parse_raise(&a).map_err(|e| e.0));
    let raise = match parsed {
        Ok(raise) => raise,
        Err(e) => {
            io.sink.send(call_chunk(state, call)).await?;
            return Ok(Err(e));
        }
    };
    if !state.supports.iter().any(|s| s == kind.capability()) {
        io.sink.send(call_chunk(state, call)).await?;
        state.stashed_specs.insert(
            kind.name().to_owned(),
            serde_json::Value::Object(raise.spec.clone()),
        );
        return Ok(Ok(ToolOutput::text(interactions::fallback_result(
            kind, &raise,
        ))));
    }
    let waiting = Waiting::Interaction {
        interaction_id: Uuid::new_v4().to_string(),
        kind: kind.name().to_owned(),
        spec: raise.spec.clone(),
        reason: raise.reason.clone(),
    };
    Ok(match park(state, call, waiting, env, io, clock).await? {
        Resolution::Submitted { values } => {
            Ok(ToolOutput::text(interactions::submitted_result(&values)))
        }
        Resolution::Declined => Ok(ToolOutput::text(interactions::declined_result())),
        _ => Err("the interaction was answered with something else".into()),
    })
}

/// The conversational fallback's `submit_interaction` tool: values the model
/// collected in chat, validated like a card's.
async fn submit_in_conversation(
    state: &mut TurnState,
    call: &ToolCall,
    env: &TurnEnv,
) -> Result<Outcome, TurnError> {
    let arguments = match arguments(&call.arguments) {
        Ok(arguments) => arguments,
        Err(e) => return Ok(Err(e)),
    };
    let stashed = state.stashed_specs.clone();
    let lookup = |kind: Kind| {
        stashed
            .get(kind.name())
            .and_then(|s| s.as_object().cloned())
    };
    match interactions::submit_tool_call(&arguments, &lookup) {
        Ok((kind, canonical, text)) => {
            if let (Kind::IdentityIntake, Some(canonical)) = (kind, canonical) {
                contact::attach_identity(&*env.store, state.session_id, &canonical.values).await?;
            }
            Ok(Ok(ToolOutput::text(text)))
        }
        Err(e) => Ok(Err(e.0)),
    }
}

/// `handoff_to_human`: queues the conversation for a person; the turn then ends
/// by telling the visitor so.
async fn hand_over(
    state: &mut TurnState,
    call: &ToolCall,
    env: &TurnEnv,
) -> Result<Outcome, TurnError> {
    let Some(desk) = &env.handoff else {
        return Ok(Err("handing over to a person is not available here".into()));
    };
    if state.escalated.is_some() {
        return Ok(Ok(ToolOutput::text(
            "A person has already been asked to take over.",
        )));
    }
    let reason = crate::handoff::tool_reason(&call.arguments);
    desk.escalate(crate::handoff::Escalation {
        conversation: state.conversation_id,
        agent: switchboard_core::AgentId::new(state.agent_id.clone()),
        trigger: switchboard_core::HandoffTrigger::Tool,
        reason: reason.clone(),
    })
    .await?;
    state.escalated = Some(reason);
    Ok(Ok(ToolOutput::text(
        "A person from the team has been asked to take over; the visitor is told so. Say nothing more.",
    )))
}

/// How long a turn whose park was taken by someone else at its deadline waits for
/// that answer (or word that it resumed elsewhere) before it counts as expired.
const HANDOFF_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Waits for a human's answer to `waiting`. Resumed turns already carry it. A
/// fresh wait is stored before the client is asked, so the answer can resume the
/// turn even if this task is gone by then; the park event precedes the call's
/// chunk by construction.
async fn park(
    state: &mut TurnState,
    call: &ToolCall,
    waiting: Waiting,
    env: &TurnEnv,
    io: &TurnIo,
    clock: &TurnClock,
) -> Result<Resolution, TurnError> {
    if let Some(resolution) = state.resolution.take() {
        return Ok(resolution);
    }
    // From here the turn waits for a human, which the deadline does not count; it
    // stops before the park is stored, so a deadline cannot strand a stored park.
    clock.pause();
    let resolution = wait_for_answer(state, call, waiting, env, io).await?;
    clock.restart();
    Ok(resolution)
}

/// Stores the park, asks the human, and waits for the answer.
async fn wait_for_answer(
    state: &mut TurnState,
    call: &ToolCall,
    waiting: Waiting,
    env: &TurnEnv,
    io: &TurnIo,
) -> Result<Resolution, TurnError> {
    let park_id = match &waiting {
        Waiting::Interaction { interaction_id, .. } => {
            Uuid::parse_str(interaction_id).unwrap_or_else(|_| Uuid::new_v4())
        }
        Waiting::Confirmation { .. } => Uuid::new_v4(),
    };
    let now = Utc::now();
    let ttl = chrono::Duration::from_std(env.park_ttl).unwrap_or(chrono::Duration::minutes(5));
    let parked = ParkedTurn {
        id: park_id,
        session_id: state.session_id,
        request_id: state.request_id.clone(),
        created_at: now,
        expires_at: now + ttl,
        state: Parked {
            turn: state.clone(),
            waiting: waiting.clone(),
        }
        .to_value(),
    };
    env.store
        .put_parked_turn(&parked)
        .instrument(crate::observe::store_span("put_parked_turn"))
        .await?;
    let _waiting = crate::observe::WaitingForHuman::start(&env.observe);
    let (guard, mut answer) = env.parking.wait(state.session_id, park_id);
    io.sink
        .send(park_event(&state.request_id, &waiting))
        .await?;
    io.sink.send(call_chunk(state, call)).await?;
    let deadline = tokio::time::Instant::now() + env.park_ttl;
    let resolution = match tokio::time::timeout_at(deadline, &mut answer).await {
        Ok(Ok(resolution)) => resolution,
        // The waiter was dropped: the park was taken and resumed on another replica.
        Ok(Err(_)) => return Err(TurnError::Handed),
        Err(_) => match env
            .store
            .take_parked_turn(state.session_id, Some(park_id))
            .await?
        {
            // Nobody answered: it expires here.
            Some(_) => return Err(TurnError::Expired),
            // Someone took it at this very moment: the answer is on its way here,
            // or it resumes elsewhere. Or the store's sweeper removed it: the wait
            // is bounded, so a turn never waits forever on an answer nobody sends.
            None => match tokio::time::timeout(HANDOFF_WAIT, &mut answer).await {
                Ok(Ok(resolution)) => resolution,
                Ok(Err(_)) => return Err(TurnError::Handed),
                Err(_) => return Err(TurnError::Expired),
            },
        },
    };
    drop(guard);
    Ok(resolution)
}

/// The event that asks the human.
pub fn park_event(request_id: &str, waiting: &Waiting) -> Event {
    match waiting {
        Waiting::Confirmation { tool, description } => Event::write_confirmation(
            request_id,
            WriteConfirmation {
                tool_id: tool.clone(),
                action_description: description.clone(),
            },
        ),
        Waiting::Interaction {
            interaction_id,
            kind,
            spec,
            reason,
        } => Event::interaction_required(
            request_id,
            InteractionRequired {
                interaction_id: interaction_id.clone(),
                kind: kind.clone(),
                spec: spec.clone(),
                reason: reason.clone(),
            },
        ),
    }
}

fn call_chunk(state: &TurnState, call: &ToolCall) -> Event {
    Event::chunk(
        &state.request_id,
        RawResponse::ToolCall(ToolCallInfo {
            name: call.name.clone(),
            arguments: call.arguments.clone(),
        }),
    )
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
