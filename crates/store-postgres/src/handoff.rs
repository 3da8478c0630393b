//! Human handoff: each conversation's handoff record, compared and set by version,
//! and operators joining conversations.

use crate::error::backend;
use crate::rows::nanos;
use sqlx::PgPool;
use sqlx::Row;
use sqlx::types::Json;
use switchboard_core::*;

pub(crate) async fn get(
    pool: &PgPool,
    conversation: ConversationId,
) -> StoreResult<Option<Handoff>> {
    sqlx::query("SELECT body FROM handoffs WHERE conversation_id = $1")
        .bind(conversation.as_uuid())
        .fetch_optional(pool)
        .await
        .map_err(backend)?
        .map(|row| decode(&row))
        .transpose()
}

/// One statement either way: the insert finds no row, or the update finds the row
/// at the expected version; a concurrent writer's statement then finds neither.
pub(crate) async fn put(pool: &PgPool, h: &Handoff, expected: Option<u64>) -> StoreResult<bool> {
    let version = stored(h.version)?;
    let query = match expected {
        None => bind_record(
            sqlx::query(
                "INSERT INTO handoffs (conversation_id, org_id, status, version, queued_at_ns, body) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (conversation_id) DO NOTHING",
            ),
            h,
            version,
        )?,
        Some(expected) => bind_record(
            sqlx::query(
                "UPDATE handoffs SET org_id = $2, status = $3, version = $4, queued_at_ns = $5, \
                 body = $6 WHERE conversation_id = $1 AND version = $7",
            ),
            h,
            version,
        )?
        .bind(stored(expected)?),
    };
    let done = query.execute(pool).await.map_err(|e| {
        if crate::error::is_missing_reference(&e) {
            StoreError::Backend(format!("conversation {} does not exist", h.conversation_id))
        } else {
            backend(e)
        }
    })?;
    Ok(done.rows_affected() == 1)
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

fn bind_record<'q>(query: Query<'q>, h: &'q Handoff, version: i64) -> StoreResult<Query<'q>> {
    Ok(query
        .bind(h.conversation_id.as_uuid())
        .bind(h.org_id.as_str())
        .bind(h.status.as_str())
        .bind(version)
        .bind(nanos(h.queued_at)?)
        .bind(Json(h)))
}

pub(crate) async fn list(pool: &PgPool, query: HandoffQuery) -> StoreResult<HandoffPage> {
    let limit = query.page_size();
    let (after_ns, after_id) = match &query.after {
        Some(cursor) => (
            Some(nanos(cursor.queued_at)?),
            Some(*cursor.conversation_id.as_uuid()),
        ),
        None => (None, None),
    };
    let rows = sqlx::query(
        "SELECT body FROM handoffs WHERE org_id = $1 AND status = $2 \
         AND ($3::BIGINT IS NULL OR (queued_at_ns, conversation_id) > ($3, $4)) \
         ORDER BY queued_at_ns, conversation_id LIMIT $5",
    )
    .bind(query.org_id.as_str())
    .bind(query.status.as_str())
    .bind(after_ns)
    .bind(after_id)
    .bind(stored(limit as u64 + 1)?)
    .fetch_all(pool)
    .await
    .map_err(backend)?;
    let handoffs = rows.iter().map(decode).collect::<StoreResult<Vec<_>>>()?;
    Ok(HandoffPage::from_overfetch(handoffs, limit))
}

pub(crate) async fn add_participant(pool: &PgPool, p: &Participant) -> StoreResult<()> {
    let mut connection = pool.acquire().await.map_err(backend)?;
    crate::create::insert_participant(&mut connection, p).await
}

fn decode(row: &sqlx::postgres::PgRow) -> StoreResult<Handoff> {
    Ok(row.try_get::<Json<Handoff>, _>("body").map_err(backend)?.0)
}

fn stored(n: u64) -> StoreResult<i64> {
    i64::try_from(n).map_err(|_| StoreError::Backend(format!("{n} is too large to store")))
}
