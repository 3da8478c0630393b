//! Events that ask the human something: confirmation, identity (OTP), interactions.

use super::Event;
use crate::now_ms;
use serde::Serialize;

/// The twice-nested shape these events share: `{requestId, data: {requestId, data: T}}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Nested<T> {
    pub request_id: String,
    pub data: NestedData<T>,
    pub timestamp: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NestedData<T> {
    pub request_id: String,
    pub data: T,
}

impl<T> Nested<T> {
    pub fn new(request_id: &str, data: T) -> Self {
        Self {
            request_id: request_id.to_owned(),
            data: NestedData {
                request_id: request_id.to_owned(),
                data,
            },
            timestamp: now_ms(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WriteConfirmation {
    /// The name of the tool awaiting approval.
    pub tool_id: String,
    pub action_description: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OtpChannel {
    Email,
    Sms,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OtpVerificationRequired {
    pub tool_id: String,
    pub action_description: String,
    pub available_channels: Vec<OtpChannel>,
    pub auth_level: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OtpSent {
    pub channel: OtpChannel,
    pub masked_destination: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OtpVerified {
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OtpFailure {
    InvalidCode,
    MaxAttempts,
    NotFound,
    Expired,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OtpInvalid {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<OtpFailure>,
    pub attempts_remaining: u32,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InteractionRequired {
    pub interaction_id: String,
    pub kind: String,
    pub spec: serde_json::Map<String, serde_json::Value>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InteractionInvalid {
    pub interaction_id: String,
    pub kind: String,
    pub errors: Vec<FieldError>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl Event {
    pub fn write_confirmation(request_id: &str, data: WriteConfirmation) -> Self {
        Self::WriteConfirmationRequired(Nested::new(request_id, data))
    }

    pub fn otp_verification_required(request_id: &str, data: OtpVerificationRequired) -> Self {
        Self::OtpVerificationRequired(Nested::new(request_id, data))
    }

    pub fn otp_sent(request_id: &str, data: OtpSent) -> Self {
        Self::OtpSent(Nested::new(request_id, data))
    }

    pub fn otp_verified(request_id: &str, message: &str) -> Self {
        Self::OtpVerified(Nested::new(
            request_id,
            OtpVerified {
                message: message.to_owned(),
            },
        ))
    }

    pub fn otp_invalid(request_id: &str, data: OtpInvalid) -> Self {
        Self::OtpInvalid(Nested::new(request_id, data))
    }

    pub fn interaction_required(request_id: &str, data: InteractionRequired) -> Self {
        Self::InteractionRequired(Nested::new(request_id, data))
    }

    pub fn interaction_invalid(request_id: &str, data: InteractionInvalid) -> Self {
        Self::InteractionInvalid(Nested::new(request_id, data))
    }
}
