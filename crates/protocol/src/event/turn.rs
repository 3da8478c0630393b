//! Events of a running turn: streamed text, tool activity, and the terminal events.

use super::Event;
use crate::now_ms;
use serde::Serialize;

/// `stream_token`, `stream_reasoning` and `stream_preamble` share this shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenEvent {
    pub request_id: String,
    pub token: String,
    pub data: TokenData,
    pub timestamp: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenData {
    pub request_id: String,
    pub token: String,
}

impl TokenEvent {
    fn new(request_id: &str, token: &str) -> Self {
        Self {
            request_id: request_id.to_owned(),
            token: token.to_owned(),
            data: TokenData {
                request_id: request_id.to_owned(),
                token: token.to_owned(),
            },
            timestamp: now_ms(),
        }
    }
}

/// `stream_chunk`: a tool call or a tool result of the turn.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamChunk {
    pub request_id: String,
    pub node: String,
    pub data: ChunkData,
    pub timestamp: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChunkData {
    pub request_id: String,
    pub node: String,
    pub state: ChunkState,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChunkState {
    pub raw_response: RawResponse,
}

/// `{"toolCall": {...}}` or `{"toolResult": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum RawResponse {
    ToolCall(ToolCallInfo),
    ToolResult(ToolResultInfo),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolCallInfo {
    pub name: String,
    /// The call's arguments as a JSON string, as the model produced them.
    pub arguments: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolResultInfo {
    pub name: String,
    pub is_error: bool,
    /// The result text, truncated for display; the model sees all of it.
    pub result: String,
}

/// `eventual_response`: the one successful terminal event of a turn.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventualResponse {
    pub request_id: String,
    pub status: u16,
    pub data: EventualData,
    pub timestamp: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventualData {
    pub request_id: String,
    pub status: u16,
    pub data: TurnOutcome,
}

/// What a finished turn produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TurnOutcome {
    /// The persisted assistant message, or a fresh id when nothing was persisted.
    pub message_id: String,
    pub response: AgentResponse,
    pub needs_escalation: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escalation_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Present exactly when the turn used knowledge.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub citations: Vec<Citation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub directive: Option<serde_json::Value>,
}

/// The `GeneralAgentResponse` of the default agent template.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentResponse {
    pub response_parts: Vec<String>,
    pub customer_happiness_score: f64,
    pub needs_satisfaction_score: f64,
    pub request_summary: String,
    pub resolution_status: ResolutionStatus,
    pub suggested_next_actions: Vec<String>,
    /// Who wrote it when it is not the agent: a human operator (the domain
    /// message's `from` shape).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Party>,
}

impl AgentResponse {
    /// A plain reply with neutral scores.
    pub fn reply(text: String, suggested_next_actions: Vec<String>) -> Self {
        Self {
            response_parts: vec![text],
            customer_happiness_score: 0.5,
            needs_satisfaction_score: 0.5,
            request_summary: String::new(),
            resolution_status: ResolutionStatus::InProgress,
            suggested_next_actions,
            from: None,
        }
    }

    /// No answer from the agent: a person owns the conversation and answers.
    pub fn with_person() -> Self {
        Self {
            response_parts: Vec::new(),
            resolution_status: ResolutionStatus::RequiresEscalation,
            ..Self::reply(String::new(), Vec::new())
        }
    }

    /// A human operator's message.
    pub fn from_person(text: String, from: Party) -> Self {
        Self {
            resolution_status: ResolutionStatus::RequiresEscalation,
            from: Some(from),
            ..Self::reply(text, Vec::new())
        }
    }
}

/// An abbreviated participant: who wrote a message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Party {
    /// The participant's id.
    pub id: String,
    /// `user`, `ai-agent` or `human-agent`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResolutionStatus {
    Resolved,
    InProgress,
    RequiresEscalation,
    NeedsMoreInfo,
    Blocked,
}

/// Token accounting for the whole turn, across every model call.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// A source that grounded the answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Citation {
    pub id: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub snippet: String,
    pub score: f64,
}

/// `cancelled`: the terminal event of a turn the client stopped.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cancelled {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    pub status: u16,
    pub data: CancelledData,
    pub timestamp: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelledData {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    pub status: u16,
}

impl Event {
    pub fn token(request_id: &str, token: &str) -> Self {
        Self::StreamToken(TokenEvent::new(request_id, token))
    }

    pub fn reasoning(request_id: &str, token: &str) -> Self {
        Self::StreamReasoning(TokenEvent::new(request_id, token))
    }

    pub fn preamble(request_id: &str, token: &str) -> Self {
        Self::StreamPreamble(TokenEvent::new(request_id, token))
    }

    /// A `stream_chunk` whose node is the tool's name.
    pub fn chunk(request_id: &str, raw_response: RawResponse) -> Self {
        let node = match &raw_response {
            RawResponse::ToolCall(c) => c.name.clone(),
            RawResponse::ToolResult(r) => r.name.clone(),
        };
        Self::StreamChunk(StreamChunk {
            request_id: request_id.to_owned(),
            node: node.clone(),
            data: ChunkData {
                request_id: request_id.to_owned(),
                node,
                state: ChunkState { raw_response },
            },
            timestamp: now_ms(),
        })
    }

    pub fn eventual(request_id: &str, outcome: TurnOutcome) -> Self {
        Self::EventualResponse(EventualResponse {
            request_id: request_id.to_owned(),
            status: 200,
            data: EventualData {
                request_id: request_id.to_owned(),
                status: 200,
                data: outcome,
            },
            timestamp: now_ms(),
        })
    }

    pub fn cancelled(request_id: Option<String>) -> Self {
        Self::Cancelled(Cancelled {
            request_id: request_id.clone(),
            status: 499,
            data: CancelledData {
                request_id,
                status: 499,
            },
            timestamp: now_ms(),
        })
    }
}
