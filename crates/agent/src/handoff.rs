//! The agent's side of human handoff: when it hands a conversation to a person.
//!
//! Three ways, each per agent ([`HandoffPolicy`] in the agent file): the model
//! calls the built-in [`HANDOFF_TOOL`] with a reason; the visitor asks for a person
//! ([`asks_for_person`], checked before any model call); or too many answers in a
//! row found nothing in the knowledge base. Either way the conversation is queued
//! through the [`HandoffDesk`] the server provides, the turn's `eventual_response`
//! says `needsEscalation` with the reason, and the visitor is told a person will
//! answer. (An operator may also take a conversation over; that is the server's.)

use crate::llm::ToolSpec;
use async_trait::async_trait;
use serde::Deserialize;
use switchboard_core::{AgentId, ConversationId, HandoffTrigger, StoreError};

/// The built-in tool the model calls to hand the conversation to a person.
pub const HANDOFF_TOOL: &str = "handoff_to_human";

/// What the visitor is told when the agent hands over, unless the agent says
/// otherwise.
pub const DEFAULT_NOTICE: &str =
    "I've asked a person from our team to take over. They will answer you here shortly.";

/// The conversation metadata key counting answers in a row without knowledge.
pub const UNANSWERED_KEY: &str = "handoffUnanswered";

/// Said by the visitor, these ask for a person (whole words, any case).
const DEFAULT_PHRASES: &[&str] = &[
    "human",
    "a person",
    "real person",
    "someone real",
    "operator",
    "representative",
    "live agent",
    "human agent",
    "support agent",
    "talk to someone",
    "speak to someone",
    "speak with someone",
];

/// When an agent hands a conversation to a person (`handoff` in the agent file).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HandoffPolicy {
    /// Offer the model the `handoff_to_human` tool (default on).
    #[serde(default = "on")]
    pub tool: bool,
    /// Hand over, without asking the model, when the visitor asks for a person
    /// (default on).
    #[serde(default = "on")]
    pub on_request: bool,
    /// What counts as asking for a person (default: "human", "a person",
    /// "operator", "representative", "talk to someone", …).
    pub request_phrases: Option<Vec<String>>,
    /// Hand over after this many answers in a row that cite nothing from the
    /// knowledge base (1-100; default off).
    pub after_unanswered: Option<u32>,
    /// What the visitor is told (default [`DEFAULT_NOTICE`]).
    pub message: Option<String>,
}

fn on() -> bool {
    true
}

impl HandoffPolicy {
    /// What the visitor is told.
    pub fn notice(&self) -> &str {
        self.message
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .unwrap_or(DEFAULT_NOTICE)
    }

    /// Whether `text` asks for a person under this policy.
    pub fn asked_for_person(&self, text: &str) -> bool {
        self.on_request
            && match &self.request_phrases {
                Some(phrases) => asks_for_person(text, phrases.iter().map(String::as_str)),
                None => asks_for_person(text, DEFAULT_PHRASES.iter().copied()),
            }
    }

    /// Rules serde cannot express.
    pub fn check(&self) -> Result<(), String> {
        if let Some(n) = self.after_unanswered
            && !(1..=100).contains(&n)
        {
            return Err("handoff afterUnanswered must be 1-100".into());
        }
        if let Some(phrases) = &self.request_phrases
            && (phrases.len() > 100 || phrases.iter().any(|p| p.trim().is_empty() || p.len() > 100))
        {
            return Err(
                "handoff requestPhrases: at most 100 non-blank phrases of at most 100 bytes".into(),
            );
        }
        Ok(())
    }
}

/// Whether one of `phrases` occurs in `text` as whole words, ignoring case.
pub fn asks_for_person<'p>(text: &str, phrases: impl IntoIterator<Item = &'p str>) -> bool {
    let text = text.to_lowercase();
    phrases.into_iter().any(|phrase| {
        let phrase = phrase.trim().to_lowercase();
        !phrase.is_empty()
            && text.match_indices(&phrase).any(|(at, found)| {
                let before = text[..at].chars().next_back();
                let after = text[at + found.len()..].chars().next();
                !before.is_some_and(char::is_alphanumeric)
                    && !after.is_some_and(char::is_alphanumeric)
            })
    })
}

/// The spec of [`HANDOFF_TOOL`].
pub fn tool_spec() -> ToolSpec {
    ToolSpec {
        name: HANDOFF_TOOL.into(),
        description: "Hand this conversation to a person from the team. Use it when the visitor \
                      asks for a person, or when you cannot help and a person could. After it, \
                      stop: a person answers the visitor from here."
            .into(),
        parameters: serde_json::json!({
            "type": "object",
            "properties": {
                "reason": {
                    "type": "string",
                    "description": "Why a person should take over, in one sentence for them"
                }
            },
            "required": ["reason"]
        }),
    }
}

/// The reason the model gave, bounded; a default when it gave none.
pub fn tool_reason(arguments: &str) -> String {
    let reason = serde_json::from_str::<serde_json::Value>(arguments)
        .ok()
        .and_then(|v| v.get("reason").and_then(|r| r.as_str()).map(str::to_owned))
        .map(|r| r.trim().chars().take(MAX_REASON_CHARS).collect::<String>())
        .unwrap_or_default();
    if reason.is_empty() {
        "The agent asked for a person to take over.".into()
    } else {
        reason
    }
}

/// Reasons are cut here.
pub const MAX_REASON_CHARS: usize = 500;

/// A conversation the agent hands to a person.
#[derive(Debug, Clone)]
pub struct Escalation {
    pub conversation: ConversationId,
    pub agent: AgentId,
    pub trigger: HandoffTrigger,
    pub reason: String,
}

/// Where the agent hands conversations over: the server's handoff queue.
#[async_trait]
pub trait HandoffDesk: Send + Sync + 'static {
    /// Queues the conversation for a person (durably, before it returns). A
    /// conversation a person owns already stays as it is.
    async fn escalate(&self, escalation: Escalation) -> Result<(), StoreError>;
}

/// A turn the visitor asked a person for: queued at once, without the model, and
/// answered with the notice (stored as the agent's message, like any answer).
pub(crate) async fn answer_request(
    env: &crate::turn::TurnEnv,
    request: &crate::TurnRequest,
    policy: &HandoffPolicy,
    io: &crate::turn::TurnIo,
) -> Result<bool, crate::turn::TurnError> {
    use switchboard_protocol::{AgentResponse, Event, ResolutionStatus, TurnOutcome};
    let Some(desk) = &env.handoff else {
        return Ok(false);
    };
    let session = &request.session;
    let reason = "The visitor asked for a person.".to_owned();
    desk.escalate(Escalation {
        conversation: session.conversation_id,
        agent: session.agent_id.clone(),
        trigger: HandoffTrigger::Request,
        reason: reason.clone(),
    })
    .await?;
    if !io.terminal.claim() {
        return Ok(true);
    }
    let conversation = env
        .store
        .get_conversation(session.conversation_id)
        .await?
        .ok_or_else(|| StoreError::Backend("the conversation disappeared".into()))?;
    let notice = policy.notice().to_owned();
    let message = switchboard_core::Message::new(
        &conversation,
        switchboard_core::Direction::Outbound,
        notice.clone(),
    );
    env.store.append_message(&message).await?;
    io.sink
        .send(Event::token(&request.request_id, &notice))
        .await?;
    let mut response = AgentResponse::reply(notice, Vec::new());
    response.resolution_status = ResolutionStatus::RequiresEscalation;
    let outcome = TurnOutcome {
        message_id: message.id.to_string(),
        response,
        needs_escalation: true,
        escalation_reason: Some(reason),
        usage: None,
        citations: Vec::new(),
        directive: None,
    };
    io.terminal.release();
    io.sink
        .send(Event::eventual(&request.request_id, outcome))
        .await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asking_for_a_person_is_matched_on_whole_words() {
        let asks = |text: &str| asks_for_person(text, DEFAULT_PHRASES.iter().copied());
        assert!(asks("Can I talk to a HUMAN please?"));
        assert!(asks("I want a person."));
        assert!(asks("get me an operator"));
        assert!(!asks("Is this humanly possible?"));
        assert!(!asks("How long is the return window?"));
        assert!(!asks("personal data export"));
    }

    #[test]
    fn reasons_are_bounded_and_never_empty() {
        assert_eq!(
            tool_reason(r#"{"reason":" refund over limit "}"#),
            "refund over limit"
        );
        assert!(!tool_reason("{}").is_empty());
        assert!(!tool_reason("not json").is_empty());
        let long = format!(r#"{{"reason":"{}"}}"#, "x".repeat(2000));
        assert_eq!(tool_reason(&long).chars().count(), MAX_REASON_CHARS);
    }
}
