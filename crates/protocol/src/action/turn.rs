//! Turn actions: send a message, cancel it, and answer what a parked turn asks.

use super::{Wire, non_blank};
use serde::Deserialize;
use serde_json::{Map, Value};

/// The longest user message accepted, in characters (the schema's `maxLength`).
pub const MAX_MESSAGE_CHARS: usize = 10_000;

/// `send_message`: run one agent turn.
#[derive(Debug, Clone, PartialEq)]
pub struct SendMessage {
    pub session_id: String,
    pub message: String,
    /// A per-turn model override (trimmed; a blank one is ignored).
    pub model: Option<String>,
    /// A named skill for this turn only.
    pub skill: Option<String>,
    /// Image attachments; a list with a malformed item is dropped whole (fail-soft).
    pub images: Vec<ImageAttachment>,
    /// File attachments for tools; a list with a malformed item is dropped whole
    /// (fail-soft).
    pub files: Vec<FileAttachment>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageAttachment {
    pub url: String,
    pub detail: Option<ImageDetail>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageDetail {
    Low,
    High,
    Auto,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FileAttachment {
    pub name: String,
    pub mime_type: Option<String>,
    pub url: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SendMessageWire {
    session_id: Option<String>,
    message: Option<String>,
    model: Option<Value>,
    skill: Option<String>,
    images: Option<Value>,
    files: Option<Value>,
    /// Type-checked only: every turn streams.
    stream: Option<Value>,
}

impl Wire for SendMessageWire {
    type Output = SendMessage;
    fn validate(self, request_id: Option<&str>) -> Result<SendMessage, String> {
        if request_id.is_none() {
            return Err("send_message requires a 'requestId'".into());
        }
        let session_id = non_blank(self.session_id).ok_or("missing 'sessionId'")?;
        let message = self
            .message
            .filter(|m| !m.trim().is_empty())
            .ok_or("missing or empty 'message'")?;
        if message.chars().count() > MAX_MESSAGE_CHARS {
            return Err(format!(
                "'message' is longer than {MAX_MESSAGE_CHARS} characters"
            ));
        }
        // A field of the wrong type is named, never silently ignored: a client that
        // sends `"model": 5` would otherwise run on a model it did not ask for.
        let model = match self.model {
            None | Some(Value::Null) => None,
            Some(Value::String(m)) => non_blank(Some(m)),
            Some(_) => return Err("'model' must be a string".into()),
        };
        match self.stream {
            None | Some(Value::Null | Value::Bool(_)) => {}
            Some(_) => return Err("'stream' must be a boolean".into()),
        }
        Ok(SendMessage {
            session_id,
            message,
            model,
            skill: non_blank(self.skill),
            images: fail_soft_list("images", self.images)?,
            files: fail_soft_list("files", self.files)?,
        })
    }
}

/// An attachment list must be an array (or absent); its items are all-or-nothing:
/// one malformed item drops the whole list, so a turn never runs on half of what
/// the client meant to attach.
fn fail_soft_list<T: serde::de::DeserializeOwned>(
    name: &str,
    value: Option<Value>,
) -> Result<Vec<T>, String> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(list @ Value::Array(_)) => Ok(serde_json::from_value(list).unwrap_or_default()),
        Some(_) => Err(format!("'{name}' must be an array")),
    }
}

/// `confirm_tool_action`: approve or deny the tool call a parked turn waits on.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfirmToolAction {
    pub session_id: String,
    pub approved: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ConfirmToolActionWire {
    session_id: Option<String>,
    approved: Option<Value>,
}

impl Wire for ConfirmToolActionWire {
    type Output = ConfirmToolAction;
    fn validate(self, _: Option<&str>) -> Result<ConfirmToolAction, String> {
        let session_id =
            non_blank(self.session_id).ok_or("confirm_tool_action requires a 'sessionId'")?;
        // Fail closed: anything but a real boolean is refused, never read as "yes".
        let Some(Value::Bool(approved)) = self.approved else {
            return Err("confirm_tool_action requires a boolean 'approved'".into());
        };
        Ok(ConfirmToolAction {
            session_id,
            approved,
        })
    }
}

/// `verify_otp`: submit a one-time code.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyOtp {
    pub session_id: String,
    pub code: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct VerifyOtpWire {
    session_id: Option<String>,
    code: Option<String>,
}

impl Wire for VerifyOtpWire {
    type Output = VerifyOtp;
    fn validate(self, request_id: Option<&str>) -> Result<VerifyOtp, String> {
        if request_id.is_none() {
            return Err("verify_otp requires a 'requestId'".into());
        }
        let session_id = non_blank(self.session_id).ok_or("verify_otp requires a 'sessionId'")?;
        let code = non_blank(self.code).ok_or("verify_otp requires a 'code'")?;
        Ok(VerifyOtp { session_id, code })
    }
}

/// `submit_interaction`: answer (or decline) a parked Rich Interaction.
#[derive(Debug, Clone, PartialEq)]
pub struct SubmitInteraction {
    pub session_id: String,
    pub interaction_id: String,
    pub kind: Option<String>,
    pub values: Option<Map<String, Value>>,
    pub declined: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SubmitInteractionWire {
    session_id: Option<String>,
    interaction_id: Option<String>,
    kind: Option<String>,
    values: Option<Map<String, Value>>,
    declined: Option<bool>,
}

impl Wire for SubmitInteractionWire {
    type Output = SubmitInteraction;
    fn validate(self, request_id: Option<&str>) -> Result<SubmitInteraction, String> {
        if request_id.is_none() {
            return Err("submit_interaction requires a 'requestId'".into());
        }
        let session_id =
            non_blank(self.session_id).ok_or("submit_interaction requires a 'sessionId'")?;
        let interaction_id = non_blank(self.interaction_id)
            .ok_or("submit_interaction requires an 'interactionId'")?;
        Ok(SubmitInteraction {
            session_id,
            interaction_id,
            kind: non_blank(self.kind),
            values: self.values,
            declined: self.declined.unwrap_or(false),
        })
    }
}

/// `cancel`: stop this connection's running turn. `sessionId` is advisory.
#[derive(Debug, Clone, PartialEq)]
pub struct Cancel {
    pub session_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CancelWire {
    session_id: Option<String>,
}

impl Wire for CancelWire {
    type Output = Cancel;
    fn validate(self, _: Option<&str>) -> Result<Cancel, String> {
        Ok(Cancel {
            session_id: non_blank(self.session_id),
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::{Action, decode_frame};

    fn message(text: &str) -> Result<crate::SendMessage, String> {
        match decode_frame(text) {
            Ok(f) => match f.action {
                Action::SendMessage(m) => Ok(m),
                other => panic!("unexpected {other:?}"),
            },
            Err(e) => Err(e.message),
        }
    }

    #[test]
    fn send_message_validation_order() {
        assert_eq!(
            message(r#"{"action":"send_message","sessionId":"s","message":"hi"}"#).unwrap_err(),
            "send_message requires a 'requestId'"
        );
        assert_eq!(
            message(r#"{"action":"send_message","requestId":"r","message":"hi"}"#).unwrap_err(),
            "missing 'sessionId'"
        );
        assert_eq!(
            message(r#"{"action":"send_message","requestId":"r","sessionId":"s","message":"  "}"#)
                .unwrap_err(),
            "missing or empty 'message'"
        );
        let long = "x".repeat(10_001);
        let text = format!(
            r#"{{"action":"send_message","requestId":"r","sessionId":"s","message":"{long}"}}"#
        );
        assert!(message(&text).unwrap_err().contains("10000"));
    }

    #[test]
    fn send_message_fields_of_the_wrong_type_are_named() {
        for (field, value) in [
            ("model", "5"),
            ("model", "[\"gpt-x\"]"),
            ("images", "\"https://x/y.png\""),
            ("images", "{\"url\":\"https://x/y.png\"}"),
            ("files", "7"),
            ("stream", "\"false\""),
            ("stream", "0"),
        ] {
            let text = format!(
                r#"{{"action":"send_message","requestId":"r","sessionId":"s","message":"hi","{field}":{value}}}"#
            );
            let e = message(&text).unwrap_err();
            assert!(e.contains(&format!("'{field}'")), "{text}: {e}");
        }
        let m = message(
            r#"{"action":"send_message","requestId":"r","sessionId":"s","message":"hi",
               "model":null,"images":null,"files":null,"stream":false}"#,
        )
        .unwrap();
        assert_eq!((m.model, m.images.len(), m.files.len()), (None, 0, 0));
    }

    #[test]
    fn send_message_model_and_attachments_are_lenient() {
        let m = message(
            r#"{"action":"send_message","requestId":"r","sessionId":"s","message":"hi","model":"  ",
               "images":[{"url":"https://x/y.png","detail":"high"},{"nope":1}],
               "files":[{"name":"a.csv","url":"data:text/csv;base64,YQ=="}]}"#,
        )
        .unwrap();
        assert_eq!(m.model, None);
        assert!(m.images.is_empty(), "one bad image drops the list");
        assert_eq!(m.files.len(), 1);
        let m = message(
            r#"{"action":"send_message","requestId":"r","sessionId":"s","message":"hi","model":" gpt-x "}"#,
        )
        .unwrap();
        assert_eq!(m.model.as_deref(), Some("gpt-x"));
    }

    #[test]
    fn confirm_fails_closed_on_non_boolean() {
        for approved in [r#""true""#, "1", "null"] {
            let text = format!(
                r#"{{"action":"confirm_tool_action","sessionId":"s","approved":{approved}}}"#
            );
            let e = decode_frame(&text).unwrap_err();
            assert_eq!(
                e.message,
                "confirm_tool_action requires a boolean 'approved'"
            );
        }
    }

    #[test]
    fn cancel_needs_nothing() {
        let f = decode_frame(r#"{"action":"cancel"}"#).unwrap();
        assert_eq!(f.action, Action::Cancel(crate::Cancel { session_id: None }));
    }
}
