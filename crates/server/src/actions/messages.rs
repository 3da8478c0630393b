//! `get_conversation_messages`: page through a session's conversation, newest first.

use super::{ActionError, Ctx};
use crate::access;
use chrono::SecondsFormat;
use switchboard_core::{Direction, Message, MessageId, MessageQuery, Order};
use switchboard_protocol::{Ack, Event, GetMessages, MessagesPage, WireContent, WireMessage};

/// One page. The cursor is opaque to clients (today a message id); a cursor that
/// names no message of this conversation is refused rather than silently restarting
/// from the newest message, which would show the reader duplicates.
pub async fn page(ctx: &mut Ctx<'_>, req: GetMessages) -> Result<Event, ActionError> {
    let session = access::load_session(ctx.state, ctx.viewer, &req.session_id).await?;
    let after = match &req.cursor {
        None => None,
        Some(raw) => Some(MessageId::parse(raw).ok_or_else(|| {
            ActionError::Validation("'cursor' is not a cursor this server issued".into())
        })?),
    };
    let page = ctx
        .state
        .store()
        .list_messages(MessageQuery {
            conversation_id: session.conversation_id,
            limit: req.limit as usize,
            order: Order::NewestFirst,
            after,
        })
        .await?;
    let next_cursor = page.next_cursor.map(|id| id.to_string());
    let mut messages: Vec<WireMessage> = page.messages.iter().map(wire_message).collect();
    name_senders(
        ctx.state.store().as_ref(),
        session.conversation_id,
        &mut messages,
    )
    .await?;
    Ok(Event::ack(
        ctx.request_id.clone(),
        200,
        "ConversationMessages",
        Ack::Messages(MessagesPage {
            has_more: next_cursor.is_some(),
            next_cursor,
            messages,
        }),
    ))
}

/// Fills in the names of the operators who wrote `messages` (read only when some
/// message has one).
pub async fn name_senders(
    store: &dyn switchboard_core::Store,
    conversation: switchboard_core::ConversationId,
    messages: &mut [WireMessage],
) -> Result<(), switchboard_core::StoreError> {
    if messages.iter().all(|m| m.from.is_none()) {
        return Ok(());
    }
    let participants = store.list_participants(conversation).await?;
    for from in messages.iter_mut().filter_map(|m| m.from.as_mut()) {
        from.name = participants
            .iter()
            .find(|p| p.id.to_string() == from.id)
            .map(|p| p.name.clone());
    }
    Ok(())
}

/// A stored message in the wire's `ConversationMessage` shape.
pub fn wire_message(message: &Message) -> WireMessage {
    WireMessage {
        id: message.id.to_string(),
        direction: match message.direction {
            Direction::Inbound => switchboard_protocol::Direction::Inbound,
            Direction::Outbound => switchboard_protocol::Direction::Outbound,
        },
        content: WireContent {
            text: message.text.clone(),
        },
        from: message.sender.map(|id| switchboard_protocol::Party {
            id: id.to_string(),
            kind: "human-agent".into(),
            name: None,
        }),
        created_at: message
            .created_at
            .to_rfc3339_opts(SecondsFormat::Millis, true),
    }
}
