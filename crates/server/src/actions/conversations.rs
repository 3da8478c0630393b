//! `list_conversations` (the sidebar) and `rename_conversation`.

use super::{ActionError, Ctx};
use crate::access;
use chrono::SecondsFormat;
use switchboard_core::ConversationUpdate;
use switchboard_core::title::{sanitize_title, sidebar_title};
use switchboard_protocol::{
    Ack, ConversationList, ConversationRenamed, ConversationRow, Event, ListConversations,
    RenameConversation,
};

/// The caller's conversations that have messages, most recently active first.
pub async fn list(ctx: &mut Ctx<'_>, req: ListConversations) -> Result<Event, ActionError> {
    let query = ctx.viewer.list_query(req.limit as usize);
    let rows = ctx.state.store().list_conversations(query).await?;
    let conversations = rows
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
    Ok(Event::ack(
        ctx.request_id.clone(),
        200,
        "Conversations",
        Ack::Conversations(ConversationList { conversations }),
    ))
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
