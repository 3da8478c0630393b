//! The protocol's error codes, and the error a frame that cannot be decoded produces.

use serde::Serialize;

/// A stable, machine-readable error code carried by `error` events.
///
/// Codes are part of the wire contract: clients switch on them, so a variant is never
/// renamed. Each server-side error maps to exactly one code in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// Bad JSON, a binary frame, a missing `action`, or a missing or invalid field.
    ValidationError,
    /// An action this server does not implement.
    UnsupportedAction,
    /// An unknown session, or one the caller may not use.
    SessionNotFound,
    /// An unknown conversation, or one the caller may not read.
    ConversationNotFound,
    /// The store failed while reading or writing.
    StorageError,
    /// An unexpected server failure.
    InternalError,
    /// The LLM gateway cannot be reached or keeps failing.
    LlmUnavailable,
    /// The LLM gateway did not answer, or went silent, within its time limits.
    LlmTimeout,
    /// The LLM gateway is rate limiting this server.
    LlmRateLimited,
    /// The LLM gateway refused the request or sent something unreadable.
    LlmError,
    /// The requested skill does not exist on this server.
    SkillNotFound,
    /// The agent turn failed.
    AgentError,
    /// A second `send_message` while this connection's turn is still running.
    TurnInProgress,
    /// `confirm_tool_action` with no tool call awaiting confirmation.
    NoPendingConfirmation,
    /// `submit_interaction` with no interaction awaiting an answer.
    NoPendingInteraction,
    /// A stale `interactionId` or a mismatched `kind`.
    InteractionMismatch,
    /// The OTP service failed to send a code.
    OtpSendFailed,
    /// Strict widget auth is on and the agent has no widget policy.
    AgentNotAuthorized,
    /// The widget policy does not allow the connection's `Origin`.
    OriginNotAllowed,
    /// The signed `authContext` did not verify.
    AuthContextInvalid,
    /// The connection sent actions faster than its allowance.
    RateLimited,
    /// A turn waited for a human's answer longer than allowed and was stopped.
    TurnExpired,
    /// A quota of the caller's address or organisation (sessions an hour, bytes
    /// stored a day) is used up; nothing was stored.
    QuotaExceeded,
    /// A reopened conversation's running turn cannot be replayed: its events passed
    /// the replay buffer's cap (or some were lost between replicas). Its reply is in
    /// `get_conversation_messages` once it is done.
    ReplayUnavailable,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ValidationError => "VALIDATION_ERROR",
            Self::UnsupportedAction => "UNSUPPORTED_ACTION",
            Self::SessionNotFound => "SESSION_NOT_FOUND",
            Self::ConversationNotFound => "CONVERSATION_NOT_FOUND",
            Self::StorageError => "STORAGE_ERROR",
            Self::InternalError => "INTERNAL_ERROR",
            Self::LlmUnavailable => "LLM_UNAVAILABLE",
            Self::LlmTimeout => "LLM_TIMEOUT",
            Self::LlmRateLimited => "LLM_RATE_LIMITED",
            Self::LlmError => "LLM_ERROR",
            Self::SkillNotFound => "SKILL_NOT_FOUND",
            Self::AgentError => "AGENT_ERROR",
            Self::TurnInProgress => "TURN_IN_PROGRESS",
            Self::NoPendingConfirmation => "NO_PENDING_CONFIRMATION",
            Self::NoPendingInteraction => "NO_PENDING_INTERACTION",
            Self::InteractionMismatch => "INTERACTION_MISMATCH",
            Self::OtpSendFailed => "OTP_SEND_FAILED",
            Self::AgentNotAuthorized => "AGENT_NOT_AUTHORIZED",
            Self::OriginNotAllowed => "ORIGIN_NOT_ALLOWED",
            Self::AuthContextInvalid => "AUTH_CONTEXT_INVALID",
            Self::RateLimited => "RATE_LIMITED",
            Self::TurnExpired => "TURN_EXPIRED",
            Self::QuotaExceeded => "QUOTA_EXCEEDED",
            Self::ReplayUnavailable => "REPLAY_UNAVAILABLE",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an inbound frame could not become an [`crate::Action`].
///
/// Carries the frame's `requestId` when one could be read, so the `error` event can
/// echo it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct DecodeError {
    pub request_id: Option<String>,
    pub code: ErrorCode,
    pub message: String,
}

impl DecodeError {
    pub(crate) fn validation(request_id: Option<String>, message: impl Into<String>) -> Self {
        Self {
            request_id,
            code: ErrorCode::ValidationError,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialized_code_matches_as_str() {
        for code in [
            ErrorCode::ValidationError,
            ErrorCode::NoPendingConfirmation,
            ErrorCode::AuthContextInvalid,
            ErrorCode::LlmUnavailable,
            ErrorCode::QuotaExceeded,
            ErrorCode::ReplayUnavailable,
        ] {
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, serde_json::Value::String(code.as_str().into()));
        }
    }
}
