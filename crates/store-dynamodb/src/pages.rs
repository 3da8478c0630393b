//! The paged reads: a conversation's messages by keyset, and the conversation lists.

use crate::DynamoStore;
use crate::error::backend;
use crate::item::{Item, Read, key, s};
use crate::keys::{self, *};
use crate::store::conversation_of;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use std::collections::HashMap;
use switchboard_core::*;

/// Items of `query`, page after page, that `keep` accepts, until there are `want`
/// of them or no more. DynamoDB's `Limit` counts items before filters, so filtered
/// queries may need several pages.
pub(crate) async fn collect(
    query: QueryFluentBuilder,
    want: usize,
    keep: impl Fn(&Item) -> bool,
) -> StoreResult<Vec<Item>> {
    let mut found = Vec::new();
    if want == 0 {
        return Ok(found);
    }
    let mut start: Option<Item> = None;
    loop {
        let page = query
            .clone()
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(backend)?;
        for item in page.items.unwrap_or_default() {
            if keep(&item) {
                found.push(item);
                if found.len() >= want {
                    return Ok(found);
                }
            }
        }
        match page.last_evaluated_key {
            Some(last) if !last.is_empty() => start = Some(last),
            _ => return Ok(found),
        }
    }
}

/// Every item of partition `pk` whose sort key starts with `prefix` (all of them
/// for an empty prefix), in key order.
pub(crate) async fn query_prefix(
    store: &DynamoStore,
    pk: String,
    prefix: &str,
) -> StoreResult<Vec<Item>> {
    let query = store
        .client
        .query()
        .table_name(&store.table)
        .consistent_read(true)
        .expression_attribute_values(":pk", s(pk));
    let query = if prefix.is_empty() {
        query.key_condition_expression("pk = :pk")
    } else {
        query
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":prefix", s(prefix))
    };
    collect(query, usize::MAX, |_| true).await
}

/// DynamoDB's page size: at most this many items are read per request.
fn page_size(want: usize) -> i32 {
    i32::try_from(want).unwrap_or(i32::MAX).clamp(1, 1000)
}

pub(crate) async fn list_messages(
    store: &DynamoStore,
    query: MessageQuery,
) -> StoreResult<MessagePage> {
    let cursor = match query.after {
        None => None,
        Some(after) => {
            let position = store
                .get(keys::message_id(after), ONLY)
                .await?
                .ok_or(StoreError::InvalidCursor)?;
            if position.string("conversation")? != query.conversation_id.to_string() {
                return Err(StoreError::InvalidCursor);
            }
            Some(position.number("seq")?)
        }
    };
    // Sort keys `MSG#<seq>` between the bounds, inclusive.
    let (low, high, forward) = match (query.order, cursor) {
        (Order::NewestFirst, Some(c)) => {
            ("MSG#".to_owned(), keys::message(c.saturating_sub(1)), false)
        }
        (Order::NewestFirst, None) => ("MSG#".to_owned(), "MSG#~".to_owned(), false),
        (Order::OldestFirst, Some(c)) => (keys::message(c + 1), "MSG#~".to_owned(), true),
        (Order::OldestFirst, None) => ("MSG#".to_owned(), "MSG#~".to_owned(), true),
    };
    let want = query.limit.saturating_add(1);
    let request = store
        .client
        .query()
        .table_name(&store.table)
        .consistent_read(true)
        .key_condition_expression("pk = :pk AND sk BETWEEN :low AND :high")
        .expression_attribute_values(":pk", s(keys::conversation(query.conversation_id)))
        .expression_attribute_values(":low", s(low))
        .expression_attribute_values(":high", s(high))
        .scan_index_forward(forward)
        .limit(page_size(want));
    let found = collect(request, want, |_| true).await?;
    let messages = found
        .iter()
        .map(Read::body)
        .collect::<StoreResult<Vec<Message>>>()?;
    Ok(MessagePage::from_overfetch(messages, query.limit))
}

/// Whether a conversation item is owned by `owner`: it is of the owner's
/// organisation (as its participants are) and has a user participant with the
/// owner's verified identity.
fn owned_by(item: &Item, owner: &Owner) -> bool {
    item.string("org")
        .is_ok_and(|org| org == owner.org_id.as_str())
        && matches!(item.get("owners"), Some(AttributeValue::Ss(owners))
            if owners.contains(&owner.user_id))
}

fn summary(item: &Item) -> StoreResult<ConversationSummary> {
    Ok(ConversationSummary {
        conversation: conversation_of(item)?,
        message_count: item.number("msgs")?,
        first_user_text: item.string("first_in").ok().map(str::to_owned),
    })
}

pub(crate) async fn list_conversations(
    store: &DynamoStore,
    query: ConversationQuery,
) -> StoreResult<ConversationSummaryPage> {
    let owner = query.owner.as_ref();
    let search = query.search.as_ref();
    let keep = |item: &Item| {
        owner.is_none_or(|o| owned_by(item, o))
            && item.number("msgs").is_ok_and(|n| n > 0)
            && search.is_none_or(|search| {
                search.matches(
                    item.string("name").unwrap_or_default(),
                    item.string("first_in").ok(),
                )
            })
    };
    let size = query.page_size();
    let want = size.saturating_add(1);
    let items = match &query.only {
        // A list of ids is read by key, strongly consistent, not from the index.
        Some(ids) => {
            let items = batch_get(store, ids).await?;
            let org = query.org_id.as_str();
            items
                .into_iter()
                .filter(|item| item.string("org").is_ok_and(|o| o == org) && keep(item))
                .collect()
        }
        None => {
            let mut request = store
                .client
                .query()
                .table_name(&store.table)
                .index_name(GSI1)
                .expression_attribute_values(":org", s(keys::org(&query.org_id)))
                .scan_index_forward(false)
                .limit(page_size(want));
            request = match query.after {
                Some(after) => request
                    .key_condition_expression("gsi1pk = :org AND gsi1sk < :after")
                    .expression_attribute_values(
                        ":after",
                        s(keys::org_order(after.updated_at, after.id)),
                    ),
                None => request.key_condition_expression("gsi1pk = :org"),
            };
            collect(request, want, keep).await?
        }
    };
    let mut rows = items.iter().map(summary).collect::<StoreResult<Vec<_>>>()?;
    // Rows read by key still need the position filter; index rows already had it.
    if let Some(after) = query.after {
        rows.retain(|row| after.precedes(&row.conversation));
    }
    rows.sort_by(|a, b| {
        b.conversation
            .updated_at
            .cmp(&a.conversation.updated_at)
            .then_with(|| b.conversation.id.cmp(&a.conversation.id))
    });
    rows.truncate(want);
    Ok(ConversationSummaryPage::from_overfetch(rows, size))
}

/// The conversation items of `ids` that exist.
async fn batch_get(store: &DynamoStore, ids: &[ConversationId]) -> StoreResult<Vec<Item>> {
    let mut found = Vec::new();
    for group in ids.chunks(100) {
        let mut pending = Some(
            KeysAndAttributes::builder()
                .set_keys(Some(
                    group
                        .iter()
                        .map(|id| key(keys::conversation(*id), META))
                        .collect(),
                ))
                .consistent_read(true)
                .build()
                .map_err(backend)?,
        );
        while let Some(request) = pending.take() {
            let out = store
                .client
                .batch_get_item()
                .request_items(&store.table, request)
                .send()
                .await
                .map_err(backend)?;
            let mut responses = out.responses.unwrap_or_default();
            found.extend(responses.remove(&store.table).unwrap_or_default());
            pending = out
                .unprocessed_keys
                .and_then(|mut left: HashMap<_, KeysAndAttributes>| left.remove(&store.table))
                .filter(|left| !left.keys().is_empty());
        }
    }
    Ok(found)
}

pub(crate) async fn list_org_conversations(
    store: &DynamoStore,
    query: OrgConversationQuery,
) -> StoreResult<ConversationPage> {
    let mut request = store
        .client
        .query()
        .table_name(&store.table)
        .index_name(GSI2)
        .expression_attribute_values(":org", s(keys::org(&query.org_id)))
        .scan_index_forward(false);
    request = match query.after {
        Some(after) => request
            .key_condition_expression("gsi2pk = :org AND gsi2sk < :after")
            .expression_attribute_values(":after", s(keys::org_order(after.created_at, after.id))),
        None => request.key_condition_expression("gsi2pk = :org"),
    };
    let want = query.limit.saturating_add(1);
    let owner = query.owner.as_ref();
    let found = collect(request.limit(page_size(want)), want, |item| {
        owner.is_none_or(|o| owned_by(item, o))
    })
    .await?;
    let more = found.len() > query.limit;
    let conversations = found
        .iter()
        .take(query.limit)
        .map(conversation_of)
        .collect::<StoreResult<Vec<_>>>()?;
    let next = if more {
        conversations.last().map(ConversationCursor::of)
    } else {
        None
    };
    Ok(ConversationPage {
        conversations,
        next,
    })
}
