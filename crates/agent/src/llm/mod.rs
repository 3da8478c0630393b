//! The LLM seam: one streamed chat completion at a time, from any provider.
//!
//! [`gateway::GatewayClient`] speaks the OpenAI wire format to any compatible gateway;
//! [`crate::offline::OfflineResponder`] answers without one. The turn state machine
//! only sees [`LlmProvider`] and [`StreamEvent`]s.

pub mod gateway;
mod sse;
mod sse_lines;

use async_trait::async_trait;
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use std::pin::Pin;
use switchboard_protocol::ErrorCode;

/// One message of the model's transcript, in our own (storable) form. The gateway
/// client translates it to the OpenAI wire format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "lowercase")]
pub enum ChatMessage {
    System {
        content: String,
    },
    User {
        content: String,
        /// Image URLs (`data:` or `https:`) sent as vision parts.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        images: Vec<ImageRef>,
    },
    Assistant {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        content: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<ToolCall>,
    },
    Tool {
        tool_call_id: String,
        content: String,
    },
}

impl ChatMessage {
    pub fn system(content: impl Into<String>) -> Self {
        Self::System {
            content: content.into(),
        }
    }

    pub fn user(content: impl Into<String>) -> Self {
        Self::User {
            content: content.into(),
            images: Vec::new(),
        }
    }

    pub fn assistant(content: impl Into<String>) -> Self {
        Self::Assistant {
            content: Some(content.into()),
            tool_calls: Vec::new(),
        }
    }
}

/// An image attached to a user message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageRef {
    pub url: String,
    /// `low`, `high` or `auto`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    /// JSON Schema of the arguments.
    pub parameters: serde_json::Value,
}

/// A complete tool call, assembled from the stream's deltas.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    /// The arguments as the model produced them: a JSON object as text (`{}` when
    /// the model sent none).
    pub arguments: String,
}

/// A passage of knowledge the turn retrieved for this request. Gateways see it
/// already rendered into the messages; the offline responder composes from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grounding {
    pub title: String,
    pub text: String,
}

/// One streamed chat completion request.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<ChatMessage>,
    /// Tools offered for this call; empty means none.
    pub tools: Vec<ToolSpec>,
    pub max_tokens: u32,
    /// `None` leaves the gateway's default.
    pub temperature: Option<f32>,
    pub grounding: Vec<Grounding>,
}

/// Token accounting of one completion.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct TokenUsage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// The gateway's price for the call, when it reports one.
    pub cost_usd: Option<f64>,
}

impl TokenUsage {
    /// This usage and `other` together (a cost is known if either is).
    pub fn plus(self, other: Option<TokenUsage>) -> TokenUsage {
        let Some(other) = other else { return self };
        TokenUsage {
            prompt_tokens: self.prompt_tokens + other.prompt_tokens,
            completion_tokens: self.completion_tokens + other.completion_tokens,
            cost_usd: match (self.cost_usd, other.cost_usd) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            },
        }
    }
}

/// What a streamed completion produces, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// Answer text, as it arrives.
    Text(String),
    /// Text of a separate reasoning channel (`reasoning_content` / `reasoning`).
    Reasoning(String),
    /// A tool call, complete (emitted once its deltas are assembled).
    ToolCall(ToolCall),
    /// Usage of the completion (usually the last event before the end).
    Usage(TokenUsage),
}

/// A completion answered in one piece.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Completion {
    pub text: String,
    /// What the call cost, when the provider says.
    pub usage: Option<TokenUsage>,
}

/// A stream of events; it ends when the completion is complete.
pub type LlmStream = Pin<Box<dyn Stream<Item = Result<StreamEvent, LlmError>> + Send>>;

/// A source of chat completions.
#[async_trait]
pub trait LlmProvider: Send + Sync + 'static {
    /// Starts one streamed completion. Failures before the first byte (after any
    /// retries) are returned here; failures mid-stream arrive through the stream.
    async fn stream(&self, request: ChatRequest) -> Result<LlmStream, LlmError>;

    /// One short completion answered in one piece (a side call, such as a workflow
    /// judge), with its usage. By default, the streamed text and usage collected.
    async fn complete(&self, request: ChatRequest) -> Result<Completion, LlmError> {
        use futures_util::StreamExt;
        let mut stream = self.stream(request).await?;
        let mut completion = Completion::default();
        while let Some(event) = stream.next().await {
            match event? {
                StreamEvent::Text(delta) => completion.text.push_str(&delta),
                StreamEvent::Usage(usage) => {
                    completion.usage = Some(usage.plus(completion.usage));
                }
                _ => {}
            }
        }
        Ok(completion)
    }

    /// A short label for logs ("gateway http://…", "offline").
    fn label(&self) -> String;
}

/// Why a completion failed. [`LlmError::code`] and [`LlmError::safe_message`] are
/// what a client sees; the `Display` text (which may quote the gateway) is for logs.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LlmError {
    /// Connection refused, DNS failure, TLS failure, reset before any response.
    #[error("cannot reach the gateway: {0}")]
    Unreachable(String),
    /// No response, no first byte, too long a silence between chunks, or the turn's
    /// deadline passed.
    #[error("the gateway timed out ({0})")]
    Timeout(&'static str),
    /// The connection broke, or the stream ended, in the middle of a reply.
    #[error("the gateway stopped mid-reply: {0}")]
    Interrupted(String),
    /// HTTP 429, still after retries.
    #[error("the gateway is rate limiting (HTTP 429)")]
    RateLimited,
    /// HTTP 4xx other than 429: a bad key, an unknown model, a malformed request.
    #[error("the gateway rejected the request (HTTP {status}): {body}")]
    Rejected { status: u16, body: String },
    /// HTTP 5xx, still after retries.
    #[error("the gateway failed (HTTP {status}): {body}")]
    Upstream { status: u16, body: String },
    /// The response was not a well-formed OpenAI-style SSE stream.
    #[error("the gateway sent a malformed stream: {0}")]
    Protocol(String),
}

impl LlmError {
    /// The failure's kind, a bounded metrics label.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unreachable(_) => "unreachable",
            Self::Timeout(_) => "timeout",
            Self::Interrupted(_) => "interrupted",
            Self::RateLimited => "rate_limited",
            Self::Rejected { .. } => "rejected",
            Self::Upstream { .. } => "upstream",
            Self::Protocol(_) => "protocol",
        }
    }

    /// The stable wire code for this failure.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Unreachable(_) | Self::Upstream { .. } | Self::Interrupted(_) => {
                ErrorCode::LlmUnavailable
            }
            Self::Timeout(_) => ErrorCode::LlmTimeout,
            Self::RateLimited => ErrorCode::LlmRateLimited,
            Self::Rejected { .. } | Self::Protocol(_) => ErrorCode::LlmError,
        }
    }

    /// A message safe to show a visitor: no URLs, keys or upstream bodies.
    pub fn safe_message(&self) -> String {
        match self {
            Self::Unreachable(_) => "The language model gateway could not be reached.".into(),
            Self::Timeout(what) => format!("The language model gateway timed out ({what})."),
            Self::Interrupted(_) => {
                "The language model gateway stopped in the middle of its reply; try again.".into()
            }
            Self::RateLimited => {
                "The language model gateway is rate limiting requests; try again shortly.".into()
            }
            Self::Rejected { status, .. } => {
                format!("The language model gateway refused the request (HTTP {status}).")
            }
            Self::Upstream { status, .. } => {
                format!("The language model gateway failed (HTTP {status}).")
            }
            Self::Protocol(_) => {
                "The language model gateway sent a response that could not be read.".into()
            }
        }
    }
}
