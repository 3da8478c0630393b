//! One run, from accepted to ended: wait for a place, read the source, ingest it
//! while counting, record and log how it ended, give the lease back. The lease is
//! renewed meanwhile; a run that loses it (its server could not reach the store
//! for longer than the lease lasts) stops, since another may have started.

use super::progress::{Progress, per_second};
use super::{Active, Failure, HEARTBEAT, Indexer, Job, LEASE_TTL, Outcome, lease_name};
use chrono::Utc;
use std::sync::Arc;
use std::time::Instant;
use switchboard_core::{IndexingRun, LeaseVerdict, RunStatus};
use switchboard_knowledge::KnowledgeError;
use tokio::sync::oneshot;

pub(super) async fn execute(
    indexer: Arc<Indexer>,
    active: Arc<Active>,
    job: Job,
    done: oneshot::Sender<Outcome>,
) {
    let key = job.source.key().to_owned();
    let holder = active.id.to_string();
    // Even if the run panics, the source is not left busy here (its lease lapses).
    let forget = Forget {
        indexer: &indexer,
        key: &key,
        id: active.id,
    };
    tracing::info!(source = %key, run = %holder, "indexing accepted");
    // A task of its own, so that a run busy computing (chunking, a local embedder)
    // cannot hold up renewing its lease.
    let mut heartbeat = tokio::spawn(keep_lease(
        indexer.clone(),
        key.clone(),
        holder.clone(),
        active.progress.clone(),
    ));
    let outcome = tokio::select! {
        outcome = work(&indexer, &active.progress, &job) => outcome,
        lost = &mut heartbeat => Outcome::Failed(
            lost.unwrap_or(Failure::Interrupted("the server shut down")),
        ),
        () = active.cancel.cancelled() => {
            Outcome::Failed(Failure::Interrupted("what it indexed was deleted"))
        }
        () = indexer.shutdown.cancelled() => {
            Outcome::Failed(Failure::Interrupted("the server shut down"))
        }
    };
    heartbeat.abort();
    log(&key, &holder, &outcome);
    active
        .ending
        .store(true, std::sync::atomic::Ordering::Release);
    if let Some(record) = job.record {
        let ended = ended(record, &outcome, active.progress.snapshot().documents_seen);
        if let Err(e) = indexer.store.put_indexing_run(&ended).await {
            tracing::error!(run = %holder, error = %e, "indexing: cannot record how a run ended");
        }
    }
    indexer.release(&key, &holder).await;
    drop(forget);
    let _ = done.send(outcome);
}

/// Forgets the run when dropped.
struct Forget<'a> {
    indexer: &'a Indexer,
    key: &'a str,
    id: switchboard_core::IndexingRunId,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        self.indexer.forget(self.key, self.id);
    }
}

async fn work(indexer: &Indexer, progress: &Arc<Progress>, job: &Job) -> Outcome {
    let started = Instant::now();
    let Ok(_place) = indexer.permits.clone().acquire_owned().await else {
        return Outcome::Failed(Failure::Interrupted("the server shut down"));
    };
    progress.reading();
    let documents = match job.source.fetch().await {
        Ok(documents) => documents,
        Err(e) => return Outcome::Failed(Failure::Source(e.to_string())),
    };
    let seen = documents.len();
    progress.indexing(seen);
    if let Some(record) = &job.record {
        // Other servers show the count too.
        let reading_done = IndexingRun {
            documents_seen: seen as u64,
            ..record.clone()
        };
        if let Err(e) = indexer.store.put_indexing_run(&reading_done).await {
            tracing::warn!(run = %record.id, error = %e, "indexing: cannot record a run's progress");
        }
    }
    let key = job.source.key();
    let ingested = progress
        .counting(indexer.knowledge.ingest_source(key, documents))
        .await;
    let report = match ingested {
        Ok(report) => report,
        Err(KnowledgeError::Embed(cause)) => {
            return Outcome::Failed(Failure::Embed(cause.to_string()));
        }
        Err(other) => {
            tracing::error!(source = %key, error = %other, "indexing: knowledge base failure");
            return Outcome::Failed(Failure::Store);
        }
    };
    if let Some(record) = &job.record
        && deleted_meanwhile(indexer, record).await
    {
        // Deleted on another server while this one read it: what was just
        // ingested must not outlive the connector.
        if let Err(e) = indexer.knowledge.remove_source(key).await {
            tracing::error!(source = %key, error = %e, "indexing: cannot remove a deleted connector's documents");
        }
        return Outcome::Failed(Failure::Interrupted("what it indexed was deleted"));
    }
    Outcome::Succeeded {
        documents: seen,
        report,
        elapsed: started.elapsed(),
    }
}

async fn deleted_meanwhile(indexer: &Indexer, record: &IndexingRun) -> bool {
    matches!(
        indexer
            .store
            .get_connector(&record.org_id, record.connector_id)
            .await,
        Ok(None)
    )
}

/// Renews the lease every [`HEARTBEAT`] and logs the run's progress; returns only
/// when the lease is lost.
async fn keep_lease(
    indexer: Arc<Indexer>,
    key: String,
    holder: String,
    progress: Arc<Progress>,
) -> Failure {
    let lease = lease_name(&key);
    let mut last_renewed = Instant::now();
    loop {
        tokio::time::sleep(HEARTBEAT).await;
        let now = progress.snapshot();
        tracing::info!(
            source = %key,
            run = %holder,
            phase = now.phase.as_str(),
            documents = now.documents_seen,
            chunks = now.chunks_embedded,
            chunks_per_sec = format!("{:.0}", now.chunks_per_second),
            secs = now.elapsed.as_secs(),
            "indexing progress"
        );
        match indexer
            .store
            .acquire_lease(&lease, &holder, LEASE_TTL)
            .await
        {
            Ok(LeaseVerdict::Granted) => last_renewed = Instant::now(),
            Ok(LeaseVerdict::Held { holder: other }) => {
                tracing::error!(source = %key, run = %holder, other = %other, "indexing: the lease went to another run; stopping");
                return Failure::Interrupted("another server took the source over");
            }
            Err(e) if last_renewed.elapsed() + HEARTBEAT >= LEASE_TTL => {
                tracing::error!(source = %key, run = %holder, error = %e, "indexing: cannot renew the lease before it lapses; stopping");
                return Failure::Interrupted("the store could not be reached to hold the source");
            }
            Err(e) => {
                tracing::warn!(source = %key, run = %holder, error = %e, "indexing: cannot renew the lease; trying again");
            }
        }
    }
}

fn log(key: &str, run: &str, outcome: &Outcome) {
    match outcome {
        Outcome::Succeeded {
            documents,
            report,
            elapsed,
        } => tracing::info!(
            source = %key,
            run,
            documents,
            indexed = report.indexed,
            unchanged = report.unchanged,
            removed = report.removed,
            chunks = report.chunks,
            secs = format!("{:.1}", elapsed.as_secs_f64()),
            chunks_per_sec = format!("{:.0}", per_second(report.chunks as u64, *elapsed)),
            "indexing done"
        ),
        Outcome::Failed(failure) => {
            tracing::error!(source = %key, run, error = %failure, "indexing failed");
        }
    }
}

/// The record of a run that ended with `outcome`, having read `seen` documents.
fn ended(mut record: IndexingRun, outcome: &Outcome, seen: u64) -> IndexingRun {
    record.documents_seen = seen;
    match outcome {
        Outcome::Succeeded {
            documents, report, ..
        } => {
            record.status = RunStatus::Succeeded;
            record.documents_seen = *documents as u64;
            record.chunks_indexed = report.chunks as u64;
            record.documents_skipped = report.unchanged as u64;
            record.documents_removed = report.removed as u64;
        }
        Outcome::Failed(failure) => {
            record.status = RunStatus::Failed;
            record.error = Some(failure.to_string());
        }
    }
    record.finished_at = Some(Utc::now().max(record.started_at));
    record
}
