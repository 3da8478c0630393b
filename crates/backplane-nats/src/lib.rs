//! Switchboard's cross-replica [`Bus`] on NATS core publish/subscribe.
//!
//! One client connection carries publishing and every subscription; the client
//! reconnects by itself and restores subscriptions. Core NATS keeps nothing: what is
//! published while a replica is disconnected is lost to it, which suits events for
//! live sockets.

use futures_util::StreamExt;
use std::time::Duration;
use switchboard_core::backplane::SUBSCRIBER_BUFFER;
use switchboard_core::{Bus, BusError};
use tokio::sync::mpsc;

pub struct NatsBus {
    client: async_nats::Client,
    subject: String,
}

fn unavailable(context: &str, error: impl std::fmt::Display) -> BusError {
    BusError::Unavailable(format!("nats: {context}: {error}"))
}

impl NatsBus {
    /// Connects to `url` (`nats://host:4222`, comma-separated for a cluster); an
    /// unreachable server is an error, so a wrong address stops start-up.
    pub async fn connect(url: &str, subject: impl Into<String>) -> Result<Self, BusError> {
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(5))
            .name("switchboard")
            .connect(url)
            .await
            .map_err(|e| unavailable("cannot connect", e))?;
        Ok(Self {
            client,
            subject: subject.into(),
        })
    }
}

#[async_trait::async_trait]
impl Bus for NatsBus {
    fn label(&self) -> &'static str {
        "nats"
    }

    async fn publish(&self, message: Vec<u8>) -> Result<(), BusError> {
        self.client
            .publish(self.subject.clone(), message.into())
            .await
            .map_err(|e| unavailable("publish failed", e))
    }

    async fn subscribe(&self) -> Result<mpsc::Receiver<Vec<u8>>, BusError> {
        let mut subscriber = self
            .client
            .subscribe(self.subject.clone())
            .await
            .map_err(|e| unavailable("subscribe failed", e))?;
        // The subscription is registered with the server once the client has
        // flushed it: after this, nothing published is missed.
        self.client
            .flush()
            .await
            .map_err(|e| unavailable("flush failed", e))?;
        let (tx, rx) = mpsc::channel(SUBSCRIBER_BUFFER);
        tokio::spawn(async move {
            while let Some(message) = subscriber.next().await {
                if tx.send(message.payload.to_vec()).await.is_err() {
                    let _ = subscriber.unsubscribe().await;
                    return;
                }
            }
        });
        Ok(rx)
    }
}
