//! A turn's state, in a form that can be stored while the turn waits for a human
//! and resumed later, on any connection or replica.

use crate::llm::{ChatMessage, TokenUsage, ToolCall};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::VecDeque;
use switchboard_core::{ConversationId, SessionId};
use switchboard_knowledge::{Access, Hit};

/// The version of the stored form; a stored turn of another version is not resumed.
pub const STATE_VERSION: u32 = 1;

/// A turn in progress: what it was asked, what the model has said and done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TurnState {
    pub version: u32,
    pub request_id: String,
    pub session_id: SessionId,
    pub conversation_id: ConversationId,
    pub agent_id: String,
    pub model: String,
    pub max_iterations: u32,
    pub max_tokens: u32,
    /// System prompt, knowledge, memory, the user's message, and everything since.
    pub transcript: Vec<ChatMessage>,
    /// Names of the tools offered.
    pub tools: Vec<String>,
    /// The session's render capabilities (which interactions are rich).
    pub supports: Vec<String>,
    pub access: Access,
    /// Whether the session proved its identity (for `end_user` tools).
    pub verified: bool,
    /// Internal agents may use tools that need authentication.
    pub internal_agent: bool,
    /// Passages retrieved for the user's message.
    pub grounding: Vec<Hit>,
    /// Passages tools retrieved during the turn.
    pub tool_hits: Vec<Hit>,
    pub iteration: u32,
    /// Tool calls of the last model reply not yet run; the front one may be parked.
    pub pending: VecDeque<ToolCall>,
    pub usage: Option<TokenUsage>,
    pub final_text: String,
    pub streamed: String,
    pub reasoning: String,
    /// Specs of conversational-fallback interactions raised this turn, by kind.
    pub stashed_specs: Map<String, Value>,
    /// Tools refused because the session is not verified (for the OTP offer).
    pub refused_for_identity: Vec<String>,
    /// Quick replies the client may offer after this turn.
    pub suggestions: Vec<String>,
    /// Where the conversation was in the agent's workflow when the turn began.
    #[serde(default)]
    pub workflow: Option<crate::workflow::Position>,
    /// The human's answer to the front pending call, once given.
    pub resolution: Option<Resolution>,
    /// Why the model handed the conversation to a person this turn, once it did.
    #[serde(default)]
    pub escalated: Option<String>,
}

/// A human's answer to a parked turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum Resolution {
    Approved,
    Denied,
    Submitted { values: Map<String, Value> },
    Declined,
}

/// What a parked turn waits for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Waiting {
    Confirmation {
        tool: String,
        description: String,
    },
    Interaction {
        interaction_id: String,
        kind: String,
        spec: Map<String, Value>,
        reason: String,
    },
}

/// The stored form of a parked turn (`ParkedTurn::state`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Parked {
    pub turn: TurnState,
    pub waiting: Waiting,
}

impl Parked {
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("turn state serializes")
    }

    /// Reads a stored parked turn; `None` when it is not one this version can resume.
    pub fn from_value(value: &Value) -> Option<Self> {
        let parked: Self = serde_json::from_value(value.clone()).ok()?;
        (parked.turn.version == STATE_VERSION).then_some(parked)
    }
}
