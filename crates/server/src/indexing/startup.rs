//! The configuration's knowledge, indexed in the background while the server
//! already serves: the demo documents (`SMOOTH_AGENT_SEED_KB`), the configuration
//! file's inline `knowledge`, `SMOOTH_AGENT_KNOWLEDGE_PATH` and the file's
//! `sources`, one after another, each a run of the [`Indexer`]. Turns answer from
//! what is in so far; `GET /ready` is 503 until all of it is in. A source that fails
//! is tried again (after 5 s, doubling up to 5 minutes) and `/ready` says so
//! meanwhile. Once all are in, each source with `refreshSecs` runs again on its
//! schedule; those later runs never make the server unready (turns keep answering
//! from what was indexed before).

use super::{Failure, Indexer, Job, Outcome, Refusal};
use crate::state::StartupError;
use async_trait::async_trait;
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard_knowledge::Document;
use switchboard_knowledge::source::{Source, SourceError};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// How long a failed start-up source waits before it is tried again, at first.
const RETRY_FIRST: Duration = Duration::from_secs(5);
/// ... and at most.
const RETRY_MAX: Duration = Duration::from_secs(300);
/// How often a source another server is indexing is asked for again.
const BUSY_POLL: Duration = Duration::from_secs(1);

/// A source to index at start-up, and how often to index it again afterwards.
pub struct Planned {
    pub source: Arc<dyn Source>,
    pub refresh: Option<Duration>,
}

/// Documents given whole (the demo set, the configuration file's inline ones).
pub struct Fixed {
    pub key: String,
    pub documents: Vec<Document>,
}

#[async_trait]
impl Source for Fixed {
    fn key(&self) -> &str {
        &self.key
    }

    async fn fetch(&self) -> Result<Vec<Document>, SourceError> {
        Ok(self.documents.clone())
    }
}

/// Where start-up indexing stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// Source `current` (counted from 1) of `total` is being indexed.
    Indexing {
        current: usize,
        total: usize,
    },
    /// Source `current` of `total` failed with `error` and is tried again.
    Retrying {
        current: usize,
        total: usize,
        source: String,
        error: String,
    },
    Done,
}

impl Status {
    /// Why the server is not ready yet; `None` once everything is in. It names
    /// no source and no error (anyone may ask `/ready`); the log does.
    pub fn not_ready(&self) -> Option<String> {
        match self {
            Self::Done => None,
            Self::Indexing { current, total } => Some(format!(
                "start-up knowledge indexing under way (source {current} of {total})"
            )),
            Self::Retrying { current, total, .. } => Some(format!(
                "start-up knowledge indexing failed on source {current} of {total} and is \
                 being retried (the log says why)"
            )),
        }
    }
}

/// A view of start-up indexing.
#[derive(Clone)]
pub struct Startup(watch::Receiver<Status>);

impl Startup {
    pub fn status(&self) -> Status {
        self.0.borrow().clone()
    }

    /// Waits until everything is in; or the first failure, as a start-up error
    /// naming the source (for hosts and tests that fill the knowledge base before
    /// they serve).
    pub async fn finished(&self) -> Result<(), StartupError> {
        let mut status = self.0.clone();
        let seen = status
            .wait_for(|s| !matches!(s, Status::Indexing { .. }))
            .await
            .map_err(|_| StartupError::Knowledge("start-up indexing stopped".into()))?
            .clone();
        match seen {
            Status::Retrying { source, error, .. } => Err(StartupError::Knowledge(format!(
                "source '{source}': {error}"
            ))),
            _ => Ok(()),
        }
    }
}

/// Starts indexing `plan` in the background.
pub fn spawn(indexer: Arc<Indexer>, plan: Vec<Planned>, shutdown: CancellationToken) -> Startup {
    let total = plan.len();
    let first = if total == 0 {
        Status::Done
    } else {
        Status::Indexing { current: 1, total }
    };
    let (status, view) = watch::channel(first);
    tokio::spawn(async move {
        let started = Instant::now();
        for (n, planned) in plan.iter().enumerate() {
            let current = n + 1;
            let _ = status.send(Status::Indexing { current, total });
            let mut wait = RETRY_FIRST;
            while let Err(error) = index_once(&indexer, &planned.source, &shutdown).await {
                if shutdown.is_cancelled() {
                    return;
                }
                let source = planned.source.key().to_owned();
                tracing::error!(%source, %error, retry_in_secs = wait.as_secs(), "start-up indexing failed; trying again");
                let _ = status.send(Status::Retrying {
                    current,
                    total,
                    source,
                    error,
                });
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(wait) => {}
                }
                wait = (wait * 2).min(RETRY_MAX);
                let _ = status.send(Status::Indexing { current, total });
            }
        }
        if total > 0 {
            tracing::info!(
                sources = total,
                secs = format!("{:.1}", started.elapsed().as_secs_f64()),
                "start-up indexing done"
            );
        }
        let _ = status.send(Status::Done);
        for planned in plan {
            if let Some(every) = planned.refresh {
                tokio::spawn(refresh(
                    indexer.clone(),
                    planned.source,
                    every,
                    shutdown.clone(),
                ));
            }
        }
    });
    Startup(view)
}

/// Runs `source` once to its end, first waiting for a run of it another server
/// has under way (replicas starting together index each source one at a time).
async fn index_once(
    indexer: &Arc<Indexer>,
    source: &Arc<dyn Source>,
    shutdown: &CancellationToken,
) -> Result<(), String> {
    loop {
        let job = Job {
            source: source.clone(),
            record: None,
        };
        match indexer.submit(job).await {
            Ok(accepted) => {
                return match accepted.done.await {
                    Ok(Outcome::Succeeded { .. }) => Ok(()),
                    Ok(Outcome::Failed(failure)) => Err(explain(&failure)),
                    Err(_) => Err("interrupted".into()),
                };
            }
            Err(Refusal::Busy { run }) => {
                tracing::info!(source = source.key(), %run, "another run of this source is under way; waiting for it");
            }
            Err(Refusal::Full) => {}
            Err(Refusal::Store(e)) => return Err(format!("the store failed: {e}")),
        }
        tokio::select! {
            () = shutdown.cancelled() => return Err("the server shut down".into()),
            () = tokio::time::sleep(BUSY_POLL) => {}
        }
    }
}

fn explain(failure: &Failure) -> String {
    match failure {
        Failure::Embed(_) => format!(
            "{failure} (with a gateway that serves no embeddings, set SMOOTH_AGENT_EMBEDDINGS=offline)"
        ),
        other => other.to_string(),
    }
}

/// Runs `source` again every `every` until shutdown. A run of it under way (here
/// or on another server) or a full queue skips one turn; a failed run keeps what
/// the source had, and is logged.
async fn refresh(
    indexer: Arc<Indexer>,
    source: Arc<dyn Source>,
    every: Duration,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
        let job = Job {
            source: source.clone(),
            record: None,
        };
        match indexer.submit(job).await {
            Ok(accepted) => {
                let _ = accepted.done.await;
            }
            Err(Refusal::Busy { run }) => {
                tracing::debug!(source = source.key(), %run, "refresh skipped: a run of this source is under way");
            }
            Err(Refusal::Full) => {
                tracing::warn!(
                    source = source.key(),
                    "refresh skipped: the indexing queue is full"
                );
            }
            Err(Refusal::Store(e)) => {
                tracing::warn!(source = source.key(), error = %e, "refresh skipped: the store failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reason_names_no_source() {
        let retrying = Status::Retrying {
            current: 2,
            total: 3,
            source: "/srv/secret-folder".into(),
            error: "cannot read /srv/secret-folder".into(),
        };
        let reason = retrying.not_ready().unwrap();
        assert!(reason.contains("source 2 of 3"), "{reason}");
        assert!(!reason.contains("secret"), "{reason}");
        assert_eq!(Status::Done.not_ready(), None);
    }
}
