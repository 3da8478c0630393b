//! What visitors and operators are told about handoffs.
//!
//! Visitors get only protocol events their clients already accept: a message
//! turn held for a person ends with an `eventual_response` that has no agent text
//! and says `needsEscalation`; an operator's reply arrives as an unsolicited
//! `eventual_response` (request id `handoff-<message id>`) whose response names
//! its writer in `from`, the domain message's sender shape. Operators get
//! [`Notice`]s through the admin API's event stream.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use switchboard_core::{ConversationId, Direction, Handoff, Message, OrgId, ParticipantId};
use switchboard_protocol::{AgentResponse, Event, Party, TurnOutcome};

/// The terminal event of a visitor's message while a person owns the
/// conversation: stored and shown to operators, but not answered by the agent.
pub fn held_event(request_id: &str, handoff: &Handoff) -> Event {
    Event::eventual(
        request_id,
        TurnOutcome {
            message_id: uuid::Uuid::new_v4().to_string(),
            response: AgentResponse::with_person(),
            needs_escalation: true,
            escalation_reason: Some(handoff.reason.clone()),
            usage: None,
            citations: Vec::new(),
            directive: None,
        },
    )
}

/// An operator's reply as the visitor's clients receive it.
pub fn operator_event(
    message: &Message,
    participant: ParticipantId,
    name: &str,
) -> serde_json::Value {
    let event = Event::eventual(
        &format!("handoff-{}", message.id),
        TurnOutcome {
            message_id: message.id.to_string(),
            response: AgentResponse::from_person(
                message.text.clone(),
                Party {
                    id: participant.to_string(),
                    kind: "human-agent".into(),
                    name: Some(name.to_owned()),
                },
            ),
            needs_escalation: true,
            escalation_reason: None,
            usage: None,
            citations: Vec::new(),
            directive: None,
        },
    );
    serde_json::to_value(&event).unwrap_or_default()
}

/// What happened to a handoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoticeKind {
    /// It entered the queue.
    Queued,
    /// An operator claimed it (or took it over).
    Claimed,
    /// A message was written in it (by the visitor or the operator).
    Message,
    /// It was handed back to the agent.
    Returned,
    /// It was closed.
    Closed,
}

/// One thing that happened to a handoff, for the operators of its organisation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notice {
    pub kind: NoticeKind,
    pub org_id: OrgId,
    pub conversation_id: ConversationId,
    /// The record as it is now.
    pub handoff: Handoff,
    /// The message, for `message` notices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<NoticeMessage>,
}

/// A message as an operator's view shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NoticeMessage {
    pub id: String,
    pub direction: Direction,
    pub text: String,
    /// The operator who wrote it; `None` for the visitor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    pub created_at: String,
}

impl Notice {
    pub fn of(kind: NoticeKind, handoff: &Handoff) -> Self {
        Self {
            kind,
            org_id: handoff.org_id.clone(),
            conversation_id: handoff.conversation_id,
            handoff: handoff.clone(),
            message: None,
        }
    }

    pub fn message(handoff: &Handoff, message: &Message, from: Option<&str>) -> Self {
        Self {
            message: Some(NoticeMessage {
                id: message.id.to_string(),
                direction: message.direction,
                text: message.text.clone(),
                from: from.map(str::to_owned),
                created_at: time(message.created_at),
            }),
            ..Self::of(NoticeKind::Message, handoff)
        }
    }
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}
