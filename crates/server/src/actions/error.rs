//! The action layer's errors, and the one place they become wire codes.

use crate::widget::WidgetError;
use switchboard_core::StoreError;
use switchboard_protocol::{ErrorCode, Event};

/// Why an action failed. [`ActionError::code`] is the only mapping to wire codes.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("{0}")]
    Validation(String),
    #[error("action '{0}' is not supported by this server")]
    Unsupported(String),
    #[error("session '{0}' not found")]
    SessionNotFound(String),
    #[error("conversation '{0}' not found")]
    ConversationNotFound(String),
    #[error("no tool action is awaiting confirmation for session '{0}'")]
    NoPendingConfirmation(String),
    #[error("the action awaiting confirmation for session '{0}' expired or is no longer active")]
    ConfirmationGone(String),
    #[error("no interaction is awaiting submission for session '{0}'")]
    NoPendingInteraction(String),
    #[error("the interaction awaiting submission for session '{0}' expired")]
    InteractionGone(String),
    #[error("{0}")]
    InteractionMismatch(String),
    #[error(
        "a turn is already in progress on this connection; cancel it or wait for it to complete"
    )]
    TurnInProgress,
    #[error("skill '{0}' is not available on this server")]
    SkillNotFound(String),
    /// A quota of the caller's address or organisation is used up (the message
    /// says which, and when it refills).
    #[error("{0}")]
    QuotaExceeded(String),
    #[error(transparent)]
    Widget(#[from] WidgetError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ActionError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Validation(_) => ErrorCode::ValidationError,
            Self::Unsupported(_) => ErrorCode::UnsupportedAction,
            Self::SessionNotFound(_) => ErrorCode::SessionNotFound,
            Self::ConversationNotFound(_) => ErrorCode::ConversationNotFound,
            Self::NoPendingConfirmation(_) | Self::ConfirmationGone(_) => {
                ErrorCode::NoPendingConfirmation
            }
            Self::NoPendingInteraction(_) | Self::InteractionGone(_) => {
                ErrorCode::NoPendingInteraction
            }
            Self::InteractionMismatch(_) => ErrorCode::InteractionMismatch,
            Self::TurnInProgress => ErrorCode::TurnInProgress,
            Self::SkillNotFound(_) => ErrorCode::SkillNotFound,
            Self::QuotaExceeded(_) => ErrorCode::QuotaExceeded,
            Self::Widget(WidgetError::AgentNotAuthorized { .. }) => ErrorCode::AgentNotAuthorized,
            Self::Widget(WidgetError::OriginNotAllowed { .. }) => ErrorCode::OriginNotAllowed,
            Self::Widget(WidgetError::AuthContextInvalid { .. }) => ErrorCode::AuthContextInvalid,
            Self::Store(StoreError::InvalidCursor) => ErrorCode::ValidationError,
            Self::Store(_) => ErrorCode::StorageError,
        }
    }

    /// What the client is told. Internal causes are logged here, never sent.
    fn client_message(&self) -> String {
        match self {
            Self::Store(StoreError::InvalidCursor) => {
                "'cursor' does not name a message of this conversation".into()
            }
            Self::Store(cause) => {
                tracing::error!(error = %cause, "store failure");
                "storage is temporarily unavailable; try again".into()
            }
            other => other.to_string(),
        }
    }

    /// The `error` event for this failure.
    pub fn into_event(self, request_id: Option<String>) -> Event {
        Event::error(request_id, self.code(), self.client_message())
    }
}
