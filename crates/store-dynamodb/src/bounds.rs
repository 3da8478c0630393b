//! Expiry of parked turns and the quota counters.
//!
//! Both carry a TTL attribute ([`TTL_ATTRIBUTE`], epoch seconds), which DynamoDB
//! deletes by itself some time after it passes (within days), so nothing stays
//! forever even with no server running. Parks are also deleted promptly by the
//! server's sweeper: each park has a marker item in one partition, sorted by
//! expiry, so the sweeper reads only the expired ones instead of scanning the
//! table. Quota counters are never read after their window (the window is part of
//! their key), so the TTL alone is enough for them.

use crate::DynamoStore;
use crate::error::{backend, condition_failed};
use crate::item::{Item, Read, key, n, s};
use crate::keys::{self, nanos, pad};
use aws_sdk_dynamodb::types::ReturnValue;
use chrono::{DateTime, Duration, Utc};
use switchboard_core::*;

/// The table's TTL attribute.
pub(crate) const TTL_ATTRIBUTE: &str = "expires_ttl";

/// The partition of the park markers; their sort key is `<expires ns>#<session>#<park>`.
const PARK_EXPIRY: &str = "PARKEXP";

/// How long after its expiry DynamoDB may delete a park by itself: the sweeper and
/// the waiting turn deal with it first.
const PARK_TTL_MARGIN: Duration = Duration::hours(1);

/// `at` in epoch seconds, as the TTL attribute wants it.
pub(crate) fn ttl(at: DateTime<Utc>) -> aws_sdk_dynamodb::types::AttributeValue {
    n(at.timestamp().max(0))
}

fn park_marker(turn: &ParkedTurn) -> String {
    format!(
        "{}#{}#{}",
        pad(nanos(turn.expires_at)),
        turn.session_id,
        turn.id
    )
}

impl DynamoStore {
    /// Stores a park with its TTL, after its expiry marker: a marker whose park
    /// never got written (or was replaced or taken) only costs the sweeper a
    /// conditional delete that does nothing.
    pub(crate) async fn put_park(&self, mut item: Item, turn: &ParkedTurn) -> StoreResult<()> {
        let expires = ttl(turn.expires_at + PARK_TTL_MARGIN);
        let mut marker = key(PARK_EXPIRY, park_marker(turn));
        marker.insert("session".into(), s(turn.session_id.to_string()));
        marker.insert("park_id".into(), s(turn.id.to_string()));
        marker.insert(TTL_ATTRIBUTE.into(), expires.clone());
        self.put_item(marker).await?;
        item.insert(TTL_ATTRIBUTE.into(), expires);
        self.put_item(item).await
    }

    pub(crate) async fn expire_parks(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .key_condition_expression("pk = :pk AND sk < :cut")
            .expression_attribute_values(":pk", s(PARK_EXPIRY))
            .expression_attribute_values(":cut", s(pad(nanos(before))));
        let markers = crate::pages::collect(query, usize::MAX, |_| true).await?;
        let mut removed = 0;
        for marker in markers {
            let session = SessionId::parse(marker.string("session")?).ok_or_else(|| {
                StoreError::Backend("dynamodb: a park marker names no session".into())
            })?;
            let park = marker.string("park_id")?;
            // Only the park this marker was written for: a newer one stays.
            let deleted = self
                .client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(key(keys::session(session), "PARK")))
                .condition_expression("park_id = :id")
                .expression_attribute_values(":id", s(park))
                .send()
                .await;
            match deleted {
                Ok(_) => removed += 1,
                Err(e) if condition_failed(&e) => {}
                Err(e) => return Err(backend(e)),
            }
            self.client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(key(PARK_EXPIRY, marker.string(keys::SK)?)))
                .send()
                .await
                .map_err(backend)?;
        }
        Ok(removed)
    }

    /// One conditional update: `ADD` counts atomically, and the condition refuses
    /// a charge that would take the counter over its limit.
    pub(crate) async fn charge(&self, charge: &QuotaCharge) -> StoreResult<QuotaVerdict> {
        let Some(headroom) = charge.limit.checked_sub(charge.amount) else {
            return Ok(QuotaVerdict::Refused);
        };
        let charged = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("QUOTA#{}", charge.key), keys::ONLY)))
            .update_expression("ADD #used :amount SET #ttl = :ttl")
            .condition_expression("attribute_not_exists(#used) OR #used <= :headroom")
            .expression_attribute_names("#used", "used")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":amount", n(charge.amount))
            .expression_attribute_values(":headroom", n(headroom))
            .expression_attribute_values(":ttl", ttl(charge.expires_at))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        match charged {
            Ok(out) => Ok(QuotaVerdict::Admitted(
                out.attributes.unwrap_or_default().number("used")?,
            )),
            Err(e) if condition_failed(&e) => Ok(QuotaVerdict::Refused),
            Err(e) => Err(backend(e)),
        }
    }
}
