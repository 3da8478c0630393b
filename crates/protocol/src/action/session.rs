//! Session and conversation actions: create/resume, read back, page, list, rename.

use super::{Wire, non_blank, parse_limit};
use serde::Deserialize;
use serde_json::{Map, Value};

/// `create_conversation_session`: open a session on a new or resumed conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateSession {
    /// The agent to talk to; any non-blank string.
    pub agent_id: String,
    pub user_name: Option<String>,
    pub user_email: Option<String>,
    pub browser_fingerprint: Option<String>,
    /// Caller metadata stored on a new conversation.
    pub metadata: Map<String, Value>,
    /// Render capabilities. `None` (key omitted) inherits on resume; `Some(vec![])`
    /// explicitly declares a text-only client.
    pub supports: Option<Vec<String>>,
    pub auth_context: Option<AuthContext>,
    /// Resume this conversation when it exists and is readable.
    pub conversation_id: Option<String>,
}

/// A widget's signed identity claim (`userId`, hex HMAC, epoch seconds).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthContext {
    pub user_id: String,
    pub signature: String,
    pub timestamp: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CreateSessionWire {
    agent_id: Option<String>,
    user_name: Option<String>,
    user_email: Option<String>,
    browser_fingerprint: Option<String>,
    metadata: Option<Map<String, Value>>,
    supports: Option<Vec<String>>,
    auth_context: Option<AuthContext>,
    conversation_id: Option<String>,
}

impl Wire for CreateSessionWire {
    type Output = CreateSession;
    fn validate(self, _: Option<&str>) -> Result<CreateSession, String> {
        let agent_id = non_blank(self.agent_id).ok_or("missing 'agentId'")?;
        Ok(CreateSession {
            agent_id,
            user_name: non_blank(self.user_name),
            user_email: non_blank(self.user_email),
            browser_fingerprint: non_blank(self.browser_fingerprint),
            metadata: self.metadata.unwrap_or_default(),
            supports: self.supports,
            auth_context: self.auth_context,
            conversation_id: non_blank(self.conversation_id),
        })
    }
}

/// `get_session`: read a session back.
#[derive(Debug, Clone, PartialEq)]
pub struct GetSession {
    pub session_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct GetSessionWire {
    session_id: Option<String>,
}

impl Wire for GetSessionWire {
    type Output = GetSession;
    fn validate(self, _: Option<&str>) -> Result<GetSession, String> {
        let session_id = non_blank(self.session_id).ok_or("missing 'sessionId'")?;
        Ok(GetSession { session_id })
    }
}

/// Largest page `get_conversation_messages` returns; larger limits are clamped.
pub const MAX_MESSAGES_PAGE: u32 = 100;
/// Page size when `limit` is omitted.
pub const DEFAULT_MESSAGES_PAGE: u32 = 50;

/// `get_conversation_messages`: one page of the session's conversation, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct GetMessages {
    pub session_id: String,
    pub limit: u32,
    /// The opaque `nextCursor` of the previous page, sent as `cursor` or (by some
    /// clients) as `before`.
    pub cursor: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct GetMessagesWire {
    session_id: Option<String>,
    limit: Option<Value>,
    cursor: Option<String>,
    before: Option<String>,
}

impl Wire for GetMessagesWire {
    type Output = GetMessages;
    fn validate(self, _: Option<&str>) -> Result<GetMessages, String> {
        let session_id = non_blank(self.session_id).ok_or("missing 'sessionId'")?;
        let limit = parse_limit(self.limit, DEFAULT_MESSAGES_PAGE, MAX_MESSAGES_PAGE)?;
        // `before` is another name for `cursor`; two different positions in one
        // request are refused rather than one of them silently winning.
        let cursor = match (non_blank(self.cursor), non_blank(self.before)) {
            (Some(cursor), Some(before)) if cursor != before => {
                return Err("'cursor' and 'before' name different pages; send one of them".into());
            }
            (cursor, before) => cursor.or(before),
        };
        Ok(GetMessages {
            session_id,
            limit,
            cursor,
        })
    }
}

/// Largest number of rows `list_conversations` returns; larger limits are clamped.
pub const MAX_CONVERSATIONS_PAGE: u32 = 200;
/// Page size when `limit` is omitted.
pub const DEFAULT_CONVERSATIONS_PAGE: u32 = 50;

/// `list_conversations`: one page of the caller's conversations for a sidebar, most
/// recent first, optionally narrowed by a search.
#[derive(Debug, Clone, PartialEq)]
pub struct ListConversations {
    pub limit: u32,
    /// The opaque `nextCursor` of the previous page (blank: the first page).
    pub cursor: Option<String>,
    /// Text to find in titles and first messages, as sent (blank: no filter).
    pub query: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ListConversationsWire {
    limit: Option<Value>,
    cursor: Option<String>,
    query: Option<String>,
}

impl Wire for ListConversationsWire {
    type Output = ListConversations;
    fn validate(self, _: Option<&str>) -> Result<ListConversations, String> {
        let limit = parse_limit(
            self.limit,
            DEFAULT_CONVERSATIONS_PAGE,
            MAX_CONVERSATIONS_PAGE,
        )?;
        Ok(ListConversations {
            limit,
            cursor: non_blank(self.cursor),
            query: non_blank(self.query),
        })
    }
}

/// `rename_conversation`: set a conversation's title.
#[derive(Debug, Clone, PartialEq)]
pub struct RenameConversation {
    pub conversation_id: String,
    /// The title as sent; the server sanitizes it and refuses an empty result.
    pub title: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RenameConversationWire {
    conversation_id: Option<String>,
    title: Option<String>,
}

impl Wire for RenameConversationWire {
    type Output = RenameConversation;
    fn validate(self, _: Option<&str>) -> Result<RenameConversation, String> {
        let conversation_id = non_blank(self.conversation_id)
            .ok_or("rename_conversation requires a 'conversationId'")?;
        Ok(RenameConversation {
            conversation_id,
            title: self.title.unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::{Action, decode_frame};

    #[test]
    fn create_requires_non_blank_agent_id() {
        for text in [
            r#"{"action":"create_conversation_session","requestId":"r"}"#,
            r#"{"action":"create_conversation_session","requestId":"r","agentId":"   "}"#,
        ] {
            let e = decode_frame(text).unwrap_err();
            assert_eq!(e.message, "missing 'agentId'");
            assert_eq!(e.request_id.as_deref(), Some("r"));
        }
    }

    #[test]
    fn create_keeps_supports_presence() {
        let f = decode_frame(r#"{"action":"create_conversation_session","agentId":"a"}"#).unwrap();
        let Action::CreateConversationSession(c) = f.action else {
            panic!()
        };
        assert_eq!(c.supports, None);
        let f = decode_frame(
            r#"{"action":"create_conversation_session","agentId":" a ","supports":[],"conversationId":""}"#,
        )
        .unwrap();
        let Action::CreateConversationSession(c) = f.action else {
            panic!()
        };
        assert_eq!(c.supports, Some(vec![]));
        assert_eq!(c.agent_id, "a");
        assert_eq!(c.conversation_id, None);
    }

    #[test]
    fn messages_page_defaults_and_clamps() {
        let f = decode_frame(r#"{"action":"get_conversation_messages","sessionId":"s"}"#).unwrap();
        let Action::GetConversationMessages(m) = f.action else {
            panic!()
        };
        assert_eq!((m.limit, m.cursor), (50, None));
        let f = decode_frame(
            r#"{"action":"get_conversation_messages","sessionId":"s","limit":1000,"cursor":"c"}"#,
        )
        .unwrap();
        let Action::GetConversationMessages(m) = f.action else {
            panic!()
        };
        assert_eq!((m.limit, m.cursor.as_deref()), (100, Some("c")));
        let e = decode_frame(r#"{"action":"get_conversation_messages","limit":4}"#).unwrap_err();
        assert_eq!(e.message, "missing 'sessionId'");
    }

    #[test]
    fn before_is_another_name_for_cursor() {
        let page = |text: &str| match decode_frame(text).map(|f| f.action) {
            Ok(Action::GetConversationMessages(m)) => Ok(m.cursor),
            Ok(other) => panic!("{other:?}"),
            Err(e) => Err(e.message),
        };
        let base = r#"{"action":"get_conversation_messages","sessionId":"s""#;
        assert_eq!(
            page(&format!(r#"{base},"before":"m1"}}"#)),
            Ok(Some("m1".into()))
        );
        assert_eq!(
            page(&format!(r#"{base},"before":"m1","cursor":"m1"}}"#)),
            Ok(Some("m1".into()))
        );
        assert_eq!(
            page(&format!(r#"{base},"before":"","cursor":"m2"}}"#)),
            Ok(Some("m2".into()))
        );
        assert_eq!(
            page(&format!(r#"{base},"before":"m1","cursor":"m2"}}"#)),
            Err("'cursor' and 'before' name different pages; send one of them".into())
        );
    }

    #[test]
    fn list_takes_a_cursor_and_a_query() {
        let f = decode_frame(r#"{"action":"list_conversations"}"#).unwrap();
        let Action::ListConversations(l) = f.action else {
            panic!()
        };
        assert_eq!((l.limit, l.cursor, l.query), (50, None, None));
        let f = decode_frame(
            r#"{"action":"list_conversations","limit":500,"cursor":"","query":" Refund "}"#,
        )
        .unwrap();
        let Action::ListConversations(l) = f.action else {
            panic!()
        };
        assert_eq!(
            (l.limit, l.cursor, l.query.as_deref()),
            (200, None, Some("Refund"))
        );
    }

    #[test]
    fn rename_requires_conversation_id() {
        let e = decode_frame(r#"{"action":"rename_conversation","title":"x"}"#).unwrap_err();
        assert_eq!(e.message, "rename_conversation requires a 'conversationId'");
    }
}
