//! What the admin API keeps: connectors (unique ids and names, held by claim items
//! written in the same transaction) and their indexing runs.

use crate::DynamoStore;
use crate::create::{Refused, put, transact};
use crate::error::{backend, condition_failed};
use crate::item::{Item, Read, key, s, with_body};
use crate::keys::{self, ONLY};
use aws_sdk_dynamodb::types::{Delete, Put, ReturnValue, TransactWriteItem};
use switchboard_core::*;

fn connector_item(c: &Connector) -> StoreResult<Item> {
    with_body(keys::org(&c.org_id), keys::connector(c.id), c)
}

/// The item that reserves `name` within the organisation for connector `id`.
fn name_claim(org: &OrgId, name: &str, id: ConnectorId) -> Item {
    let mut item = key(keys::org(org), keys::connector_name(name));
    item.insert("connector".into(), s(id.to_string()));
    item
}

/// A transactional delete, on condition that the item exists (and, given `owner`,
/// that its `connector` attribute is `owner`).
fn delete(table: &str, key: Item, owner: Option<&str>) -> StoreResult<TransactWriteItem> {
    let mut delete = Delete::builder()
        .table_name(table)
        .set_key(Some(key))
        .condition_expression("attribute_exists(pk)");
    if let Some(id) = owner {
        delete = delete
            .condition_expression("attribute_exists(pk) AND connector = :id")
            .expression_attribute_values(":id", s(id));
    }
    Ok(TransactWriteItem::builder()
        .delete(delete.build().map_err(backend)?)
        .build())
}

pub(crate) async fn create_connector(store: &DynamoStore, c: &Connector) -> StoreResult<()> {
    let mut id_claim = key(keys::connector(c.id), ONLY);
    id_claim.insert("org".into(), s(c.org_id.as_str()));
    let items = vec![
        put(&store.table, id_claim)?,
        put(&store.table, name_claim(&c.org_id, &c.name, c.id))?,
        put(&store.table, connector_item(c)?)?,
    ];
    match transact(store, items).await {
        Ok(()) => Ok(()),
        Err(Refused::Write(1)) => Err(StoreError::Conflict(format!("connector '{}'", c.name))),
        Err(Refused::Write(_)) => Err(StoreError::Conflict(format!("connector {}", c.id))),
        Err(Refused::Failed(error)) => Err(error),
    }
}

pub(crate) async fn update_connector(
    store: &DynamoStore,
    c: &Connector,
) -> StoreResult<Option<Connector>> {
    let Some(existing) = store
        .get(keys::org(&c.org_id), &keys::connector(c.id))
        .await?
    else {
        return Ok(None);
    };
    let existing: Connector = existing.body()?;
    let stored = Connector {
        created_at: existing.created_at,
        ..c.clone()
    };
    let replace = Put::builder()
        .table_name(&store.table)
        .set_item(Some(connector_item(&stored)?))
        .condition_expression("attribute_exists(pk)")
        .build()
        .map_err(backend)?;
    let mut items = Vec::new();
    if existing.name != stored.name {
        let id = c.id.to_string();
        items.push(put(
            &store.table,
            name_claim(&c.org_id, &stored.name, c.id),
        )?);
        items.push(delete(
            &store.table,
            key(keys::org(&c.org_id), keys::connector_name(&existing.name)),
            Some(&id),
        )?);
    }
    let renamed = !items.is_empty();
    items.push(TransactWriteItem::builder().put(replace).build());
    match transact(store, items).await {
        Ok(()) => Ok(Some(stored)),
        Err(Refused::Write(0)) if renamed => Err(StoreError::Conflict(format!(
            "connector named '{}'",
            stored.name
        ))),
        // Deleted or renamed meanwhile.
        Err(Refused::Write(_)) => Ok(None),
        Err(Refused::Failed(error)) => Err(error),
    }
}

pub(crate) async fn delete_connector(
    store: &DynamoStore,
    org: &OrgId,
    id: ConnectorId,
) -> StoreResult<bool> {
    let Some(existing) = store.get(keys::org(org), &keys::connector(id)).await? else {
        return Ok(false);
    };
    let existing: Connector = existing.body()?;
    let items = vec![
        delete(&store.table, key(keys::org(org), keys::connector(id)), None)?,
        delete(
            &store.table,
            key(keys::org(org), keys::connector_name(&existing.name)),
            Some(&id.to_string()),
        )?,
        delete(&store.table, key(keys::connector(id), ONLY), None)?,
    ];
    match transact(store, items).await {
        Ok(()) => Ok(true),
        Err(Refused::Write(_)) => Ok(false),
        Err(Refused::Failed(error)) => Err(error),
    }
}

pub(crate) async fn put_indexing_run(store: &DynamoStore, run: &IndexingRun) -> StoreResult<()> {
    // The run's id is claimed by its organisation; the claim remembers where the
    // record sits, which moves if the start time does.
    let run_sk = keys::run(run);
    let claimed = store
        .client
        .update_item()
        .table_name(&store.table)
        .set_key(Some(key(keys::run_id(run.id), ONLY)))
        .update_expression("SET org = :org, run_sk = :sk")
        .condition_expression("attribute_not_exists(pk) OR org = :org")
        .expression_attribute_values(":org", s(run.org_id.as_str()))
        .expression_attribute_values(":sk", s(&run_sk))
        .return_values(ReturnValue::AllOld)
        .send()
        .await;
    let previous = match claimed {
        Ok(out) => out
            .attributes
            .and_then(|old| old.string("run_sk").ok().map(str::to_owned)),
        Err(e) if condition_failed(&e) => {
            return Err(StoreError::Conflict(format!("indexing run {}", run.id)));
        }
        Err(e) => return Err(backend(e)),
    };
    let mut item = with_body(keys::org(&run.org_id), &run_sk, run)?;
    item.insert("connector".into(), s(run.connector_id.to_string()));
    store.put_item(item).await?;
    if let Some(previous) = previous.filter(|p| *p != run_sk) {
        store
            .client
            .delete_item()
            .table_name(&store.table)
            .set_key(Some(key(keys::org(&run.org_id), previous)))
            .send()
            .await
            .map_err(backend)?;
    }
    Ok(())
}

pub(crate) async fn list_indexing_runs(
    store: &DynamoStore,
    query: IndexingRunQuery,
) -> StoreResult<Vec<IndexingRun>> {
    let request = store
        .client
        .query()
        .table_name(&store.table)
        .consistent_read(true)
        .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
        .expression_attribute_values(":pk", s(keys::org(&query.org_id)))
        .expression_attribute_values(":prefix", s("RUN#"))
        .scan_index_forward(false);
    let connector = query.connector.map(|c| c.to_string());
    let found = crate::pages::collect(request, query.limit, |item| {
        connector
            .as_deref()
            .is_none_or(|c| item.string("connector").is_ok_and(|x| x == c))
    })
    .await?;
    let mut runs = found
        .iter()
        .map(Read::body)
        .collect::<StoreResult<Vec<IndexingRun>>>()?;
    runs.reverse();
    Ok(runs)
}
