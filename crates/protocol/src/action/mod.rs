//! Client → server frames: one [`Action`] per frame, decoded once by [`decode_frame`].

mod peek;
mod session;
mod turn;

pub use peek::peek_request_id;
pub use session::*;
pub use turn::*;

use crate::error::{DecodeError, ErrorCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// One decoded inbound frame: its correlation id and what it asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// The client's `requestId`, echoed on every event this frame causes.
    pub request_id: Option<String>,
    pub action: Action,
}

/// Every action of the protocol, plus an explicit case for names we do not serve.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Ping,
    CreateConversationSession(CreateSession),
    GetSession(GetSession),
    GetConversationMessages(GetMessages),
    ListConversations(ListConversations),
    RenameConversation(RenameConversation),
    SendMessage(SendMessage),
    ConfirmToolAction(ConfirmToolAction),
    VerifyOtp(VerifyOtp),
    SubmitInteraction(SubmitInteraction),
    Cancel(Cancel),
    /// A well-formed frame naming an action this server does not implement.
    Unsupported(String),
}

impl Action {
    /// The action's wire name, for logs and metrics.
    pub fn name(&self) -> &str {
        match self {
            Self::Ping => "ping",
            Self::CreateConversationSession(_) => "create_conversation_session",
            Self::GetSession(_) => "get_session",
            Self::GetConversationMessages(_) => "get_conversation_messages",
            Self::ListConversations(_) => "list_conversations",
            Self::RenameConversation(_) => "rename_conversation",
            Self::SendMessage(_) => "send_message",
            Self::ConfirmToolAction(_) => "confirm_tool_action",
            Self::VerifyOtp(_) => "verify_otp",
            Self::SubmitInteraction(_) => "submit_interaction",
            Self::Cancel(_) => "cancel",
            Self::Unsupported(name) => name,
        }
    }
}

/// Decodes one text frame.
///
/// Unknown fields are ignored. Failures carry the `requestId` whenever the frame had
/// a readable one, so the resulting `error` event can echo it.
pub fn decode_frame(text: &str) -> Result<Frame, DecodeError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| DecodeError::validation(None, format!("invalid JSON frame: {e}")))?;
    let Value::Object(map) = &value else {
        return Err(DecodeError::validation(None, "missing 'action' field"));
    };
    let request_id = match map.get("requestId") {
        Some(Value::String(id)) => Some(id.clone()),
        _ => None,
    };
    let Some(Value::String(name)) = map.get("action") else {
        return Err(DecodeError::validation(
            request_id,
            "missing 'action' field",
        ));
    };
    // No store can keep U+0000 in text (PostgreSQL refuses it in TEXT and JSONB), so
    // it is refused here, the same on every store. In JSON it can only be written
    // as the escape, which is what the quick check looks for.
    if text.contains("\\u0000") && holds_nul(&value) {
        return Err(DecodeError::validation(
            request_id,
            "text must not contain NUL characters (U+0000)",
        ));
    }
    let name = name.clone();
    let rid = request_id.as_deref();
    let action = match name.as_str() {
        "ping" => Action::Ping,
        "create_conversation_session" => {
            Action::CreateConversationSession(decode::<CreateSessionWire>(value, rid)?)
        }
        "get_session" => Action::GetSession(decode::<GetSessionWire>(value, rid)?),
        "get_conversation_messages" => {
            Action::GetConversationMessages(decode::<GetMessagesWire>(value, rid)?)
        }
        "list_conversations" => {
            Action::ListConversations(decode::<ListConversationsWire>(value, rid)?)
        }
        "rename_conversation" => {
            Action::RenameConversation(decode::<RenameConversationWire>(value, rid)?)
        }
        "send_message" => Action::SendMessage(decode::<SendMessageWire>(value, rid)?),
        "confirm_tool_action" => {
            Action::ConfirmToolAction(decode::<ConfirmToolActionWire>(value, rid)?)
        }
        "verify_otp" => Action::VerifyOtp(decode::<VerifyOtpWire>(value, rid)?),
        "submit_interaction" => {
            Action::SubmitInteraction(decode::<SubmitInteractionWire>(value, rid)?)
        }
        "cancel" => Action::Cancel(decode::<CancelWire>(value, rid)?),
        _ => Action::Unsupported(name),
    };
    Ok(Frame { request_id, action })
}

/// Whether any string of `value`, or any key, contains U+0000 (which no store
/// keeps in text; the admin API refuses it too).
pub fn holds_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

/// The lenient serde image of one action's fields, checked into its typed form.
///
/// Required fields are `Option`s on the wire so that a missing one produces the
/// protocol's own message ("missing 'sessionId'") rather than serde's.
trait Wire: DeserializeOwned {
    type Output;
    fn validate(self, request_id: Option<&str>) -> Result<Self::Output, String>;
}

fn decode<W: Wire>(value: Value, request_id: Option<&str>) -> Result<W::Output, DecodeError> {
    let owned_id = || request_id.map(str::to_owned);
    let wire: W = serde_path_to_error::deserialize(value).map_err(|e| {
        DecodeError::validation(owned_id(), format!("invalid '{}': {}", e.path(), e.inner()))
    })?;
    wire.validate(request_id).map_err(|message| DecodeError {
        request_id: owned_id(),
        code: ErrorCode::ValidationError,
        message,
    })
}

/// A present, non-blank string, trimmed.
fn non_blank(value: Option<String>) -> Option<String> {
    value.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// `limit` as the protocol allows it: absent means `default`; values above `max` are
/// clamped; anything but a positive integer is refused.
fn parse_limit(value: Option<Value>, default: u32, max: u32) -> Result<u32, String> {
    match value {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(k) if k >= 1 => Ok(k.min(u64::from(max)) as u32),
            _ => Err(format!("'limit' must be an integer between 1 and {max}")),
        },
        Some(_) => Err(format!("'limit' must be an integer between 1 and {max}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> DecodeError {
        decode_frame(text).expect_err("frame should not decode")
    }

    #[test]
    fn invalid_json_is_a_validation_error_without_request_id() {
        let e = err("{not json");
        assert_eq!(e.code, ErrorCode::ValidationError);
        assert!(e.message.starts_with("invalid JSON frame"));
        assert_eq!(e.request_id, None);
    }

    #[test]
    fn non_object_json_is_missing_action() {
        for text in ["[1,2]", "\"ping\"", "42", "null"] {
            let e = err(text);
            assert_eq!(e.message, "missing 'action' field", "{text}");
        }
    }

    #[test]
    fn missing_or_non_string_action_echoes_request_id() {
        let e = err(r#"{"requestId":"r-noaction","message":"hi"}"#);
        assert_eq!(e.code, ErrorCode::ValidationError);
        assert_eq!(e.request_id.as_deref(), Some("r-noaction"));
        let e = err(r#"{"requestId":"r2","action":7}"#);
        assert_eq!(e.message, "missing 'action' field");
        assert_eq!(e.request_id.as_deref(), Some("r2"));
    }

    #[test]
    fn nul_characters_are_refused_anywhere_in_a_frame() {
        for text in [
            r#"{"action":"send_message","requestId":"r","sessionId":"s","message":"a\u0000b"}"#,
            r#"{"action":"create_conversation_session","requestId":"r","agentId":"a","metadata":{"k\u0000":1}}"#,
            r#"{"action":"rename_conversation","requestId":"r","conversationId":"c","title":["\u0000"]}"#,
        ] {
            let e = err(text);
            assert_eq!(e.code, ErrorCode::ValidationError, "{text}");
            assert_eq!(e.message, "text must not contain NUL characters (U+0000)");
            assert_eq!(e.request_id.as_deref(), Some("r"));
        }
        // An escaped backslash followed by "u0000" is six ordinary characters.
        let frame = decode_frame(
            r#"{"action":"send_message","requestId":"r","sessionId":"s","message":"C:\\u0000"}"#,
        )
        .unwrap();
        let Action::SendMessage(send) = frame.action else {
            panic!()
        };
        assert_eq!(send.message, "C:\\u0000");
    }

    #[test]
    fn unknown_action_is_kept_by_name() {
        let frame = decode_frame(r#"{"action":"frobnicate","requestId":"r1"}"#).unwrap();
        assert_eq!(frame.action, Action::Unsupported("frobnicate".into()));
        assert_eq!(frame.request_id.as_deref(), Some("r1"));
        // There is deliberately no `get_messages` alias.
        let frame = decode_frame(r#"{"action":"get_messages"}"#).unwrap();
        assert_eq!(frame.action.name(), "get_messages");
        assert!(matches!(frame.action, Action::Unsupported(_)));
    }

    #[test]
    fn wrong_field_type_names_the_field() {
        let e = err(
            r#"{"action":"create_conversation_session","requestId":"r","agentId":"a","userName":5}"#,
        );
        assert_eq!(e.code, ErrorCode::ValidationError);
        assert!(e.message.contains("userName"), "{}", e.message);
        assert_eq!(e.request_id.as_deref(), Some("r"));
    }

    #[test]
    fn ping_ignores_extra_fields() {
        let frame = decode_frame(r#"{"action":"ping","extra":{"deep":[1]}}"#).unwrap();
        assert_eq!(frame.action, Action::Ping);
        assert_eq!(frame.request_id, None);
    }

    #[test]
    fn limit_rules() {
        assert_eq!(parse_limit(None, 50, 100), Ok(50));
        assert_eq!(parse_limit(Some(Value::from(7)), 50, 100), Ok(7));
        assert_eq!(parse_limit(Some(Value::from(5000)), 50, 100), Ok(100));
        assert!(parse_limit(Some(Value::from(0)), 50, 100).is_err());
        assert!(parse_limit(Some(Value::from(-3)), 50, 100).is_err());
        assert!(parse_limit(Some(Value::from(2.5)), 50, 100).is_err());
        assert!(parse_limit(Some(Value::from("10")), 50, 100).is_err());
    }
}
