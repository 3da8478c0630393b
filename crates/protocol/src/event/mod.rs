//! Server → client frames. Every outbound frame is an [`Event`]; nothing else is sent.

mod ack;
mod park;
mod turn;

pub use ack::*;
pub use park::*;
pub use turn::*;

use crate::{ErrorCode, now_ms};
use serde::Serialize;

/// Every event of the protocol, tagged by `type` as the schemas in `spec/events/` name it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    Pong(Pong),
    ImmediateResponse(ImmediateResponse),
    StreamToken(TokenEvent),
    StreamReasoning(TokenEvent),
    StreamPreamble(TokenEvent),
    StreamChunk(StreamChunk),
    EventualResponse(EventualResponse),
    WriteConfirmationRequired(Nested<WriteConfirmation>),
    OtpVerificationRequired(Nested<OtpVerificationRequired>),
    OtpSent(Nested<OtpSent>),
    OtpVerified(Nested<OtpVerified>),
    OtpInvalid(Nested<OtpInvalid>),
    InteractionRequired(Nested<InteractionRequired>),
    InteractionInvalid(Nested<InteractionInvalid>),
    Keepalive(Keepalive),
    Cancelled(Cancelled),
    Error(ErrorEvent),
}

impl Event {
    /// The JSON text frame for this event.
    pub fn to_json(&self) -> String {
        // Every field is a string, number, bool, or map with string keys: this cannot fail.
        serde_json::to_string(self).expect("events always serialize")
    }

    /// The event's `type` discriminator.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Pong(_) => "pong",
            Self::ImmediateResponse(_) => "immediate_response",
            Self::StreamToken(_) => "stream_token",
            Self::StreamReasoning(_) => "stream_reasoning",
            Self::StreamPreamble(_) => "stream_preamble",
            Self::StreamChunk(_) => "stream_chunk",
            Self::EventualResponse(_) => "eventual_response",
            Self::WriteConfirmationRequired(_) => "write_confirmation_required",
            Self::OtpVerificationRequired(_) => "otp_verification_required",
            Self::OtpSent(_) => "otp_sent",
            Self::OtpVerified(_) => "otp_verified",
            Self::OtpInvalid(_) => "otp_invalid",
            Self::InteractionRequired(_) => "interaction_required",
            Self::InteractionInvalid(_) => "interaction_invalid",
            Self::Keepalive(_) => "keepalive",
            Self::Cancelled(_) => "cancelled",
            Self::Error(_) => "error",
        }
    }

    /// `pong`, answering a `ping`.
    pub fn pong(request_id: Option<String>) -> Self {
        let timestamp = now_ms();
        Self::Pong(Pong {
            request_id,
            timestamp,
            data: PongData { timestamp },
        })
    }

    /// `error`, with the error object at the top level and again inside `data`.
    pub fn error(request_id: Option<String>, code: ErrorCode, message: impl Into<String>) -> Self {
        let error = ErrorBody {
            code,
            message: message.into(),
        };
        Self::Error(ErrorEvent {
            request_id: request_id.clone(),
            error: error.clone(),
            data: ErrorData { request_id, error },
            timestamp: now_ms(),
        })
    }

    /// `immediate_response`: the acknowledgement, and for reads the whole answer.
    pub fn ack(request_id: Option<String>, status: u16, message: &str, data: Ack) -> Self {
        Self::ImmediateResponse(ImmediateResponse {
            request_id,
            status,
            message: message.to_owned(),
            data,
            timestamp: now_ms(),
        })
    }

    /// `keepalive`, a server heartbeat during a long turn.
    pub fn keepalive(request_id: String) -> Self {
        Self::Keepalive(Keepalive {
            request_id: Some(request_id.clone()),
            data: KeepaliveData { request_id },
            timestamp: now_ms(),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pong {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    pub timestamp: i64,
    pub data: PongData,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PongData {
    pub timestamp: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorEvent {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    pub error: ErrorBody,
    pub data: ErrorData,
    pub timestamp: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorData {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    pub error: ErrorBody,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImmediateResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    pub status: u16,
    pub message: String,
    pub data: Ack,
    pub timestamp: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Keepalive {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    pub data: KeepaliveData,
    pub timestamp: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeepaliveData {
    pub request_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn error_duplicates_the_error_object() {
        let v: serde_json::Value = serde_json::from_str(
            &Event::error(Some("r1".into()), ErrorCode::UnsupportedAction, "nope").to_json(),
        )
        .unwrap();
        assert_eq!(v["type"], "error");
        assert_eq!(v["requestId"], "r1");
        assert_eq!(
            v["error"],
            json!({"code":"UNSUPPORTED_ACTION","message":"nope"})
        );
        assert_eq!(v["data"]["error"], v["error"]);
        assert_eq!(v["data"]["requestId"], "r1");
        assert!(v["timestamp"].is_i64());
    }

    #[test]
    fn pong_mirrors_timestamp_and_omits_absent_request_id() {
        let v: serde_json::Value = serde_json::from_str(&Event::pong(None).to_json()).unwrap();
        assert_eq!(v["timestamp"], v["data"]["timestamp"]);
        assert!(v.get("requestId").is_none());
    }
}
