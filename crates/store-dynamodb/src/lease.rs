//! Leases (one indexing run per source across replicas): one item per lease,
//! `LEASE#<name>` / `#`, taken with a conditional put, so of concurrent callers one
//! wins. Items carry the TTL attribute, so a lease whose holder died is deleted by
//! DynamoDB in time even if no one asks for it again.

use crate::DynamoStore;
use crate::bounds::{TTL_ATTRIBUTE, ttl};
use crate::error::{backend, condition_failed};
use crate::item::{Read, key, n, s};
use crate::keys::{ONLY, nanos};
use chrono::Utc;
use switchboard_core::{LeaseVerdict, StoreError, StoreResult};

fn lease_key(name: &str) -> String {
    format!("LEASE#{name}")
}

/// Rounds of "take it, or read who holds it" before giving up; a round is lost
/// only to a lease that was released or lapsed in between.
const ROUNDS: usize = 3;

pub(crate) async fn acquire(
    store: &DynamoStore,
    name: &str,
    holder: &str,
    lease_ttl: std::time::Duration,
) -> StoreResult<LeaseVerdict> {
    let lease_ttl = chrono::Duration::from_std(lease_ttl).unwrap_or(chrono::Duration::MAX);
    for _ in 0..ROUNDS {
        let now = Utc::now();
        let until = now.checked_add_signed(lease_ttl).unwrap_or(now);
        let mut item = key(lease_key(name), ONLY);
        item.insert("holder".into(), s(holder));
        item.insert("until_ns".into(), n(nanos(until)));
        item.insert(
            TTL_ATTRIBUTE.into(),
            ttl(until + chrono::Duration::hours(1)),
        );
        let taken = store
            .client
            .put_item()
            .table_name(&store.table)
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(pk) OR holder = :holder OR until_ns <= :now",
            )
            .expression_attribute_values(":holder", s(holder))
            .expression_attribute_values(":now", n(nanos(now)))
            .send()
            .await;
        match taken {
            Ok(_) => return Ok(LeaseVerdict::Granted),
            Err(e) if condition_failed(&e) => {}
            Err(e) => return Err(backend(e)),
        }
        if let Some(current) = store.get(lease_key(name), ONLY).await? {
            let live = current.number("until_ns")? > nanos(Utc::now());
            if live {
                return Ok(LeaseVerdict::Held {
                    holder: current.string("holder")?.to_owned(),
                });
            }
        }
    }
    Err(StoreError::Backend(format!(
        "dynamodb: lease {name} kept changing hands"
    )))
}

pub(crate) async fn release(store: &DynamoStore, name: &str, holder: &str) -> StoreResult<()> {
    let released = store
        .client
        .delete_item()
        .table_name(&store.table)
        .set_key(Some(key(lease_key(name), ONLY)))
        .condition_expression("holder = :holder")
        .expression_attribute_values(":holder", s(holder))
        .send()
        .await;
    match released {
        Ok(_) => Ok(()),
        Err(e) if condition_failed(&e) => Ok(()),
        Err(e) => Err(backend(e)),
    }
}
