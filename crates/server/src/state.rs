//! The shared, cheap-to-clone application state.

use crate::auth::Authenticator;
use crate::config::{BackplaneConfig, Config, OtpConfig, StorageConfig};
use crate::hub::Hub;
use crate::knowledge::KnowledgeHome;
use crate::widget::WidgetAuth;
use std::sync::Arc;
use switchboard_agent::llm::LlmProvider;
use switchboard_agent::llm::gateway::{GatewayClient, GatewaySettings};
use switchboard_agent::mcp::{McpStart, McpTools};
use switchboard_agent::offline::OfflineResponder;
use switchboard_agent::otp::{BuiltinOtp, Delivery, OtpService, SmtpDelivery, WebhookDelivery};
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
    /// This replica's sockets by target, joined to the other replicas.
    hub: Arc<Hub>,
    store: Arc<dyn Store>,
    runtime: Arc<AgentRuntime>,
    widget: WidgetAuth,
    /// The outbound HTTP client (sources, the gateway's model catalogue).
    http: reqwest::Client,
    /// What the admin API caches for the life of the process.
    admin: crate::admin::Cache,
    /// Cancelled when the server starts shutting down.
    shutdown: CancellationToken,
    /// Every live WebSocket connection, so shutdown can wait for them.
    connections: TaskTracker,
    /// Open connections per client address, under `SMOOTH_AGENT_MAX_CONNECTIONS_PER_IP`.
    ip_slots: crate::ws::PerIpSlots,
    /// Connections per client address not yet upgraded to a WebSocket, under
    /// `SMOOTH_AGENT_MAX_PENDING_PER_IP`.
    pending_slots: crate::ws::PerIpSlots,
    /// What `GET /metrics` shows.
    metrics: Arc<crate::telemetry::Metrics>,
    /// Every indexing run (start-up, refreshes, connectors).
    indexer: Arc<crate::indexing::Indexer>,
    /// Where start-up indexing stands (for `GET /ready`).
    startup: crate::indexing::startup::Startup,
    /// The handoff queue and its operators.
    handoffs: Arc<crate::handoff::Handoffs>,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("SMOOTH_AGENT_STORAGE={0} is not available in this build")]
    StorageUnavailable(&'static str),
    #[error("SMOOTH_AGENT_DATABASE_URL: {0}")]
    Storage(String),
    /// The SQLite file could not be opened, or another server holds it.
    #[error("SMOOTH_AGENT_STORAGE=sqlite: {0}")]
    Sqlite(String),
    /// The table, or the service behind it, could not be reached or created.
    #[error(
        "SMOOTH_AGENT_STORAGE=dynamodb (SMOOTH_AGENT_DDB_TABLE, SMOOTH_AGENT_DDB_ENDPOINT, AWS credentials): {0}"
    )]
    DynamoDb(String),
    #[error("SMOOTH_AGENT_CONFIG: {0}")]
    AgentFile(#[from] switchboard_agent::config::AgentFileError),
    #[error("SMOOAI_GATEWAY_URL: cannot set up the gateway client: {0}")]
    Gateway(switchboard_agent::llm::LlmError),
    #[error("knowledge: {0}")]
    Knowledge(String),
    #[error("{0}")]
    Http(String),
    #[error("{0}")]
    Auth(String),
    #[error("SMOOTH_AGENT_BACKPLANE={0} is not available in this build")]
    BackplaneUnavailable(&'static str),
    #[error("SMOOTH_AGENT_BACKPLANE_URL: {0}")]
    Backplane(String),
    #[error("SMOOTH_AGENT_CONFIG: {0}")]
    Widget(String),
    /// An agent's MCP servers cannot be used as configured (a tool name clash, a
    /// header naming an unset variable).
    #[error("SMOOTH_AGENT_CONFIG: {0}")]
    Mcp(String),
}

/// Opens the store `SMOOTH_AGENT_STORAGE` selects, and says where its knowledge
/// base lives (PostgreSQL and DynamoDB keep it beside the store, on the same
/// connection).
pub(crate) async fn open_store(
    storage: &StorageConfig,
) -> Result<(Arc<dyn Store>, KnowledgeHome), StartupError> {
    match storage {
        StorageConfig::Memory => Ok((Arc::new(MemoryStore::new()), KnowledgeHome::Memory)),
        // The conversation store and the knowledge base share the file: the store
        // holds the file's lock; the knowledge base has connections of its own.
        #[cfg(feature = "sqlite")]
        StorageConfig::Sqlite { path, durability } => {
            use crate::config::SqliteDurability;
            use switchboard_store_sqlite::{Durability, SqliteOptions};
            let options = SqliteOptions {
                durability: match durability {
                    SqliteDurability::Full => Durability::Full,
                    SqliteDurability::Process => Durability::Process,
                },
                ..SqliteOptions::default()
            };
            let store = switchboard_store_sqlite::SqliteStore::open(path, options)
                .await
                .map_err(|e| StartupError::Sqlite(e.to_string()))?;
            let pool = switchboard_store_sqlite::knowledge::open_pool(path)
                .await
                .map_err(|e| StartupError::Sqlite(e.to_string()))?;
            let home = KnowledgeHome::Sqlite {
                pool,
                store: Some(store.clone()),
            };
            Ok((Arc::new(store), home))
        }
        #[cfg(feature = "postgres")]
        StorageConfig::Postgres { url, rank_fusion } => {
            use secrecy::ExposeSecret;
            let store = switchboard_store_postgres::PostgresStore::connect(
                url.expose_secret(),
                switchboard_store_postgres::PoolOptions::default(),
            )
            .await
            .map_err(|e| StartupError::Storage(e.to_string()))?;
            let home = KnowledgeHome::Postgres {
                store: store.clone(),
                rank_fusion: *rank_fusion,
            };
            Ok((Arc::new(store), home))
        }
        #[cfg(feature = "dynamodb")]
        StorageConfig::DynamoDb { .. } => {
            let store = open_dynamodb(storage).await?;
            let home = KnowledgeHome::DynamoDb(store.clone());
            Ok((Arc::new(store), home))
        }
        #[allow(unreachable_patterns)]
        other => Err(StartupError::StorageUnavailable(other.label())),
    }
}

/// The DynamoDB table `storage` names, created when absent.
#[cfg(feature = "dynamodb")]
async fn open_dynamodb(
    storage: &StorageConfig,
) -> Result<switchboard_store_dynamodb::DynamoStore, StartupError> {
    // Boxed: the AWS SDK's futures are deep, and every test that boots the server
    // would otherwise carry their layout.
    Box::pin(connect_dynamodb(storage)).await
}

#[cfg(feature = "dynamodb")]
async fn connect_dynamodb(
    storage: &StorageConfig,
) -> Result<switchboard_store_dynamodb::DynamoStore, StartupError> {
    let StorageConfig::DynamoDb { table, endpoint } = storage else {
        return Err(StartupError::DynamoDb("not the configured storage".into()));
    };
    let config = switchboard_store_dynamodb::DynamoConfig {
        table: table.clone(),
        endpoint: endpoint.clone(),
    };
    switchboard_store_dynamodb::DynamoStore::connect(&config)
        .await
        .map_err(|e| StartupError::DynamoDb(e.to_string()))
}

/// Joins the other replicas through the bus `SMOOTH_AGENT_BACKPLANE` selects; an
/// unreachable broker stops start-up.
async fn open_hub(
    backplane: &BackplaneConfig,
    parking: switchboard_agent::turn::Parking,
    streams: Arc<crate::replay::TurnStreams>,
    stop: CancellationToken,
    metrics: &Arc<crate::telemetry::Metrics>,
) -> Result<Arc<Hub>, StartupError> {
    match connect_bus(backplane).await? {
        None => Ok(Hub::local(parking, streams)),
        Some(bus) => {
            let bus = Arc::new(crate::telemetry::MeteredBus::new(bus, metrics.clone()));
            Hub::joined(bus, parking, streams, stop)
                .await
                .map_err(|e| StartupError::Backplane(e.to_string()))
        }
    }
}

/// The bus to the other replicas; `None` for a single replica.
#[cfg_attr(
    not(any(feature = "redis", feature = "nats")),
    allow(unreachable_code, unused_variables)
)]
async fn connect_bus(
    backplane: &BackplaneConfig,
) -> Result<Option<Arc<dyn switchboard_core::Bus>>, StartupError> {
    #[cfg(any(feature = "redis", feature = "nats"))]
    use secrecy::ExposeSecret;
    let failed = |e: switchboard_core::BusError| StartupError::Backplane(e.to_string());
    Ok(Some(match backplane {
        BackplaneConfig::Memory => return Ok(None),
        #[cfg(feature = "redis")]
        BackplaneConfig::Redis { url, channel } => Arc::new(
            switchboard_backplane_redis::RedisBus::connect(url.expose_secret(), channel.clone())
                .await
                .map_err(failed)?,
        ),
        #[cfg(feature = "nats")]
        BackplaneConfig::Nats { url, channel } => Arc::new(
            switchboard_backplane_nats::NatsBus::connect(url.expose_secret(), channel.clone())
                .await
                .map_err(failed)?,
        ),
        #[allow(unreachable_patterns)]
        other => return Err(StartupError::BackplaneUnavailable(other.label())),
    }))
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

/// The models the configuration names: the only ones that get their own metrics
/// label (a client may ask for any model; those count as `other`).
fn configured_models(config: &Config, file: &AgentFile) -> Vec<String> {
    let mut models = vec![config.model.clone(), config.judge_model.clone()];
    models.extend(file.agents.iter().filter_map(|a| a.model.clone()));
    models
}

/// The agent configuration file `SMOOTH_AGENT_CONFIG` names, if any.
fn load_agent_file(config: &Config) -> Result<AgentFile, StartupError> {
    Ok(match &config.agent_config {
        Some(path) => AgentFile::load(path)?,
        None => AgentFile::default(),
    })
}

/// The built-in one-time-code service, when a delivery is configured.
///
/// Also fixes the process's phone region (identity intake reads numbers in it
/// too); the first server of a process sets it.
fn otp_service(config: &Config, store: &Arc<dyn Store>) -> Option<Arc<dyn OtpService>> {
    if let Some(region) = switchboard_agent::phone::region(&config.otp_options.phone_region) {
        switchboard_agent::phone::set_default_region(region);
    }
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
            security,
            username,
            password,
            allow_insecure_auth,
        } => {
            let mut smtp = SmtpDelivery::new(host.clone(), *port, from.clone(), *security)
                .allow_insecure_auth(*allow_insecure_auth);
            if let (Some(user), Some(password)) = (username, password) {
                smtp = smtp.with_credentials(user.clone(), password.clone());
            }
            Arc::new(smtp)
        }
    };
    let options = &config.otp_options;
    Some(Arc::new(
        BuiltinOtp::new(store.clone(), delivery, options.settings.clone())
            .with_key(options.key.key()),
    ))
}

impl AppState {
    /// Builds the state the configuration asks for.
    pub async fn new(config: Config) -> Result<Self, StartupError> {
        let (store, home) = open_store(&config.storage).await?;
        let file = load_agent_file(&config)?;
        Self::build(config, store, file, home).await
    }

    /// State over a store the caller built (tests, embedding hosts). Reads the agent
    /// configuration file and sets up the LLM provider and knowledge base.
    /// Its knowledge base is in memory.
    pub async fn with_store(config: Config, store: Arc<dyn Store>) -> Result<Self, StartupError> {
        let file = load_agent_file(&config)?;
        Self::with_parts(config, store, file).await
    }

    /// State with an agent configuration given directly (tests). Unlike
    /// [`AppState::new`], it fills the knowledge base before returning, and a
    /// source that cannot be read is an error.
    pub async fn with_parts(
        config: Config,
        store: Arc<dyn Store>,
        file: AgentFile,
    ) -> Result<Self, StartupError> {
        let state = Self::build(config, store, file, KnowledgeHome::Memory).await?;
        if let Err(e) = state.startup_indexing().finished().await {
            // Ends the background work this state started.
            state.inner.shutdown.cancel();
            return Err(e);
        }
        Ok(state)
    }

    async fn build(
        config: Config,
        store: Arc<dyn Store>,
        file: AgentFile,
        home: KnowledgeHome,
    ) -> Result<Self, StartupError> {
        let auth = Authenticator::new(&config.auth)
            .await
            .map_err(StartupError::Auth)?;
        let http = switchboard_agent::http::try_client().map_err(StartupError::Http)?;
        let metrics = Arc::new(crate::telemetry::Metrics::new(configured_models(
            &config, &file,
        )));
        let observe = switchboard_agent::observe::Observe(metrics.clone());
        let llm: Arc<dyn LlmProvider> = match &config.gateway {
            Some(gateway) => {
                let mut settings = GatewaySettings::new(gateway.url.clone(), gateway.key.clone());
                settings.first_byte_timeout = gateway.timeout;
                settings.idle_timeout = gateway.timeout;
                Arc::new(
                    GatewayClient::new(settings)
                        .map_err(StartupError::Gateway)?
                        .observed(observe.clone()),
                )
            }
            None => Arc::new(OfflineResponder),
        };
        let widget =
            WidgetAuth::from_config(&config.widget, &file, &http).map_err(StartupError::Widget)?;
        let (retriever, plan) = crate::knowledge::build(&config, &file, &http, home).await?;
        let shutdown = CancellationToken::new();
        let indexer = crate::indexing::Indexer::new(
            store.clone(),
            retriever.base().clone(),
            config.indexing_concurrency,
            shutdown.clone(),
        );
        crate::sweeper::spawn(store.clone(), config.park_timeout, shutdown.clone());
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
        let notifier =
            crate::handoff::notify::Notifier::from_config(&config).map_err(StartupError::Http)?;
        let handoffs = Arc::new(crate::handoff::Handoffs::new(store.clone(), notifier));
        let mcp = McpTools::start(
            &file,
            McpStart {
                lookup: &crate::config::named_env,
                auth_tools: &config.auth_tools,
                shutdown: shutdown.clone(),
            },
        )
        .await
        .map_err(|e| {
            shutdown.cancel();
            StartupError::Mcp(e)
        })?;
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
                turn_timeout: config.turn_timeout,
                judge_model: config.gateway.as_ref().map(|_| config.judge_model.clone()),
            },
            mcp,
        })
        .observed(observe)
        .with_handoff(handoffs.clone());
        // A stream heard of from another replica is dropped once it has been silent
        // longer than any turn can be: its replica died or its end was lost.
        let streams = crate::replay::TurnStreams::new(
            config.resume,
            config.turn_timeout + config.park_timeout + config.resume.window.unwrap_or_default(),
            store.clone(),
        );
        let hub = open_hub(
            &config.backplane,
            runtime.parking().clone(),
            streams,
            shutdown.clone(),
            &metrics,
        )
        .await
        .inspect_err(|_| shutdown.cancel())?;
        handoffs.join(hub.clone());
        // Last, so nothing after it can fail and leave it running.
        let startup = crate::indexing::startup::spawn(indexer.clone(), plan, shutdown.clone());
        Ok(Self {
            inner: Arc::new(Inner {
                ip_slots: crate::ws::PerIpSlots::new(config.max_connections_per_ip),
                pending_slots: crate::ws::PerIpSlots::new(config.max_pending_per_ip),
                config,
                auth,
                hub,
                store,
                runtime: Arc::new(runtime),
                widget,
                http,
                admin: crate::admin::Cache::new().map_err(StartupError::Http)?,
                shutdown,
                connections: TaskTracker::new(),
                metrics,
                indexer,
                startup,
                handoffs,
            }),
        })
    }

    /// What `GET /metrics` shows; the server's parts record into it.
    pub fn metrics(&self) -> &Arc<crate::telemetry::Metrics> {
        &self.inner.metrics
    }

    /// Where indexing the configuration's knowledge at start-up stands.
    pub fn startup_indexing(&self) -> &crate::indexing::startup::Startup {
        &self.inner.startup
    }

    /// The handoff queue and its operators' actions.
    pub fn handoffs(&self) -> &Arc<crate::handoff::Handoffs> {
        &self.inner.handoffs
    }

    /// Every indexing run of this server.
    pub fn indexer(&self) -> &Arc<crate::indexing::Indexer> {
        &self.inner.indexer
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Verifies connection and admin tokens.
    pub fn auth(&self) -> &Authenticator {
        &self.inner.auth
    }

    /// This replica's sockets by target; publishing reaches every replica's.
    pub fn hub(&self) -> &Arc<Hub> {
        &self.inner.hub
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    pub fn runtime(&self) -> &Arc<AgentRuntime> {
        &self.inner.runtime
    }

    /// Which pages may open sessions with which agents.
    pub fn widget(&self) -> &WidgetAuth {
        &self.inner.widget
    }

    /// The knowledge base turns retrieve from (and the admin API ingests into).
    pub fn knowledge(&self) -> &Arc<dyn switchboard_knowledge::KnowledgeBase> {
        self.inner.runtime.retriever().base()
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    pub(crate) fn admin_cache(&self) -> &crate::admin::Cache {
        &self.inner.admin
    }

    /// Cancelled when shutdown begins.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.inner.shutdown.clone()
    }

    /// Open connections per client address (counted from accept).
    pub fn ip_slots(&self) -> &crate::ws::PerIpSlots {
        &self.inner.ip_slots
    }

    /// Connections per client address that are not (yet) WebSockets.
    pub fn pending_slots(&self) -> &crate::ws::PerIpSlots {
        &self.inner.pending_slots
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
