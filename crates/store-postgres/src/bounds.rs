//! Expiry of parked turns, the quota counters and leases.

use crate::error::backend;
use crate::rows::nanos;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use switchboard_core::*;

pub(crate) async fn expire_parked_turns(pool: &PgPool, before: DateTime<Utc>) -> StoreResult<u64> {
    let done = sqlx::query("DELETE FROM parked_turns WHERE expires_at_ns < $1")
        .bind(nanos(before)?)
        .execute(pool)
        .await
        .map_err(backend)?;
    Ok(done.rows_affected())
}

/// One statement: the row lock of `ON CONFLICT DO UPDATE` serializes concurrent
/// charges, and a charge that would pass the limit updates (and returns) nothing.
pub(crate) async fn quota_charge(pool: &PgPool, charge: &QuotaCharge) -> StoreResult<QuotaVerdict> {
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
        "expires_at_ns = GREATEST(quota_counters.expires_at_ns, EXCLUDED.expires_at_ns) ",
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

pub(crate) async fn quota_expire(pool: &PgPool, before: DateTime<Utc>) -> StoreResult<u64> {
    let done = sqlx::query("DELETE FROM quota_counters WHERE expires_at_ns < $1")
        .bind(nanos(before)?)
        .execute(pool)
        .await
        .map_err(backend)?;
    Ok(done.rows_affected())
}

/// One statement: `ON CONFLICT DO UPDATE ... WHERE` takes the row lock, so of
/// concurrent callers one takes a free or lapsed lease; the others update nothing
/// and read who holds it.
pub(crate) async fn acquire_lease(
    pool: &PgPool,
    name: &str,
    holder: &str,
    ttl: std::time::Duration,
) -> StoreResult<LeaseVerdict> {
    let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
    // A lease deleted between the two statements is free: ask again (twice at most).
    for _ in 0..3 {
        let taken: Option<String> = sqlx::query_scalar(concat!(
            "INSERT INTO leases (name, holder, expires_at) ",
            "VALUES ($1, $2, now() + ($3::double precision) * interval '1 millisecond') ",
            "ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, ",
            "expires_at = EXCLUDED.expires_at ",
            "WHERE leases.holder = EXCLUDED.holder OR leases.expires_at <= now() ",
            "RETURNING holder"
        ))
        .bind(name)
        .bind(holder)
        .bind(ttl_ms)
        .fetch_optional(pool)
        .await
        .map_err(backend)?;
        if taken.is_some() {
            return Ok(LeaseVerdict::Granted);
        }
        let current: Option<String> =
            sqlx::query_scalar("SELECT holder FROM leases WHERE name = $1 AND expires_at > now()")
                .bind(name)
                .fetch_optional(pool)
                .await
                .map_err(backend)?;
        if let Some(holder) = current {
            return Ok(LeaseVerdict::Held { holder });
        }
    }
    Err(StoreError::Backend(format!(
        "postgres: lease {name} changed hands three times in a row"
    )))
}

pub(crate) async fn release_lease(pool: &PgPool, name: &str, holder: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
        .bind(name)
        .bind(holder)
        .execute(pool)
        .await
        .map_err(backend)?;
    Ok(())
}
