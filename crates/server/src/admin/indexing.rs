//! `POST /admin/connectors/{id}/index` and `GET /admin/indexing/runs`.
//!
//! Indexing reads the connector's source whole and replaces what the connector
//! indexed before (unchanged documents are kept without re-embedding). Each run is
//! recorded in the store when it starts and when it ends, so the history survives
//! restarts. A source that cannot be read makes a `failed` run, not an error reply.

use super::connector_config::{local_id, source};
use super::connectors::load;
use super::extract::{Params, PathId, clamp_limit};
use super::{AdminError, Caller, namespace};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use switchboard_core::{
    Connector, ConnectorId, IndexingRun, IndexingRunId, IndexingRunQuery, RunStatus,
};
use switchboard_knowledge::source::Source;
use switchboard_knowledge::{IngestReport, KnowledgeError};

#[derive(Serialize)]
pub struct OneRun {
    run: RunJson,
}

#[derive(Serialize)]
pub struct Runs {
    runs: Vec<RunJson>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RunJson {
    id: IndexingRunId,
    connector_id: ConnectorId,
    connector_name: String,
    status: RunStatus,
    started_at: String,
    finished_at: Option<String>,
    documents_seen: u64,
    chunks_indexed: u64,
    documents_skipped: u64,
    documents_removed: u64,
    /// Always null: sources are read whole, and unchanged documents are recognised
    /// by content, so no incremental cursor is kept.
    cursor: Option<String>,
    error: Option<String>,
}

impl From<IndexingRun> for RunJson {
    fn from(run: IndexingRun) -> Self {
        let time = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
        Self {
            id: run.id,
            connector_id: run.connector_id,
            connector_name: run.connector_name,
            status: run.status,
            started_at: time(run.started_at),
            finished_at: run.finished_at.map(time),
            documents_seen: run.documents_seen,
            chunks_indexed: run.chunks_indexed,
            documents_skipped: run.documents_skipped,
            documents_removed: run.documents_removed,
            cursor: None,
            error: run.error,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunParams {
    connector_id: Option<String>,
    limit: Option<u32>,
}

/// `GET /admin/indexing/runs?connectorId&limit`: the most recent runs (`limit`
/// 1..=1000, default 100), oldest first.
pub async fn runs(
    State(state): State<AppState>,
    caller: Caller,
    Params(params): Params<RunParams>,
) -> Result<Json<Runs>, AdminError> {
    let connector = match params.connector_id.as_deref() {
        None => None,
        // An id that cannot exist has no runs.
        Some(raw) => match ConnectorId::parse(raw) {
            Some(id) => Some(id),
            None => return Ok(Json(Runs { runs: Vec::new() })),
        },
    };
    let runs = state
        .store()
        .list_indexing_runs(IndexingRunQuery {
            org_id: caller.org(),
            connector,
            limit: clamp_limit(params.limit, 100, 1000),
        })
        .await?;
    Ok(Json(Runs {
        runs: runs.into_iter().map(Into::into).collect(),
    }))
}

/// `POST /admin/connectors/{id}/index`: indexes now and answers with the run.
pub async fn run(
    State(state): State<AppState>,
    caller: Caller,
    PathId(raw_id): PathId,
) -> Result<Json<OneRun>, AdminError> {
    let connector = load(&state, &caller, &raw_id).await?;
    if !connector.enabled {
        return Err(AdminError::Conflict(format!(
            "connector '{}' is disabled; enable it to index it",
            connector.name
        )));
    }
    let org = caller.org();
    let key = namespace::connector(&org, connector.id);
    let source = source(
        state.config(),
        &state.admin_cache().egress,
        &org,
        &key,
        connector.kind,
        &connector.config,
    )?;
    let run = IndexingRun {
        id: IndexingRunId::random(),
        org_id: org,
        connector_id: connector.id,
        connector_name: connector.name.clone(),
        status: RunStatus::Running,
        started_at: Utc::now(),
        finished_at: None,
        documents_seen: 0,
        chunks_indexed: 0,
        documents_skipped: 0,
        documents_removed: 0,
        error: None,
    };
    state.store().put_indexing_run(&run).await?;
    // On a task of its own, so a caller that hangs up does not leave the run
    // half done and forever `running`.
    let task = tokio::spawn(finish(state, connector, source, key, run));
    let run = task
        .await
        .map_err(|e| AdminError::Internal(format!("indexing task: {e}")))??;
    Ok(Json(OneRun { run: run.into() }))
}

/// Reads the source, ingests it, and records how the run ended.
async fn finish(
    state: AppState,
    connector: Connector,
    source: Box<dyn Source>,
    key: String,
    mut run: IndexingRun,
) -> Result<IndexingRun, AdminError> {
    match ingest(&state, &connector, &*source, &key).await {
        Ok((seen, report)) => {
            run.status = RunStatus::Succeeded;
            run.documents_seen = seen as u64;
            run.chunks_indexed = report.chunks as u64;
            run.documents_skipped = report.unchanged as u64;
            run.documents_removed = report.removed as u64;
        }
        Err(error) => {
            tracing::warn!(connector = %connector.id, %error, "indexing failed");
            run.status = RunStatus::Failed;
            run.error = Some(error);
        }
    }
    run.finished_at = Some(Utc::now().max(run.started_at));
    state.store().put_indexing_run(&run).await?;
    Ok(run)
}

/// How many documents the source produced, and what ingesting them changed; or
/// why it failed, in words fit for the organisation's administrators.
async fn ingest(
    state: &AppState,
    connector: &Connector,
    source: &dyn Source,
    key: &str,
) -> Result<(usize, IngestReport), String> {
    let mut documents = source.fetch().await.map_err(|e| e.to_string())?;
    let org = connector.org_id.as_str();
    for document in &mut documents {
        document.id = namespace::connector_document(
            &connector.org_id,
            connector.id,
            &local_id(connector.kind, document),
        );
        document.org = Some(org.to_owned());
    }
    let seen = documents.len();
    let report = state
        .knowledge()
        .ingest_source(key, documents)
        .await
        .map_err(|e| match e {
            KnowledgeError::Embed(cause) => format!("the embedding service failed: {cause}"),
            other => {
                tracing::error!(error = %other, "indexing: knowledge base failure");
                "the knowledge base failed to store the documents".into()
            }
        })?;
    Ok((seen, report))
}
