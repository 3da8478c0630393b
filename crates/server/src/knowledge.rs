//! The knowledge base at start-up: the embedder, the index, reranking, and the plan
//! of what to ingest (which [`crate::indexing::startup`] ingests in the background,
//! while the server already serves).
//!
//! A misconfigured source stops start-up with a clear message; one that cannot be
//! read keeps `GET /ready` at 503 and is retried.

use crate::config::{Config, EmbeddingsConfig, RerankConfig};
use crate::indexing::CountingEmbedder;
use crate::indexing::startup::{Fixed, Planned};
use crate::state::StartupError;
use secrecy::ExposeSecret;
use std::sync::Arc;
use std::time::Duration;
use switchboard_agent::AgentFile;
use switchboard_knowledge::source::SourceConfig;
use switchboard_knowledge::{
    Document, Embedder, GatewayEmbedder, GatewayReranker, HashingEmbedder, KnowledgeBase,
    KnowledgeIndex, Reranker, Retriever,
};

/// Where the knowledge base keeps documents and chunks: beside the store.
pub enum KnowledgeHome {
    /// In this process, rebuilt at every start.
    Memory,
    /// In the store's PostgreSQL database (pgvector), shared by every replica.
    #[cfg(feature = "postgres")]
    Postgres {
        store: switchboard_store_postgres::PostgresStore,
        /// Fuse by reciprocal rank instead of relative score.
        rank_fusion: bool,
    },
    /// In the store's SQLite file (FTS5 and vectors as blobs), kept across restarts.
    /// `store`: the store open on the same file in this process, when there is
    /// one (the server; not `switchboard ingest`).
    #[cfg(feature = "sqlite")]
    Sqlite {
        pool: switchboard_store_sqlite::SqlitePool,
        store: Option<switchboard_store_sqlite::SqliteStore>,
    },
    /// In the store's DynamoDB table; each replica searches a copy it keeps in step.
    #[cfg(feature = "dynamodb")]
    DynamoDb(switchboard_store_dynamodb::DynamoStore),
}

impl KnowledgeHome {
    async fn open(
        self,
        embedder: Arc<dyn Embedder>,
    ) -> Result<Arc<dyn KnowledgeBase>, StartupError> {
        Ok(match self {
            KnowledgeHome::Memory => Arc::new(KnowledgeIndex::new(embedder)),
            #[cfg(feature = "sqlite")]
            KnowledgeHome::Sqlite { pool, store } => {
                use switchboard_store_sqlite::{KnowledgeOptions, SqliteKnowledge};
                let knowledge =
                    SqliteKnowledge::connect(pool, embedder, KnowledgeOptions::default())
                        .await
                        .map_err(|e| StartupError::Knowledge(e.to_string()))?;
                Arc::new(match &store {
                    Some(store) => knowledge.reading_through(store),
                    None => knowledge,
                })
            }
            #[cfg(feature = "dynamodb")]
            KnowledgeHome::DynamoDb(store) => Arc::new(
                switchboard_store_dynamodb::DynamoKnowledge::new(store, embedder),
            ),
            #[cfg(feature = "postgres")]
            KnowledgeHome::Postgres { store, rank_fusion } => {
                use switchboard_store_postgres::{Fusion, KnowledgeOptions, PostgresKnowledge};
                let options = KnowledgeOptions {
                    fusion: if rank_fusion {
                        Fusion::ReciprocalRank
                    } else {
                        Fusion::Score
                    },
                    ..KnowledgeOptions::default()
                };
                Arc::new(
                    PostgresKnowledge::connect(store.pool().clone(), embedder, options)
                        .await
                        .map_err(|e| StartupError::Knowledge(e.to_string()))?,
                )
            }
        })
    }
}

/// The knowledge base in `home`, with the embedder the configuration names (the
/// server at start-up and `switchboard ingest` open it the same way).
pub async fn open(
    config: &Config,
    http: &reqwest::Client,
    home: KnowledgeHome,
) -> Result<Arc<dyn KnowledgeBase>, StartupError> {
    home.open(embedder(config, http)).await
}

/// Opens the knowledge base the configuration describes and plans what goes into
/// it at start-up; [`crate::indexing::startup`] fills it in the background. A
/// source that is misconfigured stops start-up here; one that cannot be read is
/// retried in the background.
pub async fn build(
    config: &Config,
    file: &AgentFile,
    http: &reqwest::Client,
    home: KnowledgeHome,
) -> Result<(Retriever, Vec<Planned>), StartupError> {
    // Counting what is embedded gives indexing runs their progress.
    let embedder = Arc::new(CountingEmbedder(embedder(config, http)));
    let index = home.open(embedder).await?;
    let mut plan = Vec::new();
    let fixed = |key: &str, documents: Vec<Document>| Planned {
        source: Arc::new(Fixed {
            key: key.to_owned(),
            documents,
        }),
        refresh: None,
    };
    if config.seed_kb {
        plan.push(fixed("seed", switchboard_knowledge::demo_documents()));
    }
    let entries: Vec<Document> = file.knowledge.iter().map(|e| e.document()).collect();
    if !entries.is_empty() {
        plan.push(fixed("config", entries));
    }
    let from_env = config.knowledge_paths.iter().map(|path| SourceConfig {
        name: None,
        path: Some(path.display().to_string()),
        url: None,
        crawl: None,
        github: None,
        org: None,
        acl: Default::default(),
        sets: Vec::new(),
        refresh_secs: None,
    });
    for source_config in from_env.chain(file.sources.iter().cloned()) {
        let source = source_config
            .build(http.clone())
            .map_err(|e| StartupError::Knowledge(e.to_string()))?;
        plan.push(Planned {
            source: Arc::from(source),
            refresh: source_config
                .refresh_secs
                .filter(|s| *s > 0)
                .map(Duration::from_secs),
        });
    }
    Ok((Retriever::new(index, reranker(config, http)), plan))
}

fn embedder(config: &Config, http: &reqwest::Client) -> Arc<dyn Embedder> {
    match (&config.embeddings, &config.gateway) {
        (EmbeddingsConfig::Gateway { model }, Some(gateway)) => Arc::new(GatewayEmbedder::new(
            http.clone(),
            &gateway.url,
            gateway.key.as_ref().map(|k| k.expose_secret().to_owned()),
            model.clone(),
        )),
        _ => Arc::new(HashingEmbedder::default()),
    }
}

fn reranker(config: &Config, http: &reqwest::Client) -> Option<Reranker> {
    match (&config.rerank, &config.gateway) {
        (RerankConfig::Off, _) => None,
        (RerankConfig::Lexical, _) | (RerankConfig::Gateway { .. }, None) => {
            Some(Reranker::Lexical)
        }
        (RerankConfig::Gateway { model }, Some(gateway)) => {
            Some(Reranker::Gateway(GatewayReranker::new(
                http.clone(),
                &gateway.url,
                gateway.key.as_ref().map(|k| k.expose_secret().to_owned()),
                model.clone(),
            )))
        }
    }
}
