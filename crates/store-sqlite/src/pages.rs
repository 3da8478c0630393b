//! The paged reads: a conversation's messages by keyset, and the conversation list.

use crate::db::{all, optional};
use crate::rows::{self, conversation_columns, get, message_columns, nanos};
use rusqlite::{Connection, params};
use switchboard_core::*;

/// Rows to fetch for a page of `limit`: one more tells whether anything remains.
fn fetch_limit(limit: usize) -> i64 {
    i64::try_from(limit).map_or(i64::MAX, |limit| limit.saturating_add(1))
}

pub(crate) fn list_messages(c: &Connection, query: MessageQuery) -> StoreResult<MessagePage> {
    let cursor: Option<i64> = match query.after {
        None => None,
        Some(after) => Some(
            optional(
                c,
                "SELECT seq FROM messages WHERE id = ?1 AND conversation_id = ?2",
                [after.as_uuid(), query.conversation_id.as_uuid()],
                |row| get(row, "seq"),
            )?
            .ok_or(StoreError::InvalidCursor)?,
        ),
    };
    // Without a cursor the bound is past either end, so the index scan has a plain
    // range condition in both cases.
    let sql = match query.order {
        Order::NewestFirst => concat!(
            "SELECT ",
            message_columns!(),
            " FROM messages WHERE conversation_id = ?1 ",
            "AND seq < COALESCE(?2, 9223372036854775807) ORDER BY seq DESC LIMIT ?3"
        ),
        Order::OldestFirst => concat!(
            "SELECT ",
            message_columns!(),
            " FROM messages WHERE conversation_id = ?1 ",
            "AND seq > COALESCE(?2, 0) ORDER BY seq LIMIT ?3"
        ),
    };
    let values = params![
        query.conversation_id.as_uuid(),
        cursor,
        fetch_limit(query.limit)
    ];
    let messages = all(c, sql, values, rows::message)?;
    Ok(MessagePage::from_overfetch(messages, query.limit))
}

pub(crate) fn list_conversations(
    c: &Connection,
    query: ConversationQuery,
) -> StoreResult<ConversationSummaryPage> {
    // The count is kept on the row; the first inbound message comes from a partial
    // index. Filters that do not apply bind NULL and drop out; the position is a
    // keyset (last activity, id). SQLite's `lower()` folds ASCII only, so a search
    // is matched here with Unicode case folding (`ConversationSearch::matches`),
    // reading the caller's conversations in batches until the page is full.
    let sql = concat!(
        "SELECT ",
        conversation_columns!(),
        ", message_count, (SELECT m.text FROM messages m ",
        "WHERE m.conversation_id = c.id AND m.direction = 'inbound' ",
        "ORDER BY m.seq LIMIT 1) AS first_user_text ",
        "FROM conversations c WHERE org_id = ?1 AND message_count > 0",
        " AND (?3 IS NULL OR id IN (SELECT unhex(value) FROM json_each(?3)))",
        " AND (?4 IS NULL OR id IN (",
        "SELECT p.conversation_id FROM participants p ",
        "WHERE p.org_id = ?5 AND p.kind = 'user' AND p.external_id = ?4))",
        " AND (?6 IS NULL OR updated_at_ns < ?6 OR (updated_at_ns = ?6 AND id < ?7))",
        " ORDER BY updated_at_ns DESC, id DESC LIMIT ?2"
    );
    let only = query.only.as_ref().map(|ids| {
        // A JSON array of the ids in hex, unpacked by `json_each` and `unhex`.
        let hex: Vec<String> = ids
            .iter()
            .map(|id| id.as_uuid().simple().to_string())
            .collect();
        serde_json::Value::from(hex).to_string()
    });
    let size = query.page_size();
    // Without a search one batch is the page (one row deeper says more remain).
    let batch = if query.search.is_some() {
        200
    } else {
        size + 1
    };
    let mut after = query.after;
    let mut kept = Vec::new();
    loop {
        let after_ns = after.map(|a| nanos(a.updated_at)).transpose()?;
        let values = params![
            query.org_id.as_str(),
            i64::try_from(batch).unwrap_or(i64::MAX),
            only.as_deref(),
            query.owner.as_ref().map(|o| o.user_id.as_str()),
            query.owner.as_ref().map(|o| o.org_id.as_str()),
            after_ns,
            after.map(|a| *a.id.as_uuid()),
        ];
        let found = all(c, sql, values, |row| {
            let count: i64 = get(row, "message_count")?;
            Ok(ConversationSummary {
                conversation: rows::conversation(row)?,
                message_count: u64::try_from(count).unwrap_or_default(),
                first_user_text: get(row, "first_user_text")?,
            })
        })?;
        let exhausted = found.len() < batch;
        for summary in found {
            after = Some(ActivityCursor::of(&summary.conversation));
            let wanted = query.search.as_ref().is_none_or(|s| {
                s.matches(
                    &summary.conversation.name,
                    summary.first_user_text.as_deref(),
                )
            });
            if wanted {
                kept.push(summary);
                if kept.len() > size {
                    return Ok(ConversationSummaryPage::from_overfetch(kept, size));
                }
            }
        }
        if exhausted || query.search.is_none() {
            return Ok(ConversationSummaryPage::from_overfetch(kept, size));
        }
    }
}

pub(crate) fn list_org_conversations(
    c: &Connection,
    query: OrgConversationQuery,
) -> StoreResult<ConversationPage> {
    // Filters that do not apply bind NULL and drop out.
    let sql = concat!(
        "SELECT ",
        conversation_columns!(),
        " FROM conversations WHERE org_id = ?1 ",
        "AND (?2 IS NULL OR (created_at_ns, id) < (?2, ?3)) ",
        "AND (?4 IS NULL OR id IN (SELECT p.conversation_id FROM participants p ",
        "WHERE p.org_id = ?6 AND p.kind = 'user' AND p.external_id = ?4)) ",
        "ORDER BY created_at_ns DESC, id DESC LIMIT ?5"
    );
    let after_ns = query.after.map(|a| nanos(a.created_at)).transpose()?;
    let values = params![
        query.org_id.as_str(),
        after_ns,
        query.after.map(|a| *a.id.as_uuid()),
        query.owner.as_ref().map(|o| o.user_id.as_str()),
        fetch_limit(query.limit),
        query.owner.as_ref().map(|o| o.org_id.as_str()),
    ];
    let mut conversations = all(c, sql, values, rows::conversation)?;
    let more = conversations.len() > query.limit;
    conversations.truncate(query.limit);
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
