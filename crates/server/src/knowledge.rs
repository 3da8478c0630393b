//! The knowledge base at start-up: the embedder, the index, everything to ingest,
//! reranking, and periodic refreshes of sources.
//!
//! Ingestion happens before the server listens, so a misconfigured source or
//! embedder stops start-up with a clear message instead of serving without it.

use crate::config::{Config, EmbeddingsConfig, RerankConfig};
use crate::state::StartupError;
use secrecy::ExposeSecret;
use std::sync::Arc;
use std::time::Duration;
use switchboard_agent::AgentFile;
use switchboard_knowledge::source::{Source, SourceConfig};
use switchboard_knowledge::{
    Document, Embedder, GatewayEmbedder, GatewayReranker, HashingEmbedder, KnowledgeBase,
    KnowledgeIndex, Reranker, Retriever,
};
use tokio_util::sync::CancellationToken;

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
    #[cfg(feature = "sqlite")]
    Sqlite(switchboard_store_sqlite::SqlitePool),
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
            KnowledgeHome::Sqlite(pool) => {
                use switchboard_store_sqlite::{KnowledgeOptions, SqliteKnowledge};
                Arc::new(
                    SqliteKnowledge::connect(pool, embedder, KnowledgeOptions::default())
                        .await
                        .map_err(|e| StartupError::Knowledge(e.to_string()))?,
                )
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

/// A source to re-ingest on a schedule.
pub struct Refresh {
    source: Box<dyn Source>,
    every: Duration,
}

/// Builds and fills the knowledge base the configuration describes.
pub async fn build(
    config: &Config,
    file: &AgentFile,
    http: &reqwest::Client,
    home: KnowledgeHome,
) -> Result<(Retriever, Vec<Refresh>), StartupError> {
    let index = open(config, http, home).await?;
    if config.seed_kb {
        ingest(&*index, "seed", switchboard_knowledge::demo_documents()).await?;
    }
    let entries: Vec<Document> = file.knowledge.iter().map(|e| e.document()).collect();
    if !entries.is_empty() {
        ingest(&*index, "config", entries).await?;
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
    let mut refreshes = Vec::new();
    for source_config in from_env.chain(file.sources.iter().cloned()) {
        let source = source_config
            .build(http.clone())
            .map_err(|e| StartupError::Knowledge(e.to_string()))?;
        let documents = source
            .fetch()
            .await
            .map_err(|e| StartupError::Knowledge(format!("source '{}': {e}", source.key())))?;
        ingest(&*index, source.key(), documents).await?;
        if let Some(secs) = source_config.refresh_secs.filter(|s| *s > 0) {
            refreshes.push(Refresh {
                source,
                every: Duration::from_secs(secs),
            });
        }
    }
    Ok((Retriever::new(index, reranker(config, http)), refreshes))
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

async fn ingest(
    index: &dyn KnowledgeBase,
    source: &str,
    documents: Vec<Document>,
) -> Result<(), StartupError> {
    let report = index.ingest_source(source, documents).await.map_err(|e| {
        StartupError::Knowledge(format!(
            "source '{source}': {e} (with a gateway that serves no embeddings, set SMOOTH_AGENT_EMBEDDINGS=offline)"
        ))
    })?;
    tracing::info!(
        source,
        documents = report.indexed,
        chunks = report.chunks,
        "knowledge ingested"
    );
    Ok(())
}

/// Re-ingests each scheduled source until shutdown. A failed refresh keeps what
/// the source had and is logged; the next one tries again.
pub fn spawn_refreshes(
    retriever: &Retriever,
    refreshes: Vec<Refresh>,
    shutdown: CancellationToken,
) {
    for refresh in refreshes {
        let index = retriever.base().clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(refresh.every) => {}
                }
                let key = refresh.source.key().to_owned();
                match refresh.source.fetch().await {
                    Ok(documents) => match index.ingest_source(&key, documents).await {
                        Ok(report) => tracing::info!(
                            source = %key,
                            indexed = report.indexed,
                            unchanged = report.unchanged,
                            removed = report.removed,
                            "knowledge refreshed"
                        ),
                        Err(e) => {
                            tracing::error!(source = %key, error = %e, "knowledge refresh failed")
                        }
                    },
                    Err(e) => {
                        tracing::error!(source = %key, error = %e, "knowledge refresh failed")
                    }
                }
            }
        });
    }
}
