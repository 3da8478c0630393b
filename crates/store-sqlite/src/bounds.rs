//! Expiry of parked turns and the quota counters.

use crate::db::{Db, execute, optional};
use crate::error::backend_rusqlite as backend;
use crate::rows::{get, nanos};
use chrono::{DateTime, Utc};
use rusqlite::params;
use switchboard_core::*;

pub(crate) async fn expire_parked_turns(db: &Db, before: DateTime<Utc>) -> StoreResult<u64> {
    let before = nanos(before)?;
    db.write(move |c| {
        let done = execute(
            c,
            "DELETE FROM parked_turns WHERE expires_at_ns < ?1",
            [before],
        )
        .map_err(backend)?;
        Ok(done as u64)
    })
    .await
}

/// One statement on the one writing connection, which serializes concurrent
/// charges; a charge that would pass the limit updates (and returns) nothing.
pub(crate) async fn quota_charge(db: &Db, charge: &QuotaCharge) -> StoreResult<QuotaVerdict> {
    let limit = i64::try_from(charge.limit).unwrap_or(i64::MAX);
    let Ok(amount) = i64::try_from(charge.amount) else {
        return Ok(QuotaVerdict::Refused);
    };
    if amount > limit {
        return Ok(QuotaVerdict::Refused);
    }
    let key = charge.key.clone();
    let expires = nanos(charge.expires_at)?;
    let used: Option<i64> = db
        .write(move |c| {
            let sql = concat!(
                "INSERT INTO quota_counters (key, used, expires_at_ns) VALUES (?1, ?2, ?4) ",
                "ON CONFLICT (key) DO UPDATE SET used = quota_counters.used + EXCLUDED.used, ",
                "expires_at_ns = MAX(quota_counters.expires_at_ns, EXCLUDED.expires_at_ns) ",
                "WHERE quota_counters.used <= ?3 - EXCLUDED.used ",
                "RETURNING used"
            );
            optional(c, sql, params![key, amount, limit, expires], |row| {
                get(row, "used")
            })
        })
        .await?;
    Ok(match used {
        Some(used) => QuotaVerdict::Admitted(u64::try_from(used).unwrap_or(0)),
        None => QuotaVerdict::Refused,
    })
}

pub(crate) async fn quota_expire(db: &Db, before: DateTime<Utc>) -> StoreResult<u64> {
    let before = nanos(before)?;
    db.write(move |c| {
        let done = execute(
            c,
            "DELETE FROM quota_counters WHERE expires_at_ns < ?1",
            [before],
        )
        .map_err(backend)?;
        Ok(done as u64)
    })
    .await
}
