//! The paged reads: a conversation's messages by keyset, and the conversation list.

use crate::error::backend;
use crate::rows::{self, conversation_columns, message_columns, nanos};
use sqlx::PgPool;
use switchboard_core::*;

/// Rows to fetch for a page of `limit`: one more tells whether anything remains.
fn fetch_limit(limit: usize) -> i64 {
    i64::try_from(limit).map_or(i64::MAX, |limit| limit.saturating_add(1))
}

pub(crate) async fn list_messages(pool: &PgPool, query: MessageQuery) -> StoreResult<MessagePage> {
    let cursor: Option<i64> = match query.after {
        None => None,
        Some(after) => Some(
            sqlx::query_scalar("SELECT seq FROM messages WHERE id = $1 AND conversation_id = $2")
                .bind(after.as_uuid())
                .bind(query.conversation_id.as_uuid())
                .fetch_optional(pool)
                .await
                .map_err(backend)?
                .ok_or(StoreError::InvalidCursor)?,
        ),
    };
    // Without a cursor the bound is past either end, so the index scan has a plain
    // range condition in both cases.
    let sql = match query.order {
        Order::NewestFirst => concat!(
            "SELECT ",
            message_columns!(),
            " FROM messages WHERE conversation_id = $1 ",
            "AND seq < COALESCE($2, 9223372036854775807) ORDER BY seq DESC LIMIT $3"
        ),
        Order::OldestFirst => concat!(
            "SELECT ",
            message_columns!(),
            " FROM messages WHERE conversation_id = $1 ",
            "AND seq > COALESCE($2, 0) ORDER BY seq LIMIT $3"
        ),
    };
    let found = sqlx::query(sql)
        .bind(query.conversation_id.as_uuid())
        .bind(cursor)
        .bind(fetch_limit(query.limit))
        .fetch_all(pool)
        .await
        .map_err(backend)?;
    let messages = found
        .iter()
        .map(rows::message)
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(MessagePage::from_overfetch(messages, query.limit))
}

pub(crate) async fn list_conversations(
    pool: &PgPool,
    query: ConversationQuery,
) -> StoreResult<ConversationSummaryPage> {
    // The count is kept on the row; the first inbound message comes from a partial
    // index. A list of ids is looked up by key rather than by scanning the
    // organisation. Filters that do not apply bind NULL and drop out. The search
    // compares lower-cased text with `strpos`, so `%` and `_` are plain characters.
    let sql = concat!(
        "SELECT ",
        conversation_columns!(),
        ", message_count, f.text AS first_user_text ",
        "FROM conversations c LEFT JOIN LATERAL (SELECT m.text FROM messages m ",
        "WHERE m.conversation_id = c.id AND m.direction = 'inbound' ",
        "ORDER BY m.seq LIMIT 1) f ON TRUE ",
        "WHERE c.org_id = $1 AND c.message_count > 0 ",
        "AND ($3::uuid[] IS NULL OR c.id = ANY($3)) ",
        "AND ($4::text IS NULL OR c.id IN (SELECT p.conversation_id FROM participants p ",
        "WHERE p.org_id = $5 AND p.kind = 'user' AND p.external_id = $4)) ",
        "AND ($6::bigint IS NULL OR (c.updated_at_ns, c.id) < ($6, $7::uuid)) ",
        "AND ($8::text IS NULL ",
        "OR (NOT starts_with(c.name, $9) AND btrim(c.name) <> '' ",
        "AND strpos(lower(c.name), $8) > 0) ",
        "OR strpos(lower(f.text), $8) > 0) ",
        "ORDER BY c.updated_at_ns DESC, c.id DESC LIMIT $2"
    );
    let only = query
        .only
        .as_ref()
        .map(|ids| ids.iter().map(|id| *id.as_uuid()).collect::<Vec<_>>());
    let size = query.page_size();
    let after_ns = query.after.map(|a| nanos(a.updated_at)).transpose()?;
    let found = sqlx::query(sql)
        .bind(query.org_id.as_str())
        .bind(fetch_limit(size))
        .bind(only)
        .bind(query.owner.as_ref().map(|o| o.user_id.as_str()))
        .bind(query.owner.as_ref().map(|o| o.org_id.as_str()))
        .bind(after_ns)
        .bind(query.after.map(|a| *a.id.as_uuid()))
        .bind(query.search.as_ref().map(|s| s.needle()))
        .bind(switchboard_core::title::DEFAULT_NAME_PREFIX)
        .fetch_all(pool)
        .await
        .map_err(backend)?;
    let rows = found
        .iter()
        .map(|row| {
            let count: i64 = sqlx::Row::try_get(row, "message_count").map_err(backend)?;
            Ok(ConversationSummary {
                conversation: rows::conversation(row)?,
                message_count: u64::try_from(count).unwrap_or_default(),
                first_user_text: sqlx::Row::try_get(row, "first_user_text").map_err(backend)?,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(ConversationSummaryPage::from_overfetch(rows, size))
}

pub(crate) async fn list_org_conversations(
    pool: &PgPool,
    query: OrgConversationQuery,
) -> StoreResult<ConversationPage> {
    // Filters that do not apply bind NULL and drop out.
    let sql = concat!(
        "SELECT ",
        conversation_columns!(),
        " FROM conversations WHERE org_id = $1 ",
        "AND ($2::bigint IS NULL OR (created_at_ns, id) < ($2, $3::uuid)) ",
        "AND ($4::text IS NULL OR id IN (SELECT p.conversation_id FROM participants p ",
        "WHERE p.org_id = $6 AND p.kind = 'user' AND p.external_id = $4)) ",
        "ORDER BY created_at_ns DESC, id DESC LIMIT $5"
    );
    let after_ns = query.after.map(|a| nanos(a.created_at)).transpose()?;
    let found = sqlx::query(sql)
        .bind(query.org_id.as_str())
        .bind(after_ns)
        .bind(query.after.map(|a| *a.id.as_uuid()))
        .bind(query.owner.as_ref().map(|o| o.user_id.as_str()))
        .bind(fetch_limit(query.limit))
        .bind(query.owner.as_ref().map(|o| o.org_id.as_str()))
        .fetch_all(pool)
        .await
        .map_err(backend)?;
    let more = found.len() > query.limit;
    let conversations = found
        .iter()
        .take(query.limit)
        .map(rows::conversation)
        .collect::<StoreResult<Vec<_>>>()?;
    let next = if more {
        conversations.last().map(ConversationCursor::of)
    } else {
        None
    };
    Ok(ConversationPage {
        conversations,
        next,
    })
}
