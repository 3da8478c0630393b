//! Switchboard's cross-replica [`Bus`] on Redis (or Valkey) publish/subscribe.
//!
//! Publishing goes through one auto-reconnecting multiplexed connection; each
//! subscription holds a dedicated pub/sub connection, re-established with backoff
//! when it drops. Redis pub/sub keeps nothing: what is published while a replica is
//! disconnected is lost to it, which suits events for live sockets.

use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::time::Duration;
use switchboard_core::backplane::SUBSCRIBER_BUFFER;
use switchboard_core::{Bus, BusError};
use tokio::sync::mpsc;

/// Waits between reconnection attempts of a subscription: doubling up to this.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

pub struct RedisBus {
    client: redis::Client,
    publisher: ConnectionManager,
    channel: String,
}

fn unavailable(context: &str, error: redis::RedisError) -> BusError {
    BusError::Unavailable(format!("redis: {context}: {error}"))
}

impl RedisBus {
    /// Connects to `url` (`redis://host:port/db`, `rediss://` for TLS, verified
    /// against the system's certificates or those `SSL_CERT_FILE` names) and checks the
    /// server answers, so a wrong address stops start-up rather than the first event.
    pub async fn connect(url: &str, channel: impl Into<String>) -> Result<Self, BusError> {
        // `rediss://` builds a rustls client from the process's default provider.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = redis::Client::open(url).map_err(|e| unavailable("invalid URL", e))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(5)))
            .set_response_timeout(Some(Duration::from_secs(5)))
            .set_number_of_retries(2);
        let mut publisher = ConnectionManager::new_with_config(client.clone(), config)
            .await
            .map_err(|e| unavailable("cannot connect", e))?;
        let _: String = redis::cmd("PING")
            .query_async(&mut publisher)
            .await
            .map_err(|e| unavailable("PING failed", e))?;
        Ok(Self {
            client,
            publisher,
            channel: channel.into(),
        })
    }

    /// A pub/sub connection subscribed to the channel.
    async fn subscription(&self) -> Result<redis::aio::PubSub, BusError> {
        subscribe(&self.client, &self.channel).await
    }
}

async fn subscribe(client: &redis::Client, channel: &str) -> Result<redis::aio::PubSub, BusError> {
    let mut pubsub = client
        .get_async_pubsub()
        .await
        .map_err(|e| unavailable("cannot open a subscription", e))?;
    pubsub
        .subscribe(channel)
        .await
        .map_err(|e| unavailable("SUBSCRIBE failed", e))?;
    Ok(pubsub)
}

#[async_trait::async_trait]
impl Bus for RedisBus {
    fn label(&self) -> &'static str {
        "redis"
    }

    async fn publish(&self, message: Vec<u8>) -> Result<(), BusError> {
        let mut connection = self.publisher.clone();
        let _receivers: i64 = redis::cmd("PUBLISH")
            .arg(&self.channel)
            .arg(message)
            .query_async(&mut connection)
            .await
            .map_err(|e| unavailable("PUBLISH failed", e))?;
        Ok(())
    }

    async fn publish_all(&self, messages: Vec<Vec<u8>>) -> Result<(), BusError> {
        let mut pipeline = redis::pipe();
        for message in messages {
            pipeline
                .cmd("PUBLISH")
                .arg(&self.channel)
                .arg(message)
                .ignore();
        }
        let mut connection = self.publisher.clone();
        pipeline
            .query_async::<()>(&mut connection)
            .await
            .map_err(|e| unavailable("PUBLISH failed", e))
    }

    async fn subscribe(&self) -> Result<mpsc::Receiver<Vec<u8>>, BusError> {
        let first = self.subscription().await?;
        let (tx, rx) = mpsc::channel(SUBSCRIBER_BUFFER);
        let (client, channel) = (self.client.clone(), self.channel.clone());
        tokio::spawn(async move {
            let mut pubsub = first;
            loop {
                let mut messages = pubsub.into_on_message();
                while let Some(message) = messages.next().await {
                    if tx.send(message.get_payload_bytes().to_vec()).await.is_err() {
                        return; // the subscriber went away
                    }
                }
                tracing::warn!(%channel, "redis subscription lost; reconnecting");
                pubsub = match resubscribe(&client, &channel, &tx).await {
                    Some(pubsub) => pubsub,
                    None => return,
                };
                tracing::info!(%channel, "redis subscription restored");
            }
        });
        Ok(rx)
    }
}

/// Subscribes again, backing off, until it works or the subscriber goes away.
async fn resubscribe(
    client: &redis::Client,
    channel: &str,
    tx: &mpsc::Sender<Vec<u8>>,
) -> Option<redis::aio::PubSub> {
    let mut backoff = Duration::from_millis(100);
    loop {
        if tx.is_closed() {
            return None;
        }
        match subscribe(client, channel).await {
            Ok(pubsub) => return Some(pubsub),
            Err(error) => tracing::debug!(%error, "redis resubscribe failed"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}
