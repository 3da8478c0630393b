//! The end of a successful turn: choose the reply, store it, offer identity
//! verification when a tool needed it, cite, and emit `eventual_response`.

use super::clock::TurnClock;
use super::state::TurnState;
use super::{TurnEnv, TurnError, TurnIo};
use crate::contact;
use crate::llm::TokenUsage;
use crate::otp::Contact;
use switchboard_core::{Direction, Message, StoreError};
use switchboard_knowledge::Hit;
use switchboard_protocol::{
    AgentResponse, Citation, ErrorCode, Event, OtpSent, OtpVerificationRequired, TurnOutcome, Usage,
};
use tracing::Instrument;

/// At most this many citations per turn.
const MAX_CITATIONS: usize = 8;
/// Citation snippets are cut here.
const SNIPPET_CHARS: usize = 280;
/// Said when the model produced nothing at all.
const EMPTY_REPLY: &str =
    "I'm sorry, I couldn't come up with an answer to that. Could you rephrase it?";

pub(super) async fn finish(
    mut state: TurnState,
    env: &TurnEnv,
    io: &TurnIo,
    clock: &TurnClock,
) -> Result<bool, TurnError> {
    // Claim before storing: a cancel that loses the race must not leave a stored
    // reply behind a `cancelled` event.
    if !io.terminal.claim() {
        return Ok(false);
    }
    let request_id = state.request_id.clone();
    let mut reply = [&state.final_text, &state.streamed, &state.reasoning]
        .into_iter()
        .find(|t| !t.trim().is_empty())
        .map(|t| t.trim().to_owned())
        .unwrap_or_default();
    let conversation = env
        .store
        .get_conversation(state.conversation_id)
        .await?
        .ok_or_else(|| StoreError::Backend("the conversation disappeared".into()))?;
    let escalation = match &state.escalated {
        Some(reason) => Some(reason.clone()),
        None => count_unanswered(&state, &conversation, env).await?,
    };
    if escalation.is_some() {
        // The visitor is told a person will answer, after whatever the model said.
        let notice = env
            .handoff_policies
            .get(&state.agent_id)
            .map_or(crate::handoff::DEFAULT_NOTICE, |p| p.notice());
        let said = if reply.is_empty() {
            notice.to_owned()
        } else {
            format!("\n\n{notice}")
        };
        io.sink.send(Event::token(&request_id, &said)).await?;
        reply.push_str(&said);
    } else if reply.is_empty() {
        reply = EMPTY_REPLY.to_owned();
        io.sink.send(Event::token(&request_id, EMPTY_REPLY)).await?;
    }
    let message = Message::new(&conversation, Direction::Outbound, reply.clone());
    env.store
        .append_message(&message)
        .instrument(crate::observe::store_span("append_message"))
        .await?;
    if let Some(tool) = state.refused_for_identity.first() {
        offer_verification(&state, tool, env, io).await?;
    }
    if let Some(judged) = advance_workflow(&state, &reply, env, clock).await? {
        super::add_usage(&mut state.usage, judged);
    }
    let mut response = AgentResponse::reply(reply, state.suggestions.clone());
    if escalation.is_some() {
        response.resolution_status = switchboard_protocol::ResolutionStatus::RequiresEscalation;
    }
    let outcome = TurnOutcome {
        message_id: message.id.to_string(),
        response,
        needs_escalation: escalation.is_some(),
        escalation_reason: escalation,
        usage: state.usage.map(|u| Usage {
            cost_usd: u.cost_usd,
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
        }),
        citations: citations(state.grounding.iter().chain(&state.tool_hits)),
        directive: None,
    };
    io.terminal.release();
    crate::observe::record_usage(&tracing::Span::current(), state.usage.as_ref());
    io.sink.send(Event::eventual(&request_id, outcome)).await?;
    Ok(true)
}

/// The agent's "answers in a row without knowledge" policy: an answer that cites
/// nothing from the knowledge base counts one more, one that cites something
/// starts the count again; at the limit the conversation is handed to a person
/// (and the count starts again). Returns the reason when it was handed over.
async fn count_unanswered(
    state: &TurnState,
    conversation: &switchboard_core::Conversation,
    env: &TurnEnv,
) -> Result<Option<String>, TurnError> {
    let limit = env
        .handoff_policies
        .get(&state.agent_id)
        .and_then(|p| p.after_unanswered);
    let (Some(limit), Some(desk)) = (limit, &env.handoff) else {
        return Ok(None);
    };
    let key = crate::handoff::UNANSWERED_KEY;
    let before = conversation
        .metadata
        .get(key)
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0);
    let cited = !(state.grounding.is_empty() && state.tool_hits.is_empty());
    let count = if cited { 0 } else { before + 1 };
    let reached = count >= u64::from(limit);
    let stored = if reached { 0 } else { count };
    if stored != before {
        let mut metadata = conversation.metadata.clone();
        metadata.insert(key.into(), serde_json::Value::from(stored));
        env.store
            .update_conversation(
                conversation.id,
                switchboard_core::ConversationUpdate {
                    metadata: Some(metadata),
                    ..Default::default()
                },
            )
            .await?;
    }
    if !reached {
        return Ok(None);
    }
    let reason = format!("{limit} answers in a row found nothing in the knowledge base.");
    desk.escalate(crate::handoff::Escalation {
        conversation: conversation.id,
        agent: switchboard_core::AgentId::new(state.agent_id.clone()),
        trigger: switchboard_core::HandoffTrigger::Unanswered,
        reason: reason.clone(),
    })
    .await?;
    Ok(Some(reason))
}

/// A tool was refused for want of a verified identity: when the session has a
/// contact and a one-time-code service is set up, send a code now.
async fn offer_verification(
    state: &TurnState,
    tool: &str,
    env: &TurnEnv,
    io: &TurnIo,
) -> Result<(), TurnError> {
    let Some(otp) = &env.otp else {
        return Ok(());
    };
    let Some(session) = env.store.get_session(state.session_id).await? else {
        return Ok(());
    };
    let contact = Contact {
        email: contact::email(&session),
        phone: contact::phone(&session),
    };
    let channels = otp.channels(&contact);
    if channels.is_empty() {
        return Ok(());
    }
    io.sink
        .send(Event::otp_verification_required(
            &state.request_id,
            OtpVerificationRequired {
                tool_id: tool.to_owned(),
                action_description: format!("Verify your identity to continue using '{tool}'."),
                available_channels: channels,
                auth_level: "end_user".into(),
            },
        ))
        .await?;
    let event = match otp.send(state.session_id, &contact, io.client).await {
        Ok(sent) => Event::otp_sent(
            &state.request_id,
            OtpSent {
                channel: sent.channel,
                masked_destination: sent.masked_destination,
            },
        ),
        Err(e) => {
            tracing::warn!(session = %state.session_id, error = %e, "could not send a one-time code");
            Event::error(
                Some(state.request_id.clone()),
                ErrorCode::OtpSendFailed,
                e.client_message(),
            )
        }
    };
    io.sink.send(event).await?;
    Ok(())
}

/// Asks the judge whether this exchange met the workflow step, and records where
/// the conversation now is. Returns what judging cost, for the turn's usage.
async fn advance_workflow(
    state: &TurnState,
    reply: &str,
    env: &TurnEnv,
    clock: &TurnClock,
) -> Result<Option<TokenUsage>, TurnError> {
    let (Some(position), Some(model)) = (&state.workflow, &env.judge_model) else {
        return Ok(None);
    };
    let Some(workflow) = env.workflows.get(&state.agent_id) else {
        return Ok(None);
    };
    let Some(step) = workflow.step(&position.step) else {
        return Ok(None);
    };
    let user = state
        .transcript
        .iter()
        .rev()
        .find_map(|m| match m {
            crate::llm::ChatMessage::User { content, .. } => Some(content.as_str()),
            _ => None,
        })
        .unwrap_or_default();
    let judging = crate::workflow::judge(&*env.llm, model, workflow, step, user, reply);
    // Past the deadline the judge is not waited for: "maybe" leaves the step as is.
    let (verdict, usage) = clock.bound(judging).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "workflow judge cut off");
        (crate::workflow::Verdict::Maybe, None)
    });
    let next = workflow.advance(position, verdict);
    let Some(conversation) = env.store.get_conversation(state.conversation_id).await? else {
        return Ok(usage);
    };
    let mut metadata = conversation.metadata.clone();
    crate::workflow::Workflow::store(&next, &mut metadata);
    env.store
        .update_conversation(
            state.conversation_id,
            switchboard_core::ConversationUpdate {
                metadata: Some(metadata),
                ..Default::default()
            },
        )
        .await?;
    Ok(usage)
}

/// Retrieved passages as citations: first occurrence of each document wins.
fn citations<'h>(hits: impl Iterator<Item = &'h Hit>) -> Vec<Citation> {
    let mut out: Vec<Citation> = Vec::new();
    for hit in hits {
        if out.len() == MAX_CITATIONS {
            break;
        }
        if out.iter().any(|c| c.id == hit.document_id) {
            continue;
        }
        let mut snippet: String = hit.text.chars().take(SNIPPET_CHARS).collect();
        if hit.text.chars().count() > SNIPPET_CHARS {
            snippet.push('…');
        }
        out.push(Citation {
            id: hit.document_id.clone(),
            title: hit.title.clone(),
            url: hit.url.clone(),
            snippet,
            score: hit.score,
        });
    }
    out
}
