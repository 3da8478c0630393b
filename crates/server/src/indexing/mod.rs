//! Indexing in the background. Every run of a knowledge source (the
//! configuration's sources at start-up and on their `refreshSecs`, the admin API's
//! connectors) goes through the [`Indexer`], which
//! - takes the source's lease in the store when it accepts a run and holds it until
//!   the run ends, so one run per source works at a time across replicas;
//! - works on at most `SMOOTH_AGENT_INDEXING_CONCURRENCY` runs at once and keeps at
//!   most [`MAX_ACCEPTED`] accepted (queued or running), refusing more;
//! - keeps each run's progress for the admin API and logs its counts and rate.

mod progress;
mod run;
pub mod startup;

pub use progress::{CountingEmbedder, Phase, Snapshot};

use progress::Progress;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use switchboard_core::{IndexingRun, IndexingRunId, IndexingRunQuery, RunStatus, Store};
use switchboard_core::{LeaseVerdict, StoreError};
use switchboard_knowledge::source::Source;
use switchboard_knowledge::{IngestReport, KnowledgeBase};
use tokio::sync::{Semaphore, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Runs accepted (queued or running) on one server at most; beyond it a request
/// is refused and a scheduled refresh waits for its next turn.
pub const MAX_ACCEPTED: usize = 64;

/// How long a source's lease outlives a server that stopped renewing it (it died).
const LEASE_TTL: Duration = Duration::from_secs(30);

/// How often a run renews its lease and logs its progress.
const HEARTBEAT: Duration = Duration::from_secs(10);

/// How long shutdown waits for runs to record that they were interrupted, and a
/// new run for one that is recording its end.
const STOP_WAIT: Duration = Duration::from_secs(3);

/// How often a new run looks whether one recording its end has finished.
const ENDING_POLL: Duration = Duration::from_millis(20);

/// What to index.
pub struct Job {
    /// Its `key()` names what it replaces in the knowledge base, and its lease.
    pub source: Arc<dyn Source>,
    /// A connector's run: its record in the store (status `running`), written when
    /// the run is accepted, after the source is read, and when it ends.
    pub record: Option<IndexingRun>,
}

/// Why a run was not accepted.
#[derive(Debug)]
pub enum Refusal {
    /// A run of this source is queued or running, here or on another server; its
    /// id (the lease's holder).
    Busy {
        run: String,
    },
    /// [`MAX_ACCEPTED`] runs are queued or running here.
    Full,
    Store(StoreError),
}

/// A run accepted: it is queued or running.
pub struct Accepted {
    pub id: IndexingRunId,
    /// How it ended (dropped unsent only if the server is torn down).
    pub done: oneshot::Receiver<Outcome>,
}

/// How a run ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    Succeeded {
        /// Documents the source produced.
        documents: usize,
        report: IngestReport,
        elapsed: Duration,
    },
    Failed(Failure),
}

/// Why a run failed, in words fit for the organisation's administrators.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Failure {
    /// The source could not be read.
    #[error("{0}")]
    Source(String),
    #[error("the embedding service failed: {0}")]
    Embed(String),
    /// The knowledge base failed to store the documents (the cause is logged).
    #[error("the knowledge base failed to store the documents")]
    Store,
    /// Stopped before it ended.
    #[error("interrupted: {0}")]
    Interrupted(&'static str),
}

/// A run accepted here and not ended.
struct Active {
    id: IndexingRunId,
    /// Set once it is recording its end: it gives its place up in a moment.
    ending: std::sync::atomic::AtomicBool,
    progress: Arc<Progress>,
    /// Cancelled when what it indexes goes away (its connector is deleted).
    cancel: CancellationToken,
}

/// The server's indexing runs: see the module's documentation.
pub struct Indexer {
    store: Arc<dyn Store>,
    knowledge: Arc<dyn KnowledgeBase>,
    permits: Arc<Semaphore>,
    /// Accepted runs by source key.
    active: Mutex<HashMap<String, Arc<Active>>>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

/// The store's lease that one run of `key` holds at a time.
fn lease_name(key: &str) -> String {
    format!("indexing:{key}")
}

impl Indexer {
    pub fn new(
        store: Arc<dyn Store>,
        knowledge: Arc<dyn KnowledgeBase>,
        concurrency: usize,
        shutdown: CancellationToken,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            knowledge,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            active: Mutex::new(HashMap::new()),
            shutdown,
            tasks: TaskTracker::new(),
        })
    }

    fn active(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Active>>> {
        // Every critical section is a single map operation: a poisoned map is whole.
        self.active.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Accepts a run of `job`: it holds the source's lease from now on and starts
    /// as soon as fewer than the allowed number of runs are working. Refused when
    /// a run of the source is accepted already (here or on another server), or
    /// when this server has [`MAX_ACCEPTED`] runs.
    pub async fn submit(self: &Arc<Self>, job: Job) -> Result<Accepted, Refusal> {
        let key = job.source.key().to_owned();
        let id = job
            .record
            .as_ref()
            .map_or_else(IndexingRunId::random, |r| r.id);
        let active = Arc::new(Active {
            id,
            ending: false.into(),
            progress: Arc::default(),
            cancel: CancellationToken::new(),
        });
        self.take_place(&key, &active).await?;
        if let Err(refusal) = self.claim(&key, &active, job.record.as_ref()).await {
            self.forget(&key, id);
            return Err(refusal);
        }
        let (done, outcome) = oneshot::channel();
        self.tasks
            .spawn(run::execute(self.clone(), active, job, done));
        Ok(Accepted { id, done: outcome })
    }

    /// Enters `active` as the run of `key` here; a run of it that is recording its
    /// end (a client may already have seen it ended) is waited for.
    async fn take_place(&self, key: &str, active: &Arc<Active>) -> Result<(), Refusal> {
        let deadline = tokio::time::Instant::now() + STOP_WAIT;
        loop {
            {
                let mut accepted = self.active();
                match accepted.get(key) {
                    Some(running)
                        if running.ending.load(std::sync::atomic::Ordering::Acquire)
                            && tokio::time::Instant::now() < deadline => {}
                    Some(running) => {
                        return Err(Refusal::Busy {
                            run: running.id.to_string(),
                        });
                    }
                    None if accepted.len() >= MAX_ACCEPTED => return Err(Refusal::Full),
                    None => {
                        accepted.insert(key.to_owned(), active.clone());
                        return Ok(());
                    }
                }
            }
            tokio::time::sleep(ENDING_POLL).await;
        }
    }

    /// Takes the source's lease for `active` and records a connector's run.
    async fn claim(
        &self,
        key: &str,
        active: &Active,
        record: Option<&IndexingRun>,
    ) -> Result<(), Refusal> {
        let holder = active.id.to_string();
        let deadline = tokio::time::Instant::now() + STOP_WAIT;
        loop {
            match self
                .store
                .acquire_lease(&lease_name(key), &holder, LEASE_TTL)
                .await
            {
                Ok(LeaseVerdict::Granted) => break,
                // Its run has recorded its end (on another server): the lease is
                // about to be given up.
                Ok(LeaseVerdict::Held { holder: other })
                    if tokio::time::Instant::now() < deadline
                        && self.has_ended(record, &other).await => {}
                Ok(LeaseVerdict::Held { holder }) => return Err(Refusal::Busy { run: holder }),
                Err(e) => return Err(Refusal::Store(e)),
            }
            tokio::time::sleep(ENDING_POLL).await;
        }
        let Some(record) = record else {
            return Ok(());
        };
        self.close_interrupted(record).await;
        if let Err(e) = self.store.put_indexing_run(record).await {
            self.release(key, &holder).await;
            return Err(Refusal::Store(e));
        }
        Ok(())
    }

    /// Whether run `id` of `record`'s connector is recorded as ended.
    async fn has_ended(&self, record: Option<&IndexingRun>, id: &str) -> bool {
        let Some(record) = record else {
            return false;
        };
        let runs = self
            .store
            .list_indexing_runs(IndexingRunQuery {
                org_id: record.org_id.clone(),
                connector: Some(record.connector_id),
                limit: 5,
            })
            .await
            .unwrap_or_default();
        runs.iter()
            .any(|r| r.id.to_string() == id && r.status != RunStatus::Running)
    }

    /// Marks the connector's earlier runs still recorded as `running` failed: with
    /// the source's lease in hand, none of them can still be working (the server
    /// running it stopped before recording its end).
    async fn close_interrupted(&self, record: &IndexingRun) {
        let earlier = self
            .store
            .list_indexing_runs(IndexingRunQuery {
                org_id: record.org_id.clone(),
                connector: Some(record.connector_id),
                limit: 20,
            })
            .await;
        let earlier = match earlier {
            Ok(runs) => runs,
            Err(e) => {
                tracing::warn!(error = %e, "indexing: cannot read a connector's earlier runs");
                return;
            }
        };
        for mut run in earlier
            .into_iter()
            .filter(|r| r.status == RunStatus::Running && r.id != record.id)
        {
            run.status = RunStatus::Failed;
            run.finished_at = Some(chrono::Utc::now().max(run.started_at));
            run.error = Some("interrupted: the server running it stopped before it ended".into());
            if let Err(e) = self.store.put_indexing_run(&run).await {
                tracing::warn!(run = %run.id, error = %e, "indexing: cannot close an interrupted run");
            }
        }
    }

    async fn release(&self, key: &str, holder: &str) {
        if let Err(e) = self.store.release_lease(&lease_name(key), holder).await {
            tracing::warn!(source = key, error = %e, "indexing: cannot release a lease; it lapses");
        }
    }

    /// Forgets the accepted run `id` of `key` (not a later one).
    fn forget(&self, key: &str, id: IndexingRunId) {
        let mut accepted = self.active();
        if accepted.get(key).is_some_and(|a| a.id == id) {
            accepted.remove(key);
        }
    }

    /// The progress of run `id` while it is accepted here (`None` once it ended, or
    /// when another server runs it).
    pub fn progress(&self, id: IndexingRunId) -> Option<Snapshot> {
        self.active()
            .values()
            .find(|a| a.id == id)
            .map(|a| a.progress.snapshot())
    }

    /// Stops the run of `key` accepted here, if any, because what it indexes is
    /// gone, and waits (a few seconds at most) until it has stopped.
    pub async fn cancel(&self, key: &str) {
        let Some(active) = self.active().get(key).cloned() else {
            return;
        };
        active.cancel.cancel();
        let deadline = tokio::time::Instant::now() + STOP_WAIT;
        while self.active().get(key).is_some_and(|a| a.id == active.id)
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// After shutdown began: waits a little for runs to record their interruption
    /// and give their leases up, so another server can take the sources at once.
    pub async fn stop(&self) {
        self.tasks.close();
        if tokio::time::timeout(STOP_WAIT, self.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                runs = self.tasks.len(),
                "indexing runs still recording their end at shutdown"
            );
        }
    }
}
