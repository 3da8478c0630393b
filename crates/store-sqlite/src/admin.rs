//! What the admin API keeps: connectors and their indexing runs.

use crate::db::{Db, all, execute, optional};
use crate::error::{backend_rusqlite as backend, write_error};
use crate::rows::{self, *};
use rusqlite::params;
use switchboard_core::*;

pub(crate) async fn create_connector(db: &Db, c: &Connector) -> StoreResult<()> {
    let kind = name_of(&c.kind)?;
    let config = to_json(&c.config)?;
    let created = nanos(c.created_at)?;
    let updated = nanos(c.updated_at)?;
    let c = c.clone();
    db.write(move |connection| {
        let sql = concat!(
            "INSERT INTO connectors (",
            connector_columns!(),
            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        );
        let values = params![
            c.id.as_uuid(),
            c.org_id.as_str(),
            c.name,
            kind,
            config,
            c.enabled,
            created,
            updated
        ];
        execute(connection, sql, values)
            .map_err(write_error(format_args!("connector '{}'", c.name)))?;
        Ok(())
    })
    .await
}

pub(crate) async fn update_connector(db: &Db, c: &Connector) -> StoreResult<Option<Connector>> {
    let kind = name_of(&c.kind)?;
    let config = to_json(&c.config)?;
    let updated = nanos(c.updated_at)?;
    let c = c.clone();
    db.write(move |connection| {
        let sql = concat!(
            "UPDATE connectors SET name = ?3, kind = ?4, config = ?5, enabled = ?6, ",
            "updated_at_ns = ?7 WHERE org_id = ?1 AND id = ?2 RETURNING ",
            connector_columns!()
        );
        let values = params![
            c.org_id.as_str(),
            c.id.as_uuid(),
            c.name,
            kind,
            config,
            c.enabled,
            updated
        ];
        // A unique violation surfaces at the first step, before any row.
        let mut statement = connection.prepare_cached(sql).map_err(backend)?;
        let mut found = statement
            .query(values)
            .map_err(write_error(format_args!("connector '{}'", c.name)))?;
        match found
            .next()
            .map_err(write_error(format_args!("connector '{}'", c.name)))?
        {
            Some(row) => rows::connector(row).map(Some),
            None => Ok(None),
        }
    })
    .await
}

pub(crate) async fn get_connector(
    db: &Db,
    org: &OrgId,
    id: ConnectorId,
) -> StoreResult<Option<Connector>> {
    db.read(|c| {
        let sql = concat!(
            "SELECT ",
            connector_columns!(),
            " FROM connectors WHERE org_id = ?1 AND id = ?2"
        );
        optional(c, sql, params![org.as_str(), id.as_uuid()], rows::connector)
    })
    .await
}

pub(crate) async fn list_connectors(db: &Db, org: &OrgId) -> StoreResult<Vec<Connector>> {
    // Byte order (SQLite's BINARY collation), as the memory store sorts.
    db.read(|c| {
        let sql = concat!(
            "SELECT ",
            connector_columns!(),
            " FROM connectors WHERE org_id = ?1 ORDER BY name, id"
        );
        all(c, sql, [org.as_str()], rows::connector)
    })
    .await
}

pub(crate) async fn delete_connector(db: &Db, org: &OrgId, id: ConnectorId) -> StoreResult<bool> {
    let org = org.clone();
    db.write(move |c| {
        let deleted = execute(
            c,
            "DELETE FROM connectors WHERE org_id = ?1 AND id = ?2",
            params![org.as_str(), id.as_uuid()],
        )
        .map_err(backend)?;
        Ok(deleted > 0)
    })
    .await
}

pub(crate) async fn put_indexing_run(db: &Db, run: &IndexingRun) -> StoreResult<()> {
    let status = name_of(&run.status)?;
    let started = nanos(run.started_at)?;
    let finished = run.finished_at.map(nanos).transpose()?;
    let counts = [
        stored_count(run.documents_seen)?,
        stored_count(run.chunks_indexed)?,
        stored_count(run.documents_skipped)?,
        stored_count(run.documents_removed)?,
    ];
    let run = run.clone();
    db.write(move |c| {
        // The update only applies within the run's organisation.
        let sql = concat!(
            "INSERT INTO indexing_runs (",
            run_columns!(),
            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) ",
            "ON CONFLICT (id) DO UPDATE SET connector_id = EXCLUDED.connector_id, ",
            "connector_name = EXCLUDED.connector_name, status = EXCLUDED.status, ",
            "started_at_ns = EXCLUDED.started_at_ns, finished_at_ns = EXCLUDED.finished_at_ns, ",
            "documents_seen = EXCLUDED.documents_seen, chunks_indexed = EXCLUDED.chunks_indexed, ",
            "documents_skipped = EXCLUDED.documents_skipped, ",
            "documents_removed = EXCLUDED.documents_removed, error = EXCLUDED.error ",
            "WHERE indexing_runs.org_id = EXCLUDED.org_id"
        );
        let values = params![
            run.id.as_uuid(),
            run.org_id.as_str(),
            run.connector_id.as_uuid(),
            run.connector_name,
            status,
            started,
            finished,
            counts[0],
            counts[1],
            counts[2],
            counts[3],
            run.error,
        ];
        let written = execute(c, sql, values).map_err(backend)?;
        if written == 0 {
            return Err(StoreError::Conflict(format!("indexing run {}", run.id)));
        }
        Ok(())
    })
    .await
}

pub(crate) async fn list_indexing_runs(
    db: &Db,
    query: IndexingRunQuery,
) -> StoreResult<Vec<IndexingRun>> {
    db.read(|c| {
        let sql = concat!(
            "SELECT * FROM (SELECT ",
            run_columns!(),
            " FROM indexing_runs WHERE org_id = ?1 AND (?2 IS NULL OR connector_id = ?2) ",
            "ORDER BY started_at_ns DESC, id DESC LIMIT ?3) recent ",
            "ORDER BY started_at_ns, id"
        );
        let values = params![
            query.org_id.as_str(),
            query.connector.map(|c| *c.as_uuid()),
            i64::try_from(query.limit).unwrap_or(i64::MAX),
        ];
        all(c, sql, values, rows::indexing_run)
    })
    .await
}
