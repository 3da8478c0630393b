//! Switchboard's [`Store`](switchboard_core::Store) and
//! [`KnowledgeBase`](switchboard_knowledge::KnowledgeBase) on one DynamoDB table.
//!
//! [`DynamoStore::connect`] creates the table when it is absent and waits until it
//! and its indexes are active. The key layout is in `keys.rs`; writes that two
//! replicas could race (session creation, taking a parked turn, spending an OTP
//! attempt, claiming names) are conditional, so exactly one of them wins.

mod admin;
mod bounds;
mod create;
mod error;
mod handoff;
mod item;
mod keys;
mod knowledge;
mod lease;
mod pages;
mod store;
mod table;
mod throttle;

pub use knowledge::DynamoKnowledge;

use aws_sdk_dynamodb::Client;
use switchboard_core::StoreError;

/// Where the table is and how to reach it. Region and credentials come from the
/// standard AWS chain (environment, profile, web identity, container, instance).
#[derive(Debug, Clone)]
pub struct DynamoConfig {
    pub table: String,
    /// A DynamoDB-compatible server to use instead of AWS (DynamoDB Local, moto).
    pub endpoint: Option<String>,
}

/// The DynamoDB store: a client and the name of its table.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    /// Loads the AWS configuration, then opens (and if needed creates) the table.
    pub async fn connect(config: &DynamoConfig) -> Result<Self, StoreError> {
        Self::open(client_from_env(config).await, &config.table).await
    }

    /// Opens `table` through a client the caller configured (tests, embedding hosts),
    /// creating it when absent.
    pub async fn open(client: Client, table: &str) -> Result<Self, StoreError> {
        table::ensure(&client, table).await?;
        Ok(Self {
            client,
            table: table.to_owned(),
        })
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }
}

/// The HTTP client the SDK uses: rustls with ring (the SDK's default builds aws-lc).
fn http_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// A client for a local DynamoDB-compatible server (DynamoDB Local, moto) at
/// `endpoint`, with fixed dummy credentials, which such servers accept. For tests
/// and benchmarks; servers use [`client_from_env`].
pub fn local_client(endpoint: &str) -> Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "local", "local", None, None, "local",
        ))
        .http_client(http_client())
        .build();
    Client::from_conf(config)
}

/// A client from the standard AWS chain, over rustls with ring. With an endpoint
/// override and no region configured, the region defaults to `us-east-1`, which
/// local servers accept.
pub async fn client_from_env(config: &DynamoConfig) -> Client {
    let mut loader =
        aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http_client());
    if let Some(endpoint) = &config.endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    let shared = loader.load().await;
    let mut builder = aws_sdk_dynamodb::config::Builder::from(&shared);
    if shared.region().is_none() && config.endpoint.is_some() {
        builder = builder.region(aws_sdk_dynamodb::config::Region::new("us-east-1"));
    }
    Client::from_conf(builder.build())
}
