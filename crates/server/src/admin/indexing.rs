//! `POST /admin/connectors/{id}/index` and `GET /admin/indexing/runs`.
//!
//! Indexing reads the connector's source whole and replaces what the connector
//! indexed before (unchanged documents are kept without re-embedding). It runs in
//! the background ([`crate::indexing`]): one run per connector at a time across
//! servers. Each run is recorded in the store when it is accepted, when its source
//! has been read and when it ends, so the history survives restarts; a running
//! run's progress comes from the server working on it. A source that cannot be
//! read makes a `failed` run, not an error reply.

use super::connector_config::{local_id, source};
use super::connectors::load;
use super::extract::{Params, PathId, clamp_limit};
use super::{AdminError, Caller, namespace};
use crate::indexing::{Job, MAX_ACCEPTED, Phase, Refusal, Snapshot};
use crate::state::AppState;
use async_trait::async_trait;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use switchboard_core::{
    Connector, ConnectorId, IndexingRun, IndexingRunId, IndexingRunQuery, RunStatus,
};
use switchboard_knowledge::Document;
use switchboard_knowledge::source::{Source, SourceError};

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
    /// A running run's progress, from the server working on it (null from
    /// another server, and once the run has ended).
    progress: Option<ProgressJson>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProgressJson {
    phase: Phase,
    documents_seen: u64,
    chunks_embedded: u64,
    elapsed_ms: u64,
    chunks_per_second: f64,
}

impl From<Snapshot> for ProgressJson {
    fn from(s: Snapshot) -> Self {
        Self {
            phase: s.phase,
            documents_seen: s.documents_seen,
            chunks_embedded: s.chunks_embedded,
            elapsed_ms: u64::try_from(s.elapsed.as_millis()).unwrap_or(u64::MAX),
            chunks_per_second: (s.chunks_per_second * 10.0).round() / 10.0,
        }
    }
}

impl RunJson {
    fn new(run: IndexingRun, progress: Option<Snapshot>) -> Self {
        let time = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
        let progress = progress
            .filter(|_| run.status == RunStatus::Running)
            .map(Into::into);
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
            progress,
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
    let indexer = state.indexer();
    Ok(Json(Runs {
        runs: runs
            .into_iter()
            .map(|run| {
                let progress = indexer.progress(run.id);
                RunJson::new(run, progress)
            })
            .collect(),
    }))
}

/// `POST /admin/connectors/{id}/index`: 202 with the run, queued or running; it
/// goes on in the background (`GET /admin/indexing/runs` follows it). 409 with the
/// active run's id (`runId`) while a run of this connector is queued or running on
/// any server; 503 when this server has as many runs as it keeps.
pub async fn run(
    State(state): State<AppState>,
    caller: Caller,
    PathId(raw_id): PathId,
) -> Result<(StatusCode, Json<OneRun>), AdminError> {
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
    let record = IndexingRun {
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
    let name = connector.name.clone();
    let job = Job {
        source: Arc::new(Owned { source, connector }),
        record: Some(record.clone()),
    };
    match state.indexer().submit(job).await {
        Ok(_) => {
            let progress = state.indexer().progress(record.id);
            Ok((
                StatusCode::ACCEPTED,
                Json(OneRun {
                    run: RunJson::new(record, progress),
                }),
            ))
        }
        Err(Refusal::Busy { run }) => Err(AdminError::Busy {
            message: format!(
                "connector '{name}' is being indexed already (run {run}); index it again once \
                 that run has ended"
            ),
            run_id: run,
        }),
        Err(Refusal::Full) => Err(AdminError::Unavailable(format!(
            "this server is indexing as many runs as it keeps ({MAX_ACCEPTED}); try again later"
        ))),
        Err(Refusal::Store(e)) => Err(e.into()),
    }
}

/// A connector's source, its documents named and owned the connector's way.
struct Owned {
    source: Box<dyn Source>,
    connector: Connector,
}

#[async_trait]
impl Source for Owned {
    fn key(&self) -> &str {
        self.source.key()
    }

    async fn fetch(&self) -> Result<Vec<Document>, SourceError> {
        let mut documents = self.source.fetch().await?;
        let connector = &self.connector;
        for document in &mut documents {
            document.id = namespace::connector_document(
                &connector.org_id,
                connector.id,
                &local_id(connector.kind, document),
            );
            document.org = Some(connector.org_id.as_str().to_owned());
        }
        Ok(documents)
    }
}
