//! The shared, cheap-to-clone application state.

use crate::auth::Authenticator;
use crate::config::{Config, OtpConfig, StorageConfig};
use std::sync::Arc;
use switchboard_agent::llm::LlmProvider;
use switchboard_agent::llm::gateway::{GatewayClient, GatewaySettings};
use switchboard_agent::offline::OfflineResponder;
use switchboard_agent::otp::{
    BuiltinOtp, Delivery, OtpService, OtpSettings, SmtpDelivery, WebhookDelivery,
};
use switchboard_agent::skills::SkillLibrary;
use switchboard_agent::tools::AuthLevel;
use switchboard_agent::{AgentFile, AgentRuntime, RuntimeParts, RuntimeSettings};
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
    auth: Authenticator,
    store: Arc<dyn Store>,
    runtime: Arc<AgentRuntime>,
    /// Cancelled when the server starts shutting down.
    shutdown: CancellationToken,
    /// Every live WebSocket connection, so shutdown can wait for them.
    connections: TaskTracker,
    /// Open WebSockets per client address, under `SMOOTH_AGENT_MAX_CONNECTIONS_PER_IP`.
    ip_slots: crate::ws::PerIpSlots,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("SMOOTH_AGENT_STORAGE={0} is not available in this build")]
    StorageUnavailable(&'static str),
    #[error("SMOOTH_AGENT_DATABASE_URL: {0}")]
    Storage(String),
    #[error("SMOOTH_AGENT_CONFIG: {0}")]
    AgentFile(#[from] switchboard_agent::config::AgentFileError),
    #[error("SMOOAI_GATEWAY_URL: cannot set up the gateway client: {0}")]
    Gateway(switchboard_agent::llm::LlmError),
    #[error("knowledge: {0}")]
    Knowledge(String),
    #[error("{0}")]
    Auth(String),
}

/// Opens the store `SMOOTH_AGENT_STORAGE` selects.
async fn open_store(storage: &StorageConfig) -> Result<Arc<dyn Store>, StartupError> {
    match storage {
        StorageConfig::Memory => Ok(Arc::new(MemoryStore::new())),
        #[cfg(feature = "postgres")]
        StorageConfig::Postgres { url } => {
            use secrecy::ExposeSecret;
            let store = switchboard_store_postgres::PostgresStore::connect(
                url.expose_secret(),
                switchboard_store_postgres::PoolOptions::default(),
            )
            .await
            .map_err(|e| StartupError::Storage(e.to_string()))?;
            Ok(Arc::new(store))
        }
        other => Err(StartupError::StorageUnavailable(other.label())),
    }
}

/// Applies the configuration file's organisation settings where the store has
/// none yet, so settings changed later by an administrator survive restarts.
async fn seed_organizations(store: &dyn Store, file: &AgentFile) -> Result<(), StartupError> {
    for org in &file.organizations {
        let id = switchboard_core::OrgId::new(org.id.clone());
        let existing = store
            .get_org_settings(&id)
            .await
            .map_err(|e| StartupError::Knowledge(e.to_string()))?;
        if existing.is_none() {
            let settings = switchboard_core::OrgSettings {
                org_id: id,
                persona: org.persona.clone(),
                updated_at: Some(chrono::Utc::now()),
                ..Default::default()
            };
            store
                .put_org_settings(&settings)
                .await
                .map_err(|e| StartupError::Knowledge(e.to_string()))?;
        }
    }
    Ok(())
}

/// The built-in one-time-code service, when a delivery is configured.
fn otp_service(config: &Config, store: &Arc<dyn Store>) -> Option<Arc<dyn OtpService>> {
    let delivery: Arc<dyn Delivery> = match config.otp.as_ref()? {
        OtpConfig::Webhook { url, bearer } => {
            let mut webhook = WebhookDelivery::new(url.clone());
            if let Some(bearer) = bearer {
                webhook = webhook.with_bearer(bearer.clone());
            }
            Arc::new(webhook)
        }
        OtpConfig::Smtp {
            host,
            port,
            from,
            username,
            password,
        } => {
            let mut smtp = SmtpDelivery::new(format!("{host}:{port}"), from.clone());
            if let (Some(user), Some(password)) = (username, password) {
                smtp = smtp.with_credentials(user.clone(), password.clone());
            }
            Arc::new(smtp)
        }
    };
    Some(Arc::new(BuiltinOtp::new(
        store.clone(),
        delivery,
        OtpSettings::default(),
    )))
}

impl AppState {
    /// Builds the state the configuration asks for.
    pub async fn new(config: Config) -> Result<Self, StartupError> {
        let store = open_store(&config.storage).await?;
        Self::with_store(config, store).await
    }

    /// State over a store the caller built (tests, embedding hosts). Reads the agent
    /// configuration file and sets up the LLM provider and knowledge base.
    pub async fn with_store(config: Config, store: Arc<dyn Store>) -> Result<Self, StartupError> {
        let file = match &config.agent_config {
            Some(path) => AgentFile::load(path)?,
            None => AgentFile::default(),
        };
        Self::with_parts(config, store, file).await
    }

    /// State with an agent configuration given directly (tests). Fills the knowledge
    /// base before returning.
    pub async fn with_parts(
        config: Config,
        store: Arc<dyn Store>,
        file: AgentFile,
    ) -> Result<Self, StartupError> {
        let auth = Authenticator::new(&config.auth).map_err(StartupError::Auth)?;
        let http = switchboard_agent::http::client();
        let llm: Arc<dyn LlmProvider> = match &config.gateway {
            Some(gateway) => {
                let mut settings = GatewaySettings::new(gateway.url.clone(), gateway.key.clone());
                settings.first_byte_timeout = gateway.timeout;
                settings.idle_timeout = gateway.timeout;
                Arc::new(GatewayClient::new(settings).map_err(StartupError::Gateway)?)
            }
            None => Arc::new(OfflineResponder),
        };
        let (retriever, refreshes) = crate::knowledge::build(&config, &file, &http).await?;
        let shutdown = CancellationToken::new();
        crate::knowledge::spawn_refreshes(&retriever, refreshes, shutdown.clone());
        seed_organizations(&*store, &file).await?;
        let mut file = file;
        // Tools the environment marks as needing a verified visitor.
        for tool in file
            .tools
            .iter_mut()
            .filter(|t| config.auth_tools.contains(&t.name))
        {
            if tool.auth_level == AuthLevel::None {
                tool.auth_level = AuthLevel::EndUser;
            }
        }
        let runtime = AgentRuntime::new(RuntimeParts {
            llm,
            store: store.clone(),
            retriever,
            file,
            env_confirm_tools: config.confirm_tools.clone(),
            otp: otp_service(&config, &store),
            skills: SkillLibrary::new(config.skills_dirs.clone()),
            settings: RuntimeSettings {
                model: config.model.clone(),
                max_iterations: config.max_iterations,
                max_tokens: config.max_tokens,
                history_tokens: config.history_tokens,
                park_ttl: config.park_timeout,
                judge_model: config.gateway.as_ref().map(|_| config.judge_model.clone()),
            },
        });
        Ok(Self {
            inner: Arc::new(Inner {
                ip_slots: crate::ws::PerIpSlots::new(config.max_connections_per_ip),
                config,
                auth,
                store,
                runtime: Arc::new(runtime),
                shutdown,
                connections: TaskTracker::new(),
            }),
        })
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Verifies connection and admin tokens.
    pub fn auth(&self) -> &Authenticator {
        &self.inner.auth
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    pub fn runtime(&self) -> &Arc<AgentRuntime> {
        &self.inner.runtime
    }

    /// Cancelled when shutdown begins.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.inner.shutdown.clone()
    }

    /// Open WebSockets per client address.
    pub fn ip_slots(&self) -> &crate::ws::PerIpSlots {
        &self.inner.ip_slots
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
