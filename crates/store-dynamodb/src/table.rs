//! Creating the table when it is absent, and waiting until it can serve.

use crate::bounds::TTL_ATTRIBUTE;
use crate::error::backend;
use crate::keys::*;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, IndexStatus, KeySchemaElement, KeyType,
    Projection, ProjectionType, ScalarAttributeType, TableDescription, TableStatus,
    TimeToLiveSpecification, TimeToLiveStatus,
};
use std::time::Duration;
use switchboard_core::{StoreError, StoreResult};

/// How long a new table (or one another replica is creating) may take to become active.
const ACTIVE_LIMIT: Duration = Duration::from_secs(120);

/// Makes sure `table` exists with this crate's key schema and indexes, creating it
/// (on-demand billing) when absent. Replicas starting together may all try; the
/// losers wait for the winner's table.
pub(crate) async fn ensure(client: &Client, table: &str) -> StoreResult<()> {
    let described = client.describe_table().table_name(table).send().await;
    match described {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            create(client, table).await?;
        }
        Err(e) => return Err(failed(table, backend(e))),
    }
    wait_until_active(client, table).await?;
    // Only a backstop to the sweeper: a role that may not change TTL settings
    // still runs, with a warning.
    if let Err(e) = enable_ttl(client, table).await {
        tracing::warn!(table, error = %e, "could not turn on the table's TTL; expired parks and quota counters are removed only by the servers' sweeper");
    }
    Ok(())
}

/// Turns on DynamoDB's own deletion of expired parks and quota counters (their
/// [`TTL_ATTRIBUTE`]), for tables created before it was used too.
async fn enable_ttl(client: &Client, table: &str) -> StoreResult<()> {
    let described = client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .map_err(|e| failed(table, backend(e)))?;
    let status = described
        .time_to_live_description()
        .and_then(|d| d.time_to_live_status());
    if matches!(
        status,
        Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
    ) {
        return Ok(());
    }
    let specification = TimeToLiveSpecification::builder()
        .enabled(true)
        .attribute_name(TTL_ATTRIBUTE)
        .build()
        .map_err(backend)?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(specification)
        .send()
        .await
        .map_err(|e| failed(table, backend(e)))?;
    Ok(())
}

fn failed(table: &str, error: StoreError) -> StoreError {
    StoreError::Backend(format!("table '{table}': {error}"))
}

async fn create(client: &Client, table: &str) -> StoreResult<()> {
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(backend)
    };
    let key = |hash: &str, range: &str| -> StoreResult<Vec<KeySchemaElement>> {
        Ok(vec![
            KeySchemaElement::builder()
                .attribute_name(hash)
                .key_type(KeyType::Hash)
                .build()
                .map_err(backend)?,
            KeySchemaElement::builder()
                .attribute_name(range)
                .key_type(KeyType::Range)
                .build()
                .map_err(backend)?,
        ])
    };
    let index = |name: &str, hash: &str, range: &str| -> StoreResult<GlobalSecondaryIndex> {
        GlobalSecondaryIndex::builder()
            .index_name(name)
            .set_key_schema(Some(key(hash, range)?))
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .map_err(backend)
    };
    let created = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(
            [PK, SK, GSI1PK, GSI1SK, GSI2PK, GSI2SK]
                .into_iter()
                .map(attribute)
                .collect::<StoreResult<Vec<_>>>()?,
        ))
        .set_key_schema(Some(key(PK, SK)?))
        .global_secondary_indexes(index(GSI1, GSI1PK, GSI1SK)?)
        .global_secondary_indexes(index(GSI2, GSI2PK, GSI2SK)?)
        .send()
        .await;
    match created {
        Ok(_) => {
            tracing::info!(table, "created the DynamoDB table");
            Ok(())
        }
        // Another replica is creating it.
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(failed(table, backend(e))),
    }
}

async fn wait_until_active(client: &Client, table: &str) -> StoreResult<()> {
    let deadline = tokio::time::Instant::now() + ACTIVE_LIMIT;
    loop {
        let description = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| failed(table, backend(e)))?
            .table
            .ok_or_else(|| failed(table, StoreError::Backend("no description".into())))?;
        check_indexes(table, &description)?;
        if is_active(&description) {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(failed(
                table,
                StoreError::Backend(format!("not active within {ACTIVE_LIMIT:?}")),
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn is_active(table: &TableDescription) -> bool {
    table.table_status() == Some(&TableStatus::Active)
        && table
            .global_secondary_indexes()
            .iter()
            .all(|i| i.index_status().is_none_or(|s| *s == IndexStatus::Active))
}

/// A table made by something else (another server's layout) is refused by name,
/// not used half-working.
fn check_indexes(name: &str, table: &TableDescription) -> StoreResult<()> {
    let has = |index: &str| {
        table
            .global_secondary_indexes()
            .iter()
            .any(|i| i.index_name() == Some(index))
    };
    let missing: Vec<&str> = [GSI1, GSI2].into_iter().filter(|i| !has(i)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(failed(
        name,
        StoreError::Backend(format!(
            "the table exists without the index(es) {} this server needs; \
             point SMOOTH_AGENT_DDB_TABLE at a new table (it is created on start-up)",
            missing.join(", ")
        )),
    ))
}
