//! `GET /admin/conversations` and `GET /admin/conversations/{id}/messages`.
//!
//! Administrators and curators read every conversation of their organisation; a
//! basic user only those they own (a `user` participant whose verified id is
//! theirs). A conversation the caller may not read answers exactly like one that
//! does not exist: 404, never 403, so its existence is not revealed.

use super::extract::{Params, PathId, clamp_limit};
use super::{AdminError, Caller};
use crate::auth::Role;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::SecondsFormat;
use serde::{Deserialize, Serialize};
use switchboard_core::{
    Conversation, ConversationCursor, ConversationId, MessageId, MessageQuery, Order,
    OrgConversationQuery, Owner, Platform,
};
use switchboard_protocol::WireMessage;

#[derive(Deserialize)]
pub struct PageParams {
    limit: Option<u32>,
    cursor: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationList {
    conversations: Vec<ConversationRow>,
    next_cursor: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConversationRow {
    id: ConversationId,
    name: String,
    platform: Platform,
    created_at: String,
    updated_at: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageList {
    conversation_id: ConversationId,
    messages: Vec<WireMessage>,
    next_cursor: Option<String>,
}

/// `GET /admin/conversations?limit&cursor`: newest first; `limit` 1..=200
/// (default 50); `cursor` is the previous page's `nextCursor`.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Params(params): Params<PageParams>,
) -> Result<Json<ConversationList>, AdminError> {
    let after = params.cursor.as_deref().map(decode_cursor).transpose()?;
    let page = state
        .store()
        .list_org_conversations(OrgConversationQuery {
            org_id: caller.org(),
            owner: sees_only_own(&caller).then(|| Owner::new(caller.org(), caller.user_id())),
            limit: clamp_limit(params.limit, 50, 200),
            after,
        })
        .await?;
    Ok(Json(ConversationList {
        conversations: page.conversations.iter().map(row).collect(),
        next_cursor: page.next.map(encode_cursor),
    }))
}

/// `GET /admin/conversations/{id}/messages?limit&cursor`: oldest first; `limit`
/// 1..=200 (default 200); `cursor` is the previous page's `nextCursor`.
pub async fn messages(
    State(state): State<AppState>,
    caller: Caller,
    PathId(raw_id): PathId,
    Params(params): Params<PageParams>,
) -> Result<Json<MessageList>, AdminError> {
    let conversation = readable(&state, &caller, &raw_id).await?;
    let after = match params.cursor.as_deref() {
        None => None,
        Some(raw) => Some(MessageId::parse(raw).ok_or_else(not_issued)?),
    };
    let page = state
        .store()
        .list_messages(MessageQuery {
            conversation_id: conversation.id,
            limit: clamp_limit(params.limit, 200, 200),
            order: Order::OldestFirst,
            after,
        })
        .await?;
    let mut messages: Vec<WireMessage> = page
        .messages
        .iter()
        .map(crate::actions::wire_message)
        .collect();
    crate::actions::name_senders(state.store().as_ref(), conversation.id, &mut messages).await?;
    Ok(Json(MessageList {
        conversation_id: conversation.id,
        messages,
        next_cursor: page.next_cursor.map(|id| id.to_string()),
    }))
}

/// Basic users see only their own conversations.
fn sees_only_own(caller: &Caller) -> bool {
    caller.role() < Role::Curator
}

/// The conversation `raw_id` names, when the caller may read it.
async fn readable(
    state: &AppState,
    caller: &Caller,
    raw_id: &str,
) -> Result<Conversation, AdminError> {
    let not_found = || AdminError::NotFound(format!("conversation '{raw_id}' not found"));
    let id = ConversationId::parse(raw_id).ok_or_else(not_found)?;
    let conversation = state
        .store()
        .get_conversation(id)
        .await?
        .filter(|c| c.org_id == caller.org())
        .ok_or_else(not_found)?;
    if sees_only_own(caller) {
        let participants = state.store().list_participants(id).await?;
        let me = Owner::new(caller.org(), caller.user_id());
        let owns = participants.iter().any(|p| me.is(p));
        if !owns {
            return Err(not_found());
        }
    }
    Ok(conversation)
}

fn row(conversation: &Conversation) -> ConversationRow {
    let time = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
    ConversationRow {
        id: conversation.id,
        name: conversation.name.clone(),
        platform: conversation.platform,
        created_at: time(conversation.created_at),
        updated_at: time(conversation.updated_at),
    }
}

fn not_issued() -> AdminError {
    AdminError::Validation("'cursor' is not a cursor this server issued".into())
}

/// Opaque to clients: base64url of `<creation in ns>.<id>`.
fn encode_cursor(cursor: ConversationCursor) -> String {
    let nanos = cursor.created_at.timestamp_nanos_opt().unwrap_or_default();
    URL_SAFE_NO_PAD.encode(format!("{nanos}.{}", cursor.id))
}

fn decode_cursor(raw: &str) -> Result<ConversationCursor, AdminError> {
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| not_issued())?;
    let text = String::from_utf8(bytes).map_err(|_| not_issued())?;
    let (nanos, id) = text.split_once('.').ok_or_else(not_issued)?;
    Ok(ConversationCursor {
        created_at: chrono::DateTime::from_timestamp_nanos(
            nanos.parse().map_err(|_| not_issued())?,
        ),
        id: ConversationId::parse(id).ok_or_else(not_issued)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let cursor = ConversationCursor {
            created_at: chrono::Utc::now(),
            id: ConversationId::random(),
        };
        assert_eq!(decode_cursor(&encode_cursor(cursor)).unwrap(), cursor);
        for garbage in ["", "12", "not base64!", &URL_SAFE_NO_PAD.encode("1.x")] {
            assert!(decode_cursor(garbage).is_err(), "{garbage}");
        }
    }
}
