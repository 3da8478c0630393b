//! The cross-replica seam: a [`Bus`] carries messages between the replicas of one
//! deployment, so an event published on any replica reaches sockets on every one.
//!
//! A bus only moves bytes, in order, best-effort: what travels on it (events for a
//! target, notices that a parked turn was taken) is the server's business. The
//! in-process bus serves a single replica; Redis and NATS live in their own crates.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc};

/// Who a published event is for. The wire form is externally tagged, as the
/// existing servers write it: `{"Session": "<id>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Target {
    Connection(String),
    Session(String),
    User(String),
    Org(String),
    Agent(String),
    /// Every socket with a session on this conversation (its visitor's tabs).
    Conversation(String),
}

impl Target {
    /// From the admin API's `{type, id}` form (`type` case-insensitive).
    pub fn from_parts(kind: &str, id: impl Into<String>) -> Option<Self> {
        let id = id.into();
        Some(match kind.to_ascii_lowercase().as_str() {
            "connection" => Self::Connection(id),
            "session" => Self::Session(id),
            "user" => Self::User(id),
            "org" => Self::Org(id),
            "agent" => Self::Agent(id),
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum BusError {
    /// The broker cannot be reached or refused the operation.
    #[error("{0}")]
    Unavailable(String),
}

/// How many messages a subscriber may fall behind before it starts losing them.
pub const SUBSCRIBER_BUFFER: usize = 4096;

/// Moves messages between replicas. Every subscriber, on every replica (the
/// publishing one included), receives every message published after it subscribed,
/// in the order each publisher sent them. Delivery is best-effort: a broker outage
/// loses what was published during it, and implementations reconnect by themselves.
#[async_trait]
pub trait Bus: Send + Sync + 'static {
    /// `memory`, `redis` or `nats`, for logs.
    fn label(&self) -> &'static str;

    /// Sends `message` to every subscriber. Returns once the broker has it.
    async fn publish(&self, message: Vec<u8>) -> Result<(), BusError>;

    /// Sends `messages`, in order. Brokers that can take several at once (a Redis
    /// pipeline) override this so a backlog costs one round trip, not one each.
    async fn publish_all(&self, messages: Vec<Vec<u8>>) -> Result<(), BusError> {
        for message in messages {
            self.publish(message).await?;
        }
        Ok(())
    }

    /// A new subscription. It is live once this returns.
    async fn subscribe(&self) -> Result<mpsc::Receiver<Vec<u8>>, BusError>;
}

/// The bus of a single replica: messages go from this process to itself.
#[derive(Clone)]
pub struct MemoryBus {
    sender: broadcast::Sender<Arc<Vec<u8>>>,
}

impl Default for MemoryBus {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(SUBSCRIBER_BUFFER).0,
        }
    }
}

#[async_trait]
impl Bus for MemoryBus {
    fn label(&self) -> &'static str {
        "memory"
    }

    async fn publish(&self, message: Vec<u8>) -> Result<(), BusError> {
        // No subscriber is not an error: nobody is listening yet.
        let _ = self.sender.send(Arc::new(message));
        Ok(())
    }

    async fn subscribe(&self) -> Result<mpsc::Receiver<Vec<u8>>, BusError> {
        let mut source = self.sender.subscribe();
        let (tx, rx) = mpsc::channel(SUBSCRIBER_BUFFER);
        tokio::spawn(async move {
            loop {
                match source.recv().await {
                    Ok(message) => {
                        if tx.send(message.as_ref().clone()).await.is_err() {
                            return;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        Ok(rx)
    }
}

/// The bus conformance suite: one set of checks every implementation passes. A
/// backend's tests call [`suite::run`] with a factory of buses on one fresh channel
/// (each call is another replica).
#[cfg(any(test, feature = "test-suite"))]
pub mod suite {
    use super::*;
    use std::time::Duration;

    const WAIT: Duration = Duration::from_secs(5);

    async fn next(rx: &mut mpsc::Receiver<Vec<u8>>) -> Vec<u8> {
        tokio::time::timeout(WAIT, rx.recv())
            .await
            .expect("a message within 5 s")
            .expect("the subscription is open")
    }

    /// Runs every check. `replica()` returns a new connection to the same channel.
    pub async fn run<F, Fut>(replica: F)
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Arc<dyn Bus>>,
    {
        let (a, b) = (replica().await, replica().await);
        let mut at_a = a.subscribe().await.expect("subscribe on a");
        let mut at_b = b.subscribe().await.expect("subscribe on b");

        // Every replica, the publishing one included, receives what one publishes.
        a.publish(b"hello".to_vec()).await.expect("publish");
        assert_eq!(next(&mut at_a).await, b"hello");
        assert_eq!(next(&mut at_b).await, b"hello");

        // In order, and intact however large or odd the bytes.
        let big: Vec<u8> = (0..256 * 1024).map(|i| (i % 251) as u8).collect();
        for i in 0..500u32 {
            b.publish(i.to_be_bytes().to_vec()).await.expect("publish");
        }
        b.publish(big.clone())
            .await
            .expect("publish a large message");
        for i in 0..500u32 {
            assert_eq!(
                next(&mut at_a).await,
                i.to_be_bytes(),
                "message {i} in order"
            );
        }
        assert_eq!(next(&mut at_a).await, big);

        // A batch arrives whole and in order, after what was published before it.
        a.publish(b"before".to_vec()).await.expect("publish");
        let batch: Vec<Vec<u8>> = (0..300u32).map(|i| i.to_le_bytes().to_vec()).collect();
        a.publish_all(batch.clone()).await.expect("publish a batch");
        assert_eq!(next(&mut at_a).await, b"before");
        for message in &batch {
            assert_eq!(&next(&mut at_a).await, message, "batch in order");
        }

        // A subscriber that went away does not hold up the others.
        drop(at_b);
        a.publish(b"after".to_vec()).await.expect("publish");
        assert_eq!(next(&mut at_a).await, b"after");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_keep_the_existing_wire_form() {
        let target = Target::Session("s-1".into());
        assert_eq!(
            serde_json::to_string(&target).unwrap(),
            r#"{"Session":"s-1"}"#
        );
        assert_eq!(
            Target::from_parts("AGENT", "a"),
            Some(Target::Agent("a".into()))
        );
        assert_eq!(Target::from_parts("room", "a"), None);
    }

    #[tokio::test]
    async fn the_memory_bus_passes_the_suite() {
        let bus: Arc<dyn Bus> = Arc::new(MemoryBus::default());
        suite::run(|| {
            let bus = bus.clone();
            async move { bus }
        })
        .await;
    }
}
