//! The shared, cheap-to-clone application state.

use crate::config::{Config, StorageConfig};
use std::sync::Arc;
use switchboard_core::{MemoryStore, Store};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// What every request handler and connection can reach.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    store: Arc<dyn Store>,
    /// Cancelled when the server starts shutting down.
    shutdown: CancellationToken,
    /// Every live WebSocket connection, so shutdown can wait for them.
    connections: TaskTracker,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("SMOOTH_AGENT_STORAGE={0} is not available in this build yet (use memory)")]
    StorageUnavailable(&'static str),
}

impl AppState {
    /// Builds the state the configuration asks for.
    pub async fn new(config: Config) -> Result<Self, StartupError> {
        let store: Arc<dyn Store> = match &config.storage {
            StorageConfig::Memory => Arc::new(MemoryStore::new()),
            other => return Err(StartupError::StorageUnavailable(other.label())),
        };
        Ok(Self::with_store(config, store))
    }

    /// State over a store the caller built (tests, embedding hosts).
    pub fn with_store(config: Config, store: Arc<dyn Store>) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                store,
                shutdown: CancellationToken::new(),
                connections: TaskTracker::new(),
            }),
        }
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// Cancelled when shutdown begins.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.inner.shutdown.clone()
    }

    pub(crate) fn connections(&self) -> &TaskTracker {
        &self.inner.connections
    }

    /// Waits for every connection to finish its drain and close. Each connection
    /// enforces the drain deadline itself; the extra second covers closing frames.
    pub(crate) async fn drain_connections(&self) {
        let connections = self.connections();
        connections.close();
        let limit = self.config().drain_timeout + std::time::Duration::from_secs(1);
        if tokio::time::timeout(limit, connections.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                open = connections.len(),
                "connections still open after the drain deadline"
            );
        }
    }
}
