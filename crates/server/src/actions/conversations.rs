//! `list_conversations` (the sidebar) and `rename_conversation`.

use super::{ActionError, Ctx};
use crate::access;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::SecondsFormat;
use sha2::{Digest, Sha256};
use switchboard_core::title::{sanitize_title, sidebar_title};
use switchboard_core::{ActivityCursor, ConversationId, ConversationSearch, ConversationUpdate};
use switchboard_protocol::{
    Ack, ConversationList, ConversationRenamed, ConversationRow, Event, ListConversations,
    RenameConversation,
};

/// One page of the caller's conversations that have messages, most recently
/// active first, narrowed by `query` when one is sent.
pub async fn list(ctx: &mut Ctx<'_>, req: ListConversations) -> Result<Event, ActionError> {
    let search = ConversationSearch::new(req.query.as_deref().unwrap_or_default())
        .map_err(|e| ActionError::Validation(format!("'query' is too long: {e}")))?;
    let mut query = ctx.viewer.list_query(req.limit as usize);
    if let Some(raw) = &req.cursor {
        let after = open_cursor(raw, search.as_ref())?;
        // Like a message cursor, it must name something of this very list: a
        // conversation the caller may read, in the listed organisation and scope.
        let named = access::open_conversation(ctx.state, ctx.viewer, &after.id.to_string())
            .await?
            .filter(|(c, participants)| {
                c.org_id == query.org_id
                    && query.only.as_ref().is_none_or(|ids| ids.contains(&c.id))
                    && query
                        .owner
                        .as_ref()
                        .is_none_or(|owner| access::owners(participants).any(|o| o == *owner))
            });
        if named.is_none() {
            return Err(not_issued());
        }
        query.after = Some(after);
    }
    query.search = search.clone();
    let page = ctx.state.store().list_conversations(query).await?;
    let conversations = page
        .conversations
        .into_iter()
        .map(|row| ConversationRow {
            conversation_id: row.conversation.id.to_string(),
            title: sidebar_title(&row.conversation.name, row.first_user_text.as_deref()),
            updated_at: row
                .conversation
                .updated_at
                .to_rfc3339_opts(SecondsFormat::Millis, true),
            message_count: row.message_count,
        })
        .collect();
    let next_cursor = page.next.map(|next| seal_cursor(next, search.as_ref()));
    Ok(Event::ack(
        ctx.request_id.clone(),
        200,
        "Conversations",
        Ack::Conversations(ConversationList {
            conversations,
            has_more: next_cursor.is_some(),
            next_cursor,
        }),
    ))
}

fn not_issued() -> ActionError {
    ActionError::Validation("'cursor' is not a cursor this server issued".into())
}

/// A short digest of the search a cursor was issued for ("" without one), so a
/// cursor is not carried over to another search.
fn search_tag(search: Option<&ConversationSearch>) -> String {
    let Some(search) = search else {
        return String::new();
    };
    let digest = Sha256::digest(search.needle().as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Opaque to clients: unpadded base64url of
/// `<updatedAt, RFC 3339 in nanoseconds>|<conversationId>|<search tag>`.
fn seal_cursor(position: ActivityCursor, search: Option<&ConversationSearch>) -> String {
    let at = position
        .updated_at
        .to_rfc3339_opts(SecondsFormat::Nanos, true);
    URL_SAFE_NO_PAD.encode(format!("{at}|{}|{}", position.id, search_tag(search)))
}

/// The position a cursor of [`seal_cursor`] names, refused when it is not one
/// or was issued for another search.
fn open_cursor(
    raw: &str,
    search: Option<&ConversationSearch>,
) -> Result<ActivityCursor, ActionError> {
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| not_issued())?;
    let text = String::from_utf8(bytes).map_err(|_| not_issued())?;
    let mut parts = text.split('|');
    let (Some(at), Some(id), Some(tag), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(not_issued());
    };
    let updated_at = chrono::DateTime::parse_from_rfc3339(at)
        .map_err(|_| not_issued())?
        .to_utc();
    let id = ConversationId::parse(id).ok_or_else(not_issued)?;
    if tag != search_tag(search) {
        return Err(ActionError::Validation(
            "'cursor' was issued for another 'query'; send the same 'query' to page on".into(),
        ));
    }
    Ok(ActivityCursor { updated_at, id })
}

/// Sets a conversation's title, cleaned of markdown wrapping and capped.
pub async fn rename(ctx: &mut Ctx<'_>, req: RenameConversation) -> Result<Event, ActionError> {
    let title = sanitize_title(&req.title).ok_or_else(|| {
        ActionError::Validation("rename_conversation requires a non-empty 'title'".into())
    })?;
    let not_found = || ActionError::ConversationNotFound(req.conversation_id.clone());
    let conversation = access::load_conversation(ctx.state, ctx.viewer, &req.conversation_id)
        .await?
        .ok_or_else(not_found)?;
    ctx.state
        .store()
        .update_conversation(
            conversation.id,
            ConversationUpdate {
                name: Some(title.clone()),
                ..Default::default()
            },
        )
        .await?
        .ok_or_else(not_found)?;
    Ok(Event::ack(
        ctx.request_id.clone(),
        200,
        "Conversation renamed",
        Ack::ConversationRenamed(ConversationRenamed {
            conversation_id: conversation.id.to_string(),
            title,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_anything_else_is_refused() {
        let position = ActivityCursor {
            updated_at: chrono::Utc::now(),
            id: ConversationId::random(),
        };
        let refund = ConversationSearch::new("Refund").unwrap();
        for search in [None, refund.as_ref()] {
            let sealed = seal_cursor(position, search);
            assert_eq!(open_cursor(&sealed, search).unwrap(), position);
        }
        let sealed = seal_cursor(position, refund.as_ref());
        assert!(open_cursor(&sealed, None).is_err(), "another search");
        let same = ConversationSearch::new("  REFUND ").unwrap();
        assert!(
            open_cursor(&sealed, same.as_ref()).is_ok(),
            "the same search"
        );
        let forged = [
            "".to_owned(),
            "not base64!".to_owned(),
            URL_SAFE_NO_PAD.encode(format!("yesterday|{}|", position.id)),
            URL_SAFE_NO_PAD.encode("2026-01-01T00:00:00Z|not-an-id|"),
            URL_SAFE_NO_PAD.encode(format!("2026-01-01T00:00:00Z|{}||x", position.id)),
            position.id.to_string(),
        ];
        for raw in forged {
            assert!(open_cursor(&raw, None).is_err(), "{raw}");
        }
    }
}
