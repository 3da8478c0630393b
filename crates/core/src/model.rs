//! The records Switchboard keeps.

use crate::ids::*;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Free-form JSON metadata.
pub type Metadata = Map<String, Value>;

/// The conversation metadata key holding the client's declared render capabilities.
pub const CLIENT_SUPPORTS_KEY: &str = "clientSupports";

/// A conversation thread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Conversation {
    pub id: ConversationId,
    pub org_id: OrgId,
    pub platform: Platform,
    pub name: String,
    pub idempotency_key: String,
    pub metadata: Metadata,
    pub created_at: DateTime<Utc>,
    /// Moves on rename, metadata writes and every new message.
    pub updated_at: DateTime<Utc>,
}

impl Conversation {
    /// The render capabilities this conversation last declared.
    pub fn client_supports(&self) -> Vec<String> {
        match self.metadata.get(CLIENT_SUPPORTS_KEY) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// The channel a conversation happens on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Web,
    Messenger,
    Instagram,
    Email,
    Discord,
    Phone,
    Sms,
    Slack,
    Whatsapp,
    Tiktok,
}

/// Who a participant is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ParticipantKind {
    User,
    AiAgent,
    HumanAgent,
}

/// A party to a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Participant {
    pub id: ParticipantId,
    pub conversation_id: ConversationId,
    pub org_id: OrgId,
    pub kind: ParticipantKind,
    pub name: String,
    pub email: Option<String>,
    /// The verified identity (`sub`) of a user, when there was one.
    pub external_id: Option<String>,
    /// For AI agents: the agent id.
    pub internal_id: Option<String>,
    pub browser_fingerprint: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// From the conversation's point of view: `Inbound` from the user, `Outbound` from the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Inbound,
    Outbound,
}

/// A persisted message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub org_id: OrgId,
    pub direction: Direction,
    pub text: String,
    pub created_at: DateTime<Utc>,
    /// Who wrote it, when that is not implied by `direction` (the visitor inbound,
    /// the agent outbound): a human operator's participant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<ParticipantId>,
}

impl Message {
    pub fn new(conversation: &Conversation, direction: Direction, text: String) -> Self {
        Self {
            id: MessageId::random(),
            conversation_id: conversation.id,
            org_id: conversation.org_id.clone(),
            direction,
            text,
            created_at: Utc::now(),
            sender: None,
        }
    }

    /// An outbound message a human operator (participant `sender`) wrote.
    pub fn from_operator(conversation: &Conversation, sender: ParticipantId, text: String) -> Self {
        Self {
            sender: Some(sender),
            ..Self::new(conversation, Direction::Outbound, text)
        }
    }
}

/// A session's lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionStatus {
    Active,
    Idle,
    Ended,
}

/// One client's attachment to a conversation with one agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub id: SessionId,
    pub conversation_id: ConversationId,
    pub org_id: OrgId,
    pub agent_id: AgentId,
    pub agent_name: String,
    pub user_participant_id: ParticipantId,
    pub agent_participant_id: ParticipantId,
    pub status: SessionStatus,
    /// The capabilities in force for this session (declared or inherited).
    pub supports: Vec<String>,
    pub metadata: Metadata,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A turn waiting for a human (an approval or an interaction), stored so that a
/// client that reconnects can still answer it, on any replica.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParkedTurn {
    /// This park's id: an answer resolves this park and no other.
    pub id: uuid::Uuid,
    pub session_id: SessionId,
    pub request_id: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The turn's state, owned and versioned by the agent runtime.
    pub state: Value,
}

/// A one-time code sent to a session's contact. Only a salted hash is kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OtpChallenge {
    pub session_id: SessionId,
    pub code_hash: String,
    pub salt: String,
    /// `email` or `sms`.
    pub channel: String,
    pub destination: String,
    pub attempts_left: u32,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Per-organisation settings an administrator manages.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgSettings {
    pub org_id: OrgId,
    /// Overrides every agent's personality for this organisation.
    pub persona: Option<String>,
    pub model: Option<String>,
    pub system_prompt: Option<String>,
    #[serde(default)]
    pub default_tools: Vec<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// Where a connector reads documents from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnectorKind {
    Github,
    Web,
    File,
}

/// A knowledge source an organisation's administrator configured: indexed on
/// demand into the organisation's knowledge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connector {
    pub id: ConnectorId,
    pub org_id: OrgId,
    /// Unique within the organisation.
    pub name: String,
    pub kind: ConnectorKind,
    /// The kind's settings (a JSON object), validated before it is stored. Holds
    /// names of secrets, never secrets.
    pub config: Value,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Where an indexing run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
}

/// One indexing of a connector: recorded when it starts, completed when it ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexingRun {
    pub id: IndexingRunId,
    pub org_id: OrgId,
    pub connector_id: ConnectorId,
    /// The connector's name when the run started (it outlives renames and deletes).
    pub connector_name: String,
    pub status: RunStatus,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Documents the source produced.
    pub documents_seen: u64,
    /// Chunks of the documents (re)indexed.
    pub chunks_indexed: u64,
    /// Documents left as they were because they had not changed.
    pub documents_skipped: u64,
    /// Documents removed because the source no longer has them.
    pub documents_removed: u64,
    /// Why the run failed (safe to show to the organisation's administrators).
    pub error: Option<String>,
}
