//! `create_session`: a conversation, its participants and a session in one
//! transaction, every write conditional on its item not existing yet.

use crate::DynamoStore;
use crate::error::{backend, cancellations, is_transaction_conflict};
use crate::item::{Item, json, n, s, with_body};
use crate::keys::{self, *};
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem, Update};
use std::time::Duration;
use switchboard_core::*;

/// How often a transaction that lost a race (not a condition) is tried again.
const TRIES: u32 = 5;

/// What a refused write means.
enum Refusal {
    Conflict(String),
    MissingConversation(ConversationId),
}

pub(crate) async fn create_session(store: &DynamoStore, new: NewSession) -> StoreResult<()> {
    let table = store.table.as_str();
    let conversation_id = new.session.conversation_id;
    let owners: Vec<String> = new
        .participants
        .iter()
        .filter(|p| p.kind == ParticipantKind::User)
        .filter_map(|p| p.external_id.clone())
        .collect();
    let mut writes: Vec<(TransactWriteItem, Refusal)> = Vec::new();
    match &new.conversation {
        Some(conversation) => writes.push((
            put(table, conversation_item(conversation, &owners)?)?,
            Refusal::Conflict(format!("conversation {}", conversation.id)),
        )),
        None => writes.push((
            conversation_must_exist(table, conversation_id, &owners)?,
            Refusal::MissingConversation(conversation_id),
        )),
    }
    for (i, participant) in new.participants.iter().enumerate() {
        let item = with_body(
            keys::conversation(participant.conversation_id),
            keys::participant(participant, i),
            participant,
        )?;
        writes.push((
            put(table, item)?,
            Refusal::Conflict(format!("participant {}", participant.id)),
        ));
    }
    writes.push((
        put(table, session_item(&new.session)?)?,
        Refusal::Conflict(format!("session {}", new.session.id)),
    ));
    let (items, refusals): (Vec<_>, Vec<_>) = writes.into_iter().unzip();
    match transact(store, items).await {
        Ok(()) => Ok(()),
        Err(Refused::Write(i)) => Err(match refusals.get(i) {
            Some(Refusal::Conflict(what)) => StoreError::Conflict(what.clone()),
            Some(Refusal::MissingConversation(id)) => {
                StoreError::Backend(format!("conversation {id} does not exist"))
            }
            None => StoreError::Backend("dynamodb: a write of the transaction was refused".into()),
        }),
        Err(Refused::Failed(error)) => Err(error),
    }
}

/// Why a transaction did not apply.
pub(crate) enum Refused {
    /// The condition of the write at this position failed.
    Write(usize),
    Failed(StoreError),
}

/// Runs a transaction, again when it only lost a race with another transaction.
pub(crate) async fn transact(
    store: &DynamoStore,
    items: Vec<TransactWriteItem>,
) -> Result<(), Refused> {
    for attempt in 1..=TRIES {
        let result = store
            .client
            .transact_write_items()
            .set_transact_items(Some(items.clone()))
            .send()
            .await;
        let Err(error) = result else {
            return Ok(());
        };
        let Some(reasons) = cancellations(&error) else {
            return Err(Refused::Failed(backend(error)));
        };
        if is_transaction_conflict(&reasons) && attempt < TRIES {
            tokio::time::sleep(Duration::from_millis(20 * u64::from(attempt))).await;
            continue;
        }
        return Err(
            match reasons.iter().position(|r| r == "ConditionalCheckFailed") {
                Some(i) => Refused::Write(i),
                None => Refused::Failed(backend(error)),
            },
        );
    }
    Err(Refused::Failed(StoreError::Backend(
        "dynamodb: a transaction kept conflicting with others".into(),
    )))
}

pub(crate) fn put(table: &str, item: Item) -> StoreResult<TransactWriteItem> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(backend)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// On resume: the conversation must exist, and it learns its new owners.
pub(crate) fn conversation_must_exist(
    table: &str,
    id: ConversationId,
    owners: &[String],
) -> StoreResult<TransactWriteItem> {
    let key = crate::item::key(keys::conversation(id), META);
    if owners.is_empty() {
        let check = ConditionCheck::builder()
            .table_name(table)
            .set_key(Some(key))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(backend)?;
        return Ok(TransactWriteItem::builder().condition_check(check).build());
    }
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(key))
        .update_expression("ADD owners :owners")
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_values(":owners", AttributeValue::Ss(owners.to_vec()))
        .build()
        .map_err(backend)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// A conversation's item: the record as created, plus the attributes that change
/// (name, metadata, `updated_ns`, the message counter) and its place in `gsi2`.
fn conversation_item(c: &Conversation, owners: &[String]) -> StoreResult<Item> {
    let mut item = with_body(keys::conversation(c.id), META, c)?;
    item.insert("org".into(), s(c.org_id.as_str()));
    item.insert("name".into(), s(&c.name));
    item.insert("metadata".into(), json(&c.metadata)?);
    item.insert("updated_ns".into(), n(nanos(c.updated_at)));
    item.insert("seq".into(), n(0));
    item.insert("msgs".into(), n(0));
    item.insert(GSI2PK.into(), s(keys::org(&c.org_id)));
    item.insert(GSI2SK.into(), s(keys::org_order(c.created_at, c.id)));
    // `gsi1pk` is set by the first message: only then is the conversation listed.
    item.insert(GSI1SK.into(), s(keys::org_order(c.updated_at, c.id)));
    if !owners.is_empty() {
        item.insert("owners".into(), AttributeValue::Ss(owners.to_vec()));
    }
    Ok(item)
}

/// A session's item: the record, plus the attributes that change.
fn session_item(session: &Session) -> StoreResult<Item> {
    let mut item = with_body(keys::session(session.id), ONLY, session)?;
    item.insert("status".into(), json(&session.status)?);
    item.insert("metadata".into(), json(&session.metadata)?);
    item.insert("updated_ns".into(), n(nanos(session.updated_at)));
    Ok(item)
}
