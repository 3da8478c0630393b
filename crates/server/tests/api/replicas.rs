//! Two server processes on one PostgreSQL database, joined by Redis and again by
//! NATS, behave as one server: a session opened on one is used on the other, a turn
//! parked on one is answered on the other, and killing one loses nothing.

use serde_json::json;
use std::path::Path;
use std::time::Duration;
use switchboard_testkit::TestClient;
use switchboard_testkit::events::{reply, types};
use switchboard_testkit::mock_gateway::{MockGateway, ScriptedReply};
use switchboard_testkit::postgres::TestDatabase;
use switchboard_testkit::process::ServerProcess;

/// What joins the replicas: the backplane and its broker's URL.
#[derive(Clone, Copy)]
pub(crate) struct Broker {
    kind: &'static str,
    url: &'static str,
}

pub(crate) const REDIS: Broker = Broker {
    kind: "redis",
    url: "redis://127.0.0.1:6379",
};
pub(crate) const NATS: Broker = Broker {
    kind: "nats",
    url: "nats://127.0.0.1:4222",
};

pub(crate) struct Deployment {
    database: TestDatabase,
    pub(crate) gateway: MockGateway,
    broker: Broker,
    /// Unique per test, so runs sharing the broker never see each other.
    channel: String,
    config: std::path::PathBuf,
}

impl Deployment {
    pub(crate) async fn new(broker: Broker, script: Vec<ScriptedReply>) -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let config = std::env::temp_dir().join(format!("sb-replicas-{id}.json"));
        std::fs::write(
            &config,
            json!({"tools": [{"name": "delete_record", "description": "Delete a record",
                              "result": "Record 42 deleted."}],
                   "confirmTools": ["delete_record"]})
            .to_string(),
        )
        .unwrap();
        Self {
            database: TestDatabase::create("replicas"),
            gateway: MockGateway::builder()
                .script(script)
                .chunk_delay(Duration::from_millis(20))
                .start()
                .await,
            broker,
            channel: format!("switchboard-test.{id}"),
            config,
        }
    }

    pub(crate) async fn replica(&self) -> ServerProcess {
        self.replica_with(&[]).await
    }

    /// A replica with `extra` variables besides the deployment's.
    pub(crate) async fn replica_with(&self, extra: &[(&str, &str)]) -> ServerProcess {
        let (database, gateway) = (self.database.url(), self.gateway.url());
        let config = self.config.display().to_string();
        let mut env = vec![
            ("SMOOTH_AGENT_STORAGE", "postgres"),
            ("SMOOTH_AGENT_DATABASE_URL", &database),
            ("SMOOAI_GATEWAY_URL", &gateway),
            ("SMOOTH_AGENT_CONFIG", &config),
            ("SMOOTH_AGENT_BACKPLANE", self.broker.kind),
            ("SMOOTH_AGENT_BACKPLANE_URL", self.broker.url),
            ("SMOOTH_AGENT_BACKPLANE_CHANNEL", &self.channel),
            ("AUTH_MODE", "jwt"),
            ("AUTH_JWT_HS256_SECRET", crate::admin::SECRET),
        ];
        env.extend_from_slice(extra);
        ServerProcess::start(Path::new(env!("CARGO_BIN_EXE_switchboard")), &env)
            .await
            .unwrap_or_else(|e| panic!("a {} replica starts: {e}", self.broker.kind))
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        std::fs::remove_file(&self.config).ok();
    }
}

/// `http://host:port` of a replica.
fn http_base(replica: &ServerProcess) -> String {
    let ws = replica.url();
    let host = ws.trim_start_matches("ws://").trim_end_matches("/ws");
    format!("http://{host}")
}

/// A protocol event a service might push to a session's client.
fn pushed(text: &str) -> serde_json::Value {
    json!({"type": "stream_token", "requestId": "push",
           "data": {"requestId": "push", "token": text}})
}

fn texts(ack: &serde_json::Value) -> Vec<String> {
    ack["data"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"]["text"].as_str().unwrap().to_owned())
        .collect()
}

async fn two_replicas_behave_as_one(broker: Broker) {
    let deployment = Deployment::new(
        broker,
        vec![
            ScriptedReply::Text("Noted: order 123.".into()),
            ScriptedReply::Text("Your order is 123.".into()),
            ScriptedReply::ToolCall {
                name: "delete_record".into(),
                arguments: r#"{"id":"42"}"#.into(),
            },
            ScriptedReply::Text("Deleted, answered on the other replica.".into()),
            ScriptedReply::Text("Still here.".into()),
        ],
    )
    .await;
    let (a, b) = (deployment.replica().await, deployment.replica().await);

    // A session opened on A is used on B: read back, paged, and continued.
    let mut on_a = TestClient::connect(a.url()).await;
    let (session, conversation) = on_a.create_session().await;
    assert_eq!(
        reply(&on_a.turn("r1", &session, "my order is 123").await),
        "Noted: order 123."
    );
    let mut on_b = TestClient::connect(b.url()).await;
    let got = on_b
        .request("g", json!({"action": "get_session", "sessionId": session}))
        .await;
    assert_eq!(got["data"]["conversationId"], conversation.as_str());
    let page = on_b
        .request(
            "m",
            json!({"action": "get_conversation_messages", "sessionId": session}),
        )
        .await;
    assert_eq!(texts(&page), ["Noted: order 123.", "my order is 123"]);
    assert_eq!(
        reply(&on_b.turn("r2", &session, "what was my order?").await),
        "Your order is 123."
    );
    let history = serde_json::to_string(&deployment.gateway.requests()[1]["messages"]).unwrap();
    assert!(history.contains("Noted: order 123."), "B replayed A's turn");

    // A turn parked on A, while its client is still connected there, is answered
    // on B: it resumes on B from the stored state, and A lets go of it.
    on_a.send(
        json!({"action": "send_message", "requestId": "r3", "sessionId": session,
                     "message": "delete record 42"}),
    )
    .await;
    on_a.until("write_confirmation_required").await;
    on_b.send(
        json!({"action": "confirm_tool_action", "requestId": "c", "sessionId": session,
                     "approved": true}),
    )
    .await;
    let events = on_b.until_terminal("r3").await;
    assert_eq!(types(&events)[0], "immediate_response");
    assert_eq!(reply(&events), "Deleted, answered on the other replica.");
    // The confirmation was consumed once: a second answer, on either replica, finds
    // nothing pending.
    for client in [&mut on_a, &mut on_b] {
        let again = client
            .request(
                "c2",
                json!({"action": "confirm_tool_action", "sessionId": session, "approved": true}),
            )
            .await;
        assert_eq!(again["error"]["code"], "NO_PENDING_CONFIRMATION");
    }
    // A's connection is free again: its turn learned the park was taken elsewhere.
    let mut freed = false;
    for _ in 0..50 {
        let events = on_a.turn("r4", &session, "are you there?").await;
        if events
            .iter()
            .any(|e| e["error"]["code"] == "TURN_IN_PROGRESS")
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        assert_eq!(reply(&events), "Still here.");
        freed = true;
        break;
    }
    assert!(
        freed,
        "A's connection stayed busy with a turn answered elsewhere"
    );

    // An event published on A reaches B's client of the session, in order; A has no
    // socket of that session and says so.
    let (elsewhere, _) = on_b.create_session().await;
    let http = switchboard_agent::http::client();
    let publish = |n: usize| {
        http.post(format!("{}/admin/publish", http_base(&a)))
            .bearer_auth(crate::admin::token("ops", "reference-org", "admin"))
            .json(&json!({"target": {"type": "session", "id": elsewhere},
                          "event": pushed(&format!("notice {n}"))}))
            .send()
    };
    for n in 0..20 {
        let reply = publish(n).await.expect("A answers");
        assert_eq!(reply.status(), 200);
        let body: serde_json::Value = reply.json().await.unwrap();
        assert_eq!(body, json!({"delivered": 0}), "no socket of it on A");
    }
    for n in 0..20 {
        assert_eq!(on_b.next().await, pushed(&format!("notice {n}")));
    }

    // Killing A loses nothing: B has every acknowledged message.
    a.kill_hard().expect("killed");
    let mut after = TestClient::connect(b.url()).await;
    let page = after
        .request(
            "m2",
            json!({"action": "get_conversation_messages", "sessionId": session, "limit": 50}),
        )
        .await;
    assert_eq!(
        texts(&page),
        [
            "Still here.",
            "are you there?",
            "Deleted, answered on the other replica.",
            "delete record 42",
            "Your order is 123.",
            "what was my order?",
            "Noted: order 123.",
            "my order is 123",
        ]
    );
    b.stop().expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_redis_behave_as_one() {
    two_replicas_behave_as_one(REDIS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_nats_behave_as_one() {
    two_replicas_behave_as_one(NATS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_broker_stops_start_up() {
    let error = ServerProcess::start(
        Path::new(env!("CARGO_BIN_EXE_switchboard")),
        &[
            ("SMOOTH_AGENT_BACKPLANE", "redis"),
            ("SMOOTH_AGENT_BACKPLANE_URL", "redis://127.0.0.1:1"),
        ],
    )
    .await
    .err()
    .expect("no broker listens on port 1");
    // It exits at once rather than serve without its backplane.
    assert!(
        error.contains("exited") || error.contains("closed its output"),
        "{error}"
    );
}
