//! A server killed with SIGKILL in the middle of turns, then restarted: everything
//! it acknowledged is still there, and clients carry on. Run on every durable store
//! (PostgreSQL and DynamoDB, living outside the server process; SQLite, a file the
//! killed process had open).

use serde_json::json;
use std::path::Path;
use std::time::Duration;
use switchboard_testkit::TestClient;
use switchboard_testkit::events::{reply, types};
use switchboard_testkit::mock_gateway::{MockGateway, ScriptedReply};
use switchboard_testkit::postgres::TestDatabase;
use switchboard_testkit::process::ServerProcess;

/// The environment that points a server at its store.
type StorageEnv = Vec<(&'static str, String)>;

async fn start(storage: &StorageEnv, gateway: &MockGateway, config: &Path) -> ServerProcess {
    let gateway_url = gateway.url();
    let config = config.display().to_string();
    let mut env: Vec<(&str, &str)> = storage.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.extend([
        ("SMOOAI_GATEWAY_URL", gateway_url.as_str()),
        ("SMOOTH_AGENT_CONFIG", config.as_str()),
    ]);
    ServerProcess::start(Path::new(env!("CARGO_BIN_EXE_switchboard")), &env)
        .await
        .expect("the server starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_loses_nothing_it_acknowledged() {
    let database = TestDatabase::create("crash");
    let storage = vec![
        ("SMOOTH_AGENT_STORAGE", "postgres".to_owned()),
        ("SMOOTH_AGENT_DATABASE_URL", database.url()),
    ];
    kill_and_restart(storage, "pg").await;
}

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_on_sqlite_loses_nothing_it_acknowledged() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("crash-sqlite-{}", uuid::Uuid::new_v4().simple()));
    let storage = vec![
        ("SMOOTH_AGENT_STORAGE", "sqlite".to_owned()),
        ("SMOOTH_AGENT_DATA_DIR", dir.display().to_string()),
    ];
    kill_and_restart(storage, "sqlite").await;
    assert!(dir.join("switchboard.db").is_file());
    std::fs::remove_dir_all(dir).ok();
}

/// Durability `process` promises the same against a killed process.
#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_on_sqlite_with_process_durability_loses_nothing_it_acknowledged() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "crash-sqlite-process-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let storage = vec![
        ("SMOOTH_AGENT_STORAGE", "sqlite".to_owned()),
        ("SMOOTH_AGENT_SQLITE_DURABILITY", "process".to_owned()),
        ("SMOOTH_AGENT_DATA_DIR", dir.display().to_string()),
    ];
    kill_and_restart(storage, "sqlite-process").await;
    assert!(dir.join("switchboard.db").is_file());
    std::fs::remove_dir_all(dir).ok();
}

#[cfg(feature = "dynamodb")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_on_dynamodb_loses_nothing_it_acknowledged() {
    let table = switchboard_testkit::dynamodb::TestTable::new("crash");
    kill_and_restart(table.server_env(), "ddb").await;
}

async fn kill_and_restart(storage: StorageEnv, label: &str) {
    let config = std::env::temp_dir().join(format!("sb-crash-{label}-{}.json", std::process::id()));
    std::fs::write(
        &config,
        json!({"tools": [{"name": "delete_record", "description": "Delete a record", "result": "Record 42 deleted."}],
               "confirmTools": ["delete_record"]})
        .to_string(),
    )
    .unwrap();
    let gateway = MockGateway::builder()
        .script(vec![
            ScriptedReply::Text("Noted: order 123.".into()),
            ScriptedReply::ToolCall {
                name: "delete_record".into(),
                arguments: r#"{"id":"42"}"#.into(),
            },
            ScriptedReply::Text(
                "This is a long answer that is still streaming when the server dies.".into(),
            ),
            ScriptedReply::Text("Deleted after the restart.".into()),
            ScriptedReply::Text("Your order is 123.".into()),
        ])
        .chunk_delay(Duration::from_millis(150))
        .start()
        .await;
    let server = start(&storage, &gateway, &config).await;

    // A finished turn.
    let mut finished = TestClient::connect(server.url()).await;
    let (done, done_conversation) = finished.create_session().await;
    assert_eq!(
        reply(&finished.turn("r1", &done, "my order is 123").await),
        "Noted: order 123."
    );
    // A turn waiting for approval.
    let mut parked = TestClient::connect(server.url()).await;
    let (waiting, _) = parked.create_session().await;
    parked
        .send(json!({"action": "send_message", "requestId": "r2", "sessionId": waiting, "message": "delete record 42"}))
        .await;
    parked.until("stream_chunk").await;
    // A turn in mid-stream.
    let mut streaming = TestClient::connect(server.url()).await;
    let (midway, _) = streaming.create_session().await;
    streaming
        .send(json!({"action": "send_message", "requestId": "r3", "sessionId": midway, "message": "tell me everything"}))
        .await;
    streaming.until("stream_token").await;

    server.kill_hard().expect("killed");
    let server = start(&storage, &gateway, &config).await;
    let mut client = TestClient::connect(server.url()).await;

    // Every acknowledged message and session survived.
    let page = |session: &str| json!({"action": "get_conversation_messages", "sessionId": session});
    let texts = |ack: &serde_json::Value| -> Vec<String> {
        ack["data"]["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["content"]["text"].as_str().unwrap().to_owned())
            .collect()
    };
    let ack = client.request("m1", page(&done)).await;
    assert_eq!(texts(&ack), ["Noted: order 123.", "my order is 123"]);
    let ack = client.request("m3", page(&midway)).await;
    assert_eq!(
        texts(&ack),
        ["tell me everything"],
        "the question was acknowledged, the half answer was not"
    );

    // The parked turn is still waiting: its prompt comes back, and approving it
    // finishes the turn on this connection.
    client
        .send(json!({"action": "get_session", "requestId": "g", "sessionId": waiting}))
        .await;
    let events = client.until("write_confirmation_required").await;
    assert_eq!(events[1]["requestId"], "r2");
    client
        .send(json!({"action": "confirm_tool_action", "requestId": "c", "sessionId": waiting, "approved": true}))
        .await;
    let events = client.until_terminal("r2").await;
    assert_eq!(types(&events)[0], "immediate_response");
    assert_eq!(reply(&events), "Deleted after the restart.");

    // A client resumes its conversation: the model sees the earlier exchange.
    let ack = client
        .request(
            "resume",
            json!({"action": "create_conversation_session", "agentId": "11111111-1111-1111-1111-111111111111",
                   "conversationId": done_conversation}),
        )
        .await;
    assert_eq!(ack["data"]["conversationId"], done_conversation.as_str());
    let resumed = ack["data"]["sessionId"].as_str().unwrap().to_owned();
    assert_eq!(
        reply(&client.turn("r5", &resumed, "what was my order?").await),
        "Your order is 123."
    );
    let last = gateway.requests().last().cloned().unwrap();
    let history = serde_json::to_string(&last["messages"]).unwrap();
    assert!(history.contains("my order is 123") && history.contains("Noted: order 123."));

    server.stop().expect("clean shutdown");
    std::fs::remove_file(config).ok();
}
