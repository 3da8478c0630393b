//! Payloads of `immediate_response`, one type per action that acknowledges.

use serde::Serialize;

/// The `data` of an `immediate_response`. Each variant matches the `Response` schema
/// of its action exactly: clients validate strictly and drop frames with extra fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Ack {
    /// `{}`: the 202 that starts a turn.
    Empty(Empty),
    SessionCreated(SessionCreated),
    Session(SessionInfo),
    Messages(MessagesPage),
    Conversations(ConversationList),
    ConversationRenamed(ConversationRenamed),
    ToolConfirmation(ToolConfirmation),
    InteractionSubmitted(InteractionSubmitted),
    InteractionDeclined(InteractionDeclined),
}

/// An empty JSON object.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Empty {}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionCreated {
    pub session_id: String,
    pub conversation_id: String,
    pub agent_id: String,
    pub agent_name: String,
    pub user_participant_id: String,
    pub agent_participant_id: String,
}

/// `get_session`: the ids of `create_conversation_session`, plus thread and status.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    #[serde(flatten)]
    pub ids: SessionCreated,
    pub thread_id: String,
    pub status: SessionStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionStatus {
    Active,
    Idle,
    Ended,
}

/// One page of `get_conversation_messages`: exactly `messages`, `nextCursor`, `hasMore`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessagesPage {
    pub messages: Vec<WireMessage>,
    pub next_cursor: Option<String>,
    pub has_more: bool,
}

/// A message as the wire's `ConversationMessage` allows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WireMessage {
    pub id: String,
    pub direction: Direction,
    pub content: WireContent,
    /// Who wrote it, when direction does not say (a human operator).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<super::Party>,
    /// RFC 3339 with millisecond precision.
    pub created_at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From the user.
    Inbound,
    /// From the agent.
    Outbound,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WireContent {
    pub text: String,
}

/// One page of `list_conversations`: exactly `conversations`, `nextCursor`, `hasMore`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationList {
    pub conversations: Vec<ConversationRow>,
    pub next_cursor: Option<String>,
    pub has_more: bool,
}

/// A sidebar row of `list_conversations`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationRow {
    pub conversation_id: String,
    pub title: String,
    /// RFC 3339.
    pub updated_at: String,
    pub message_count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationRenamed {
    pub conversation_id: String,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolConfirmation {
    pub session_id: String,
    pub approved: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InteractionSubmitted {
    pub session_id: String,
    pub interaction_id: String,
    pub kind: String,
    pub values: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InteractionDeclined {
    pub session_id: String,
    pub interaction_id: String,
    pub declined: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_ack_is_an_empty_object() {
        assert_eq!(serde_json::to_string(&Ack::Empty(Empty {})).unwrap(), "{}");
    }

    #[test]
    fn messages_page_has_exactly_the_schema_fields() {
        let page = Ack::Messages(MessagesPage {
            messages: vec![],
            next_cursor: None,
            has_more: false,
        });
        assert_eq!(
            serde_json::to_value(page).unwrap(),
            serde_json::json!({"messages": [], "nextCursor": null, "hasMore": false})
        );
    }
}
