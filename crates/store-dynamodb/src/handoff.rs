//! Human handoff: each conversation's handoff record, compared and set by version
//! in one transaction with its entry in the organisation's queue, and operators
//! joining conversations.
//!
//! | item | pk | sk |
//! |---|---|---|
//! | handoff record | `HANDOFF#<conversation>` | `#` |
//! | its place in a queue | `HANDOFFQ#<org>#<status>` | `<queued ns>#<conversation>` |

use crate::DynamoStore;
use crate::create::{Refused, conversation_must_exist, put, transact};
use crate::error::backend;
use crate::item::{Item, Read, key, n, with_body};
use crate::keys::{self, ONLY, nanos, pad};
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem};
use switchboard_core::*;

fn record_key(conversation: ConversationId) -> String {
    format!("HANDOFF#{conversation}")
}

fn queue_key(org: &OrgId, status: HandoffStatus) -> String {
    format!("HANDOFFQ#{org}#{}", status.as_str())
}

fn queue_position(
    queued_at: chrono::DateTime<chrono::Utc>,
    conversation: ConversationId,
) -> String {
    format!("{}#{conversation}", pad(nanos(queued_at)))
}

pub(crate) async fn get(
    store: &DynamoStore,
    conversation: ConversationId,
) -> StoreResult<Option<Handoff>> {
    store
        .get(record_key(conversation), ONLY)
        .await?
        .map(|item| item.body())
        .transpose()
}

/// The record (conditional on the version it replaces), the old queue entry's
/// removal and the new one, all or nothing.
pub(crate) async fn put_handoff(
    store: &DynamoStore,
    h: &Handoff,
    expected: Option<u64>,
) -> StoreResult<bool> {
    let table = store.table.as_str();
    let mut record = with_body(record_key(h.conversation_id), ONLY, h)?;
    record.insert("version".into(), n(h.version));
    let mut items = Vec::new();
    let condition = match expected {
        None => Put::builder().condition_expression("attribute_not_exists(pk)"),
        Some(expected) => {
            let Some(old) = get(store, h.conversation_id).await? else {
                return Ok(false);
            };
            if old.version != expected {
                return Ok(false);
            }
            // One transaction may not touch an item twice: an entry that stays
            // where it is is simply written again below.
            let moved =
                (old.org_id != h.org_id || old.status != h.status) || old.queued_at != h.queued_at;
            if moved {
                let delete = Delete::builder()
                    .table_name(table)
                    .set_key(Some(key(
                        queue_key(&old.org_id, old.status),
                        queue_position(old.queued_at, old.conversation_id),
                    )))
                    .build()
                    .map_err(backend)?;
                items.push(TransactWriteItem::builder().delete(delete).build());
            }
            Put::builder()
                .condition_expression("version = :expected")
                .expression_attribute_values(":expected", n(expected))
        }
    };
    let record = condition
        .table_name(table)
        .set_item(Some(record))
        .build()
        .map_err(backend)?;
    items.insert(0, TransactWriteItem::builder().put(record).build());
    let entry = with_body(
        queue_key(&h.org_id, h.status),
        queue_position(h.queued_at, h.conversation_id),
        h,
    )?;
    items.push(
        TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(table)
                    .set_item(Some(entry))
                    .build()
                    .map_err(backend)?,
            )
            .build(),
    );
    match transact(store, items).await {
        Ok(()) => Ok(true),
        Err(Refused::Write(_)) => Ok(false),
        Err(Refused::Failed(error)) => Err(error),
    }
}

pub(crate) async fn list(store: &DynamoStore, query: HandoffQuery) -> StoreResult<HandoffPage> {
    let limit = query.page_size();
    let mut request = store
        .client
        .query()
        .table_name(&store.table)
        .consistent_read(true)
        .expression_attribute_values(
            ":pk",
            crate::item::s(queue_key(&query.org_id, query.status)),
        );
    request = match &query.after {
        Some(cursor) => request
            .key_condition_expression("pk = :pk AND sk > :after")
            .expression_attribute_values(
                ":after",
                crate::item::s(queue_position(cursor.queued_at, cursor.conversation_id)),
            ),
        None => request.key_condition_expression("pk = :pk"),
    };
    let request = request.limit(i32::try_from(limit + 1).unwrap_or(i32::MAX));
    let items: Vec<Item> = crate::pages::collect(request, limit + 1, |_| true).await?;
    let handoffs = items
        .iter()
        .map(Read::body)
        .collect::<StoreResult<Vec<Handoff>>>()?;
    Ok(HandoffPage::from_overfetch(handoffs, limit))
}

pub(crate) async fn add_participant(store: &DynamoStore, p: &Participant) -> StoreResult<()> {
    let table = store.table.as_str();
    let item = with_body(
        keys::conversation(p.conversation_id),
        keys::participant(p, 0),
        p,
    )?;
    let items = vec![
        conversation_must_exist(table, p.conversation_id, &[])?,
        put(table, item)?,
    ];
    match transact(store, items).await {
        Ok(()) => Ok(()),
        Err(Refused::Write(0)) => Err(StoreError::Backend(format!(
            "conversation {} does not exist",
            p.conversation_id
        ))),
        Err(Refused::Write(_)) => Err(StoreError::Conflict(format!("participant {}", p.id))),
        Err(Refused::Failed(error)) => Err(error),
    }
}
