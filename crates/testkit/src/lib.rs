//! Test harness for Switchboard.
//!
//! - [`spawn_app`] boots the real server on an ephemeral port with fresh state.
//! - [`TestClient`] talks to it over a real WebSocket and checks every event it
//!   receives against the JSON Schemas in `spec/`, so schema drift fails tests.
//! - [`conformance`] replays the protocol's conformance scenarios.

pub mod conformance;
pub mod dynamodb;
pub mod events;
pub mod mock_gateway;
pub mod postgres;
pub mod process;
mod schema;
pub mod smtp_sink;
mod test_client;

pub use schema::{Schemas, schemas, spec_dir};
pub use test_client::TestClient;

use std::net::SocketAddr;
use std::sync::Arc;
use switchboard_core::{MemoryStore, Store};
use switchboard_server::{AppState, Config, serve};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A running server on 127.0.0.1 and an ephemeral port.
pub struct TestApp {
    pub addr: SocketAddr,
    pub state: AppState,
    stop: CancellationToken,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

/// Boots a server with test defaults: memory store, no gateway.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(Config::for_tests()).await
}

/// Boots a server with `config` (its `port` is ignored: tests always use port 0).
pub async fn spawn_app_with(config: Config) -> TestApp {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    spawn_state(
        AppState::with_store(config, store)
            .await
            .expect("valid test configuration"),
    )
    .await
}

/// Boots a server with an agent configuration given as JSON (the file's format).
pub async fn spawn_app_with_agent(config: Config, agent_file: serde_json::Value) -> TestApp {
    let file =
        switchboard_agent::AgentFile::from_json(agent_file).expect("valid agent configuration");
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    spawn_state(
        AppState::with_parts(config, store, file)
            .await
            .expect("valid test configuration"),
    )
    .await
}

/// Test configuration pointing at a mock gateway.
pub fn config_for(gateway: &mock_gateway::MockGateway) -> Config {
    let mut config = Config::for_tests();
    config.gateway = Some(switchboard_server::config::GatewayConfig {
        url: gateway.url(),
        key: None,
        timeout: std::time::Duration::from_secs(10),
    });
    config
}

/// Boots a server over state the test built itself.
pub async fn spawn_state(state: AppState) -> TestApp {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind an ephemeral port");
    let addr = listener.local_addr().expect("local address");
    let stop = CancellationToken::new();
    let task = tokio::spawn(serve(
        listener,
        state.clone(),
        stop.clone().cancelled_owned(),
    ));
    TestApp {
        addr,
        state,
        stop,
        task: Some(task),
    }
}

impl TestApp {
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// A new schema-validating client connection.
    pub async fn client(&self) -> TestClient {
        TestClient::connect(&self.ws_url()).await
    }

    /// Stores a message in a session's conversation directly, as earlier turns would
    /// have.
    pub async fn store_message(
        &self,
        session_id: &str,
        direction: switchboard_core::Direction,
        text: &str,
    ) -> switchboard_core::Message {
        let store = self.state.store();
        let id = switchboard_core::SessionId::parse(session_id).expect("a session id");
        let session = store
            .get_session(id)
            .await
            .unwrap()
            .expect("the session exists");
        let conversation = store
            .get_conversation(session.conversation_id)
            .await
            .unwrap()
            .expect("the conversation exists");
        let message = switchboard_core::Message::new(&conversation, direction, text.to_owned());
        store.append_message(&message).await.expect("append");
        message
    }

    /// Triggers a graceful shutdown and waits for `serve` to return.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        self.stop.cancel();
        match self.task.take() {
            Some(task) => task.await.expect("serve task panicked"),
            None => Ok(()),
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
