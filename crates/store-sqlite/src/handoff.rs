//! Human handoff: each conversation's handoff record, compared and set by version,
//! and operators joining conversations.

use crate::db::{Db, all, execute, optional};
use crate::error::backend_rusqlite as backend;
use crate::rows::{get as column, nanos, to_json};
use rusqlite::params;
use switchboard_core::*;

pub(crate) async fn get(db: &Db, conversation: ConversationId) -> StoreResult<Option<Handoff>> {
    db.read(|c| {
        let sql = "SELECT body FROM handoffs WHERE conversation_id = ?1";
        optional(c, sql, [conversation.as_uuid()], decode)
    })
    .await
}

/// One statement either way, on the one writing connection: the insert finds no
/// row, or the update finds the row at the expected version.
pub(crate) async fn put(db: &Db, h: &Handoff, expected: Option<u64>) -> StoreResult<bool> {
    let id = *h.conversation_id.as_uuid();
    let org = h.org_id.as_str().to_owned();
    let status = h.status.as_str();
    let version = stored(h.version)?;
    let queued = nanos(h.queued_at)?;
    let body = to_json(h)?;
    let expected = expected.map(stored).transpose()?;
    let conversation = h.conversation_id;
    let changed = db
        .write(move |c| {
            let done = match expected {
                None => execute(
                    c,
                    "INSERT INTO handoffs (conversation_id, org_id, status, version, queued_at_ns, body) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (conversation_id) DO NOTHING",
                    params![id, org, status, version, queued, body],
                ),
                Some(expected) => execute(
                    c,
                    "UPDATE handoffs SET org_id = ?2, status = ?3, version = ?4, queued_at_ns = ?5, \
                     body = ?6 WHERE conversation_id = ?1 AND version = ?7",
                    params![id, org, status, version, queued, body, expected],
                ),
            };
            done.map_err(|e| {
                if crate::error::is_missing_reference(&e) {
                    StoreError::Backend(format!("conversation {conversation} does not exist"))
                } else {
                    backend(e)
                }
            })
        })
        .await?;
    Ok(changed == 1)
}

pub(crate) async fn list(db: &Db, query: HandoffQuery) -> StoreResult<HandoffPage> {
    let limit = query.page_size();
    let (after_ns, after_id) = match &query.after {
        Some(cursor) => (
            Some(nanos(cursor.queued_at)?),
            Some(*cursor.conversation_id.as_uuid()),
        ),
        None => (None, None),
    };
    let org = query.org_id.as_str().to_owned();
    let status = query.status.as_str();
    let fetch = stored(limit as u64 + 1)?;
    let handoffs = db
        .read(move |c| {
            let sql = "SELECT body FROM handoffs WHERE org_id = ?1 AND status = ?2 \
                       AND (?3 IS NULL OR (queued_at_ns, conversation_id) > (?3, ?4)) \
                       ORDER BY queued_at_ns, conversation_id LIMIT ?5";
            all(
                c,
                sql,
                params![org, status, after_ns, after_id, fetch],
                decode,
            )
        })
        .await?;
    Ok(HandoffPage::from_overfetch(handoffs, limit))
}

pub(crate) async fn add_participant(db: &Db, p: &Participant) -> StoreResult<()> {
    let p = p.clone();
    db.write(move |c| crate::create::insert_participant(c, &p))
        .await
}

fn decode(row: &rusqlite::Row<'_>) -> StoreResult<Handoff> {
    let body: String = column(row, "body")?;
    serde_json::from_str(&body).map_err(|e| StoreError::Backend(format!("handoff: {e}")))
}

fn stored(n: u64) -> StoreResult<i64> {
    i64::try_from(n).map_err(|_| StoreError::Backend(format!("{n} is too large to store")))
}
