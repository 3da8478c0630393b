//! Expiry of parked turns and the quota counters.

use crate::error::backend;
use crate::rows::nanos;
use chrono::{DateTime, Utc};
use sqlx::SqlitePool;
use switchboard_core::*;

pub(crate) async fn expire_parked_turns(
    pool: &SqlitePool,
    before: DateTime<Utc>,
) -> StoreResult<u64> {
    let done = sqlx::query("DELETE FROM parked_turns WHERE expires_at_ns < $1")
        .bind(nanos(before)?)
        .execute(pool)
        .await
        .map_err(backend)?;
    Ok(done.rows_affected())
}

/// One statement on the one writing connection, which serializes concurrent
/// charges; a charge that would pass the limit updates (and returns) nothing.
pub(crate) async fn quota_charge(
    pool: &SqlitePool,
    charge: &QuotaCharge,
) -> StoreResult<QuotaVerdict> {
    let limit = i64::try_from(charge.limit).unwrap_or(i64::MAX);
    let Ok(amount) = i64::try_from(charge.amount) else {
        return Ok(QuotaVerdict::Refused);
    };
    if amount > limit {
        return Ok(QuotaVerdict::Refused);
    }
    let used: Option<i64> = sqlx::query_scalar(concat!(
        "INSERT INTO quota_counters (key, used, expires_at_ns) VALUES ($1, $2, $4) ",
        "ON CONFLICT (key) DO UPDATE SET used = quota_counters.used + EXCLUDED.used, ",
        "expires_at_ns = MAX(quota_counters.expires_at_ns, EXCLUDED.expires_at_ns) ",
        "WHERE quota_counters.used <= $3 - EXCLUDED.used ",
        "RETURNING used"
    ))
    .bind(&charge.key)
    .bind(amount)
    .bind(limit)
    .bind(nanos(charge.expires_at)?)
    .fetch_optional(pool)
    .await
    .map_err(backend)?;
    Ok(match used {
        Some(used) => QuotaVerdict::Admitted(u64::try_from(used).unwrap_or(0)),
        None => QuotaVerdict::Refused,
    })
}

pub(crate) async fn quota_expire(pool: &SqlitePool, before: DateTime<Utc>) -> StoreResult<u64> {
    let done = sqlx::query("DELETE FROM quota_counters WHERE expires_at_ns < $1")
        .bind(nanos(before)?)
        .execute(pool)
        .await
        .map_err(backend)?;
    Ok(done.rows_affected())
}
