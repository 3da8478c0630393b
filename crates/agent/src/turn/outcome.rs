//! The end of a successful turn: choose the reply, store it, cite, and emit
//! `eventual_response`.

use super::{EventSink, TerminalClaim, TurnEnv, TurnError, TurnState};
use switchboard_core::{Direction, Message};
use switchboard_knowledge::Hit;
use switchboard_protocol::{AgentResponse, Citation, Event, TurnOutcome, Usage};

/// At most this many citations per turn.
const MAX_CITATIONS: usize = 8;
/// Citation snippets are cut here.
const SNIPPET_CHARS: usize = 280;
/// Said when the model produced nothing at all.
const EMPTY_REPLY: &str =
    "I'm sorry, I couldn't come up with an answer to that. Could you rephrase it?";

pub(super) async fn finish(
    state: TurnState,
    env: &TurnEnv,
    sink: &dyn EventSink,
    terminal: &TerminalClaim,
) -> Result<(), TurnError> {
    // Claim before storing: a cancel that loses the race must not leave a stored
    // reply behind a `cancelled` event.
    if !terminal.claim() {
        return Ok(());
    }
    let request_id = state.plan.request_id.clone();
    let mut reply = [&state.final_text, &state.streamed, &state.reasoning]
        .into_iter()
        .find(|t| !t.trim().is_empty())
        .map(|t| t.trim().to_owned())
        .unwrap_or_default();
    if reply.is_empty() {
        reply = EMPTY_REPLY.to_owned();
        sink.send(Event::token(&request_id, EMPTY_REPLY)).await?;
    }
    let conversation = env
        .store
        .get_conversation(state.plan.session.conversation_id)
        .await?
        .ok_or_else(|| {
            switchboard_core::StoreError::Backend("the conversation disappeared".into())
        })?;
    let message = Message::new(&conversation, Direction::Outbound, reply.clone());
    env.store.append_message(&message).await?;
    terminal.release();
    let citations = citations(state.plan.grounding.iter().chain(&state.tool_hits));
    let outcome = TurnOutcome {
        message_id: message.id.to_string(),
        response: AgentResponse::reply(reply, Vec::new()),
        needs_escalation: false,
        escalation_reason: None,
        usage: state.usage.map(|u| Usage {
            cost_usd: u.cost_usd,
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
        }),
        citations,
        directive: None,
    };
    sink.send(Event::eventual(&request_id, outcome)).await?;
    Ok(())
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
