//! The one-time-code throttle: one counter item per key, bumped with `ADD` so
//! concurrent replicas each see a distinct count. Items carry `ttl` (seconds since
//! the epoch) for the table's time-to-live, when the operator turns it on; keys
//! name their window, so a lingering item never counts against a later one.

use crate::DynamoStore;
use crate::error::{backend, condition_failed};
use crate::item::{Read, key, n};
use crate::keys::{self, ONLY, nanos};
use aws_sdk_dynamodb::types::ReturnValue;
use chrono::{DateTime, Utc};
use switchboard_core::{StoreError, StoreResult};

/// Rounds of "count, or restart an ended counter" before giving up; each round
/// loses only to another replica that just counted or restarted.
const ROUNDS: usize = 4;

pub(crate) async fn hit(
    store: &DynamoStore,
    throttle_key: &str,
    expires_at: DateTime<Utc>,
) -> StoreResult<u64> {
    for _ in 0..ROUNDS {
        if let Some(count) = count(store, throttle_key, expires_at).await? {
            return Ok(count);
        }
        if restart(store, throttle_key, expires_at).await? {
            return Ok(1);
        }
    }
    Err(StoreError::Backend(
        "dynamodb: the throttle counter kept changing under this replica".into(),
    ))
}

/// Adds one to a live (or absent) counter; `None` when it has ended.
async fn count(
    store: &DynamoStore,
    throttle_key: &str,
    expires_at: DateTime<Utc>,
) -> StoreResult<Option<u64>> {
    let counted = store
        .client
        .update_item()
        .table_name(&store.table)
        .set_key(Some(key(keys::otp_throttle(throttle_key), ONLY)))
        .update_expression(
            "ADD #c :one SET expires_ns = if_not_exists(expires_ns, :exp), #t = if_not_exists(#t, :ttl)",
        )
        .condition_expression("attribute_not_exists(pk) OR expires_ns > :now")
        .expression_attribute_names("#c", "hits")
        .expression_attribute_names("#t", "ttl")
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":exp", n(nanos(expires_at)))
        .expression_attribute_values(":ttl", n(expires_at.timestamp().max(0)))
        .expression_attribute_values(":now", n(nanos(Utc::now())))
        .return_values(ReturnValue::UpdatedNew)
        .send()
        .await;
    match counted {
        Ok(out) => Ok(Some(out.attributes.unwrap_or_default().number("hits")?)),
        Err(e) if condition_failed(&e) => Ok(None),
        Err(e) => Err(backend(e)),
    }
}

/// Starts an ended counter again at 1; `false` when another replica did first.
async fn restart(
    store: &DynamoStore,
    throttle_key: &str,
    expires_at: DateTime<Utc>,
) -> StoreResult<bool> {
    let restarted = store
        .client
        .update_item()
        .table_name(&store.table)
        .set_key(Some(key(keys::otp_throttle(throttle_key), ONLY)))
        .update_expression("SET #c = :one, expires_ns = :exp, #t = :ttl")
        .condition_expression("expires_ns <= :now")
        .expression_attribute_names("#c", "hits")
        .expression_attribute_names("#t", "ttl")
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":exp", n(nanos(expires_at)))
        .expression_attribute_values(":ttl", n(expires_at.timestamp().max(0)))
        .expression_attribute_values(":now", n(nanos(Utc::now())))
        .send()
        .await;
    match restarted {
        Ok(_) => Ok(true),
        Err(e) if condition_failed(&e) => Ok(false),
        Err(e) => Err(backend(e)),
    }
}
