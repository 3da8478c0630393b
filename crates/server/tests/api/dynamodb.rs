//! The `switchboard` binary on DynamoDB (moto's server mode): the table is created
//! at start-up, knowledge and conversations live in it, and a restarted server
//! carries on where the last one stopped.

use serde_json::json;
use std::path::Path;
use switchboard_testkit::TestClient;
use switchboard_testkit::dynamodb::TestTable;
use switchboard_testkit::events::{reply, terminal};
use switchboard_testkit::process::ServerProcess;

async fn start(table: &TestTable) -> ServerProcess {
    let mut env = table.server_env();
    env.push(("SMOOTH_AGENT_SEED_KB", "1".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    ServerProcess::start(Path::new(env!("CARGO_BIN_EXE_switchboard")), &env)
        .await
        .expect("the server starts on DynamoDB")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_on_dynamodb_answers_from_its_table_and_resumes_after_a_restart() {
    let table = TestTable::new("smoke");
    let server = start(&table).await;
    let mut client = TestClient::connect(server.url()).await;
    let (session, conversation) = client.create_session().await;
    let events = client
        .turn("r1", &session, "How long is the return window?")
        .await;
    assert!(reply(&events).contains("17 days"), "{}", reply(&events));
    let citations = &terminal(&events)["data"]["data"]["citations"];
    assert_eq!(citations[0]["id"], "policies/returns.md", "{citations}");
    server.stop().expect("clean shutdown");

    let server = start(&table).await;
    let mut client = TestClient::connect(server.url()).await;
    let ack = client
        .request(
            "resume",
            json!({"action": "create_conversation_session", "agentId": "11111111-1111-1111-1111-111111111111",
                   "conversationId": conversation}),
        )
        .await;
    assert_eq!(ack["data"]["conversationId"], conversation.as_str());
    let resumed = ack["data"]["sessionId"].as_str().unwrap().to_owned();
    let page = client
        .request(
            "m",
            json!({"action": "get_conversation_messages", "sessionId": resumed}),
        )
        .await;
    let messages = page["data"]["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2, "{page}");
    assert_eq!(
        messages[1]["content"]["text"],
        "How long is the return window?"
    );
    let events = client
        .turn("r2", &resumed, "And how long does shipping take?")
        .await;
    assert!(reply(&events).contains("5 to 7"), "{}", reply(&events));
    server.stop().expect("clean shutdown");
}
