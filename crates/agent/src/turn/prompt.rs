//! What the model is given: the system prompt, retrieved knowledge, and memory.

use crate::llm::ChatMessage;
use switchboard_core::{
    ConversationId, Direction, MessageId, MessageQuery, Order, Store, StoreResult,
};
use switchboard_knowledge::Hit;

/// The system prompt when the agent has no instructions of its own.
pub const DEFAULT_INSTRUCTIONS: &str = "You are a helpful customer-support agent for this organisation. \
Answer the visitor's question using the knowledge provided in this conversation and the tools available to you. \
When the knowledge does not cover the question, say so plainly instead of guessing. \
Keep answers short, friendly and specific.";

/// The parts of the system prompt.
pub struct PromptParts<'a> {
    /// The agent's instructions (the default ones when `None`).
    pub instructions: Option<&'a str>,
    /// The personality: the organisation's persona, else the agent's.
    pub persona: Option<&'a str>,
    /// The agent's greeting, on the conversation's first turn only.
    pub greeting: Option<&'a str>,
    /// The workflow step being pursued.
    pub workflow: Option<String>,
    /// A skill invoked for this turn: (name, body).
    pub skill: Option<(&'a str, &'a str)>,
}

/// Composes the system prompt: instructions, personality, greeting awareness.
pub fn system_prompt(parts: PromptParts<'_>) -> String {
    let mut prompt = parts
        .instructions
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .unwrap_or(DEFAULT_INSTRUCTIONS)
        .to_owned();
    if let Some(persona) = parts.persona.map(str::trim).filter(|p| !p.is_empty()) {
        prompt.push_str(&format!("\n\n<Personality>\n{persona}\n</Personality>"));
    }
    if let Some(greeting) = parts.greeting.map(str::trim).filter(|g| !g.is_empty()) {
        prompt.push_str(&format!(
            "\n\n<GreetingAwareness>\nThis is the start of the conversation. Open with a natural variant of this greeting, then help with the visitor's message: {greeting}\n</GreetingAwareness>"
        ));
    }
    if let Some(workflow) = parts.workflow {
        prompt.push_str("\n\n");
        prompt.push_str(&workflow);
    }
    if let Some((name, body)) = parts.skill {
        prompt.push_str("\n\n");
        prompt.push_str(&crate::skills::prompt_section(name, body));
    }
    prompt
}

/// How many past messages a turn looks at, at most.
pub const HISTORY_MESSAGES: usize = 50;

/// The knowledge retrieved for this turn, as a system message.
pub fn knowledge_message(hits: &[Hit]) -> Option<ChatMessage> {
    if hits.is_empty() {
        return None;
    }
    let mut text = String::from(
        "[Relevant knowledge]\nPassages from the organisation's documents that may answer the visitor. Prefer them over general knowledge and name the source you used.\n",
    );
    for hit in hits {
        text.push_str(&format!(
            "- (source={}, score={:.2}): {}\n",
            hit.title, hit.score, hit.text
        ));
    }
    Some(ChatMessage::system(text))
}

/// The conversation's most recent messages, oldest first, within `token_budget`
/// (estimated at four characters a token), leaving out `exclude` (this turn's own
/// message).
pub async fn history(
    store: &dyn Store,
    conversation: ConversationId,
    exclude: MessageId,
    token_budget: usize,
) -> StoreResult<Vec<ChatMessage>> {
    let page = store
        .list_messages(MessageQuery {
            conversation_id: conversation,
            limit: HISTORY_MESSAGES + 1,
            order: Order::NewestFirst,
            after: None,
        })
        .await?;
    let mut used = 0;
    let mut kept = Vec::new();
    for message in page.messages.iter().filter(|m| m.id != exclude) {
        if message.text.trim().is_empty() {
            continue;
        }
        let cost = message.text.chars().count().div_ceil(4) + 4;
        if used + cost > token_budget || kept.len() == HISTORY_MESSAGES {
            break;
        }
        used += cost;
        kept.push(match message.direction {
            Direction::Inbound => ChatMessage::user(message.text.clone()),
            // A person of the team answered while the conversation was theirs.
            Direction::Outbound if message.sender.is_some() => {
                ChatMessage::assistant(format!("{OPERATOR_PREFIX}{}", message.text))
            }
            Direction::Outbound => ChatMessage::assistant(message.text.clone()),
        });
    }
    kept.reverse();
    Ok(kept)
}

/// Marks, in the model's history, what a person of the team wrote (not the agent).
pub const OPERATOR_PREFIX: &str = "[Written by a person from the team, not by you] ";

/// A note for the last model call a turn may make.
pub const LAST_CALL_NOTE: &str = "You have used every tool call allowed for this turn. Answer now with what you know, and say plainly what you could not finish.";
