//! What the admin API keeps: connectors and their indexing runs.

use crate::error::{backend, write_error};
use crate::rows::{self, *};
use sqlx::SqlitePool;
use sqlx::types::Json;
use switchboard_core::*;

pub(crate) async fn create_connector(pool: &SqlitePool, c: &Connector) -> StoreResult<()> {
    sqlx::query(concat!(
        "INSERT INTO connectors (",
        connector_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    ))
    .bind(c.id.as_uuid())
    .bind(c.org_id.as_str())
    .bind(&c.name)
    .bind(name_of(&c.kind)?)
    .bind(Json(&c.config))
    .bind(c.enabled)
    .bind(nanos(c.created_at)?)
    .bind(nanos(c.updated_at)?)
    .execute(pool)
    .await
    .map_err(write_error(format_args!("connector '{}'", c.name)))?;
    Ok(())
}

pub(crate) async fn update_connector(
    pool: &SqlitePool,
    c: &Connector,
) -> StoreResult<Option<Connector>> {
    sqlx::query(concat!(
        "UPDATE connectors SET name = $3, kind = $4, config = $5, enabled = $6, ",
        "updated_at_ns = $7 WHERE org_id = $1 AND id = $2 RETURNING ",
        connector_columns!()
    ))
    .bind(c.org_id.as_str())
    .bind(c.id.as_uuid())
    .bind(&c.name)
    .bind(name_of(&c.kind)?)
    .bind(Json(&c.config))
    .bind(c.enabled)
    .bind(nanos(c.updated_at)?)
    .fetch_optional(pool)
    .await
    .map_err(write_error(format_args!("connector '{}'", c.name)))?
    .map(|row| rows::connector(&row))
    .transpose()
}

pub(crate) async fn get_connector(
    pool: &SqlitePool,
    org: &OrgId,
    id: ConnectorId,
) -> StoreResult<Option<Connector>> {
    sqlx::query(concat!(
        "SELECT ",
        connector_columns!(),
        " FROM connectors WHERE org_id = $1 AND id = $2"
    ))
    .bind(org.as_str())
    .bind(id.as_uuid())
    .fetch_optional(pool)
    .await
    .map_err(backend)?
    .map(|row| rows::connector(&row))
    .transpose()
}

pub(crate) async fn list_connectors(pool: &SqlitePool, org: &OrgId) -> StoreResult<Vec<Connector>> {
    // Byte order (SQLite's BINARY collation), as the memory store sorts.
    sqlx::query(concat!(
        "SELECT ",
        connector_columns!(),
        " FROM connectors WHERE org_id = $1 ORDER BY name, id"
    ))
    .bind(org.as_str())
    .fetch_all(pool)
    .await
    .map_err(backend)?
    .iter()
    .map(rows::connector)
    .collect()
}

pub(crate) async fn delete_connector(
    pool: &SqlitePool,
    org: &OrgId,
    id: ConnectorId,
) -> StoreResult<bool> {
    let deleted = sqlx::query("DELETE FROM connectors WHERE org_id = $1 AND id = $2")
        .bind(org.as_str())
        .bind(id.as_uuid())
        .execute(pool)
        .await
        .map_err(backend)?;
    Ok(deleted.rows_affected() > 0)
}

pub(crate) async fn put_indexing_run(pool: &SqlitePool, run: &IndexingRun) -> StoreResult<()> {
    // The update only applies within the run's organisation.
    let written = sqlx::query(concat!(
        "INSERT INTO indexing_runs (",
        run_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ",
        "ON CONFLICT (id) DO UPDATE SET connector_id = EXCLUDED.connector_id, ",
        "connector_name = EXCLUDED.connector_name, status = EXCLUDED.status, ",
        "started_at_ns = EXCLUDED.started_at_ns, finished_at_ns = EXCLUDED.finished_at_ns, ",
        "documents_seen = EXCLUDED.documents_seen, chunks_indexed = EXCLUDED.chunks_indexed, ",
        "documents_skipped = EXCLUDED.documents_skipped, ",
        "documents_removed = EXCLUDED.documents_removed, error = EXCLUDED.error ",
        "WHERE indexing_runs.org_id = EXCLUDED.org_id"
    ))
    .bind(run.id.as_uuid())
    .bind(run.org_id.as_str())
    .bind(run.connector_id.as_uuid())
    .bind(&run.connector_name)
    .bind(name_of(&run.status)?)
    .bind(nanos(run.started_at)?)
    .bind(run.finished_at.map(nanos).transpose()?)
    .bind(stored_count(run.documents_seen)?)
    .bind(stored_count(run.chunks_indexed)?)
    .bind(stored_count(run.documents_skipped)?)
    .bind(stored_count(run.documents_removed)?)
    .bind(&run.error)
    .execute(pool)
    .await
    .map_err(backend)?;
    if written.rows_affected() == 0 {
        return Err(StoreError::Conflict(format!("indexing run {}", run.id)));
    }
    Ok(())
}

pub(crate) async fn list_indexing_runs(
    pool: &SqlitePool,
    query: IndexingRunQuery,
) -> StoreResult<Vec<IndexingRun>> {
    sqlx::query(concat!(
        "SELECT * FROM (SELECT ",
        run_columns!(),
        " FROM indexing_runs WHERE org_id = $1 AND ($2 IS NULL OR connector_id = $2) ",
        "ORDER BY started_at_ns DESC, id DESC LIMIT $3) recent ",
        "ORDER BY started_at_ns, id"
    ))
    .bind(query.org_id.as_str())
    .bind(query.connector.map(|c| *c.as_uuid()))
    .bind(i64::try_from(query.limit).unwrap_or(i64::MAX))
    .fetch_all(pool)
    .await
    .map_err(backend)?
    .iter()
    .map(rows::indexing_run)
    .collect()
}
