//! Switchboard's `/mcp` against the Python `mcp` SDK's client: agents answer as
//! `ask_<slug>` with their citations, `search_knowledge` sees what the caller may
//! see, and nothing is answered without a token.

use super::harness::{fixture, python};
use crate::admin::{jwt_config, token};
use serde_json::{Value, json};
use std::time::Duration;
use switchboard_testkit::mock_gateway::{MockGateway, ScriptedReply};
use switchboard_testkit::{TestApp, config_for, spawn_app_with_agent};

const SECRET: &str = "staff may waive the restocking fee for VIP customers";

async fn app() -> (MockGateway, TestApp) {
    let gateway = MockGateway::start(vec![ScriptedReply::Text(
        "Returns are accepted within 30 days.".into(),
    )])
    .await;
    let app = spawn_app_with_agent(
        jwt_config(config_for(&gateway)),
        json!({
            "agents": [{"id": "0f1e2d3c-4b5a-4968-8776-655443322110", "slug": "support", "name": "Support"}],
            "knowledge": [
                {"source": "policies/returns.md", "title": "Returns policy", "org": "acme",
                 "url": "https://docs.example/returns",
                 "content": "Returns are accepted within 30 days of delivery."},
                {"source": "internal/returns-exceptions.md", "org": "acme",
                 "content": format!("Return exceptions: {SECRET}."),
                 "acl": {"visibility": "restricted", "groups": ["staff"]}}
            ]
        }),
    )
    .await;
    (gateway, app)
}

/// Runs the Python client: lists the tools and calls `tool` with `arguments`.
async fn drive(app: &TestApp, token: &str, tool: &str, arguments: Value) -> Value {
    let mut command = std::process::Command::new(python());
    command
        .arg(fixture("mcp_ask_client.py"))
        .arg(format!("http://{}/mcp", app.addr))
        .arg(token)
        .arg(tool)
        .arg(arguments.to_string());
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::task::spawn_blocking(move || command.output()),
    )
    .await
    .expect("the Python client finished within 2 minutes")
    .unwrap()
    .expect("run the Python client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mcp_client_asks_an_agent_and_gets_its_answer_with_citations() {
    let (gateway, app) = app().await;
    let alice = token("alice", "acme", "basic");
    let seen = drive(
        &app,
        &alice,
        "ask_support",
        json!({"question": "How long do I have to return an order?"}),
    )
    .await;
    assert_eq!(
        seen["tools"],
        json!(["ask_support", "search_knowledge"]),
        "{seen}"
    );
    assert_eq!(seen["isError"], false, "{seen}");
    assert_eq!(
        seen["structured"]["answer"],
        "Returns are accepted within 30 days."
    );
    let citations = seen["structured"]["citations"].as_array().unwrap();
    assert_eq!(citations[0]["title"], "Returns policy", "{seen}");
    assert!(
        seen["text"]
            .as_str()
            .unwrap()
            .contains("Returns policy (https://docs.example/returns)")
    );
    // A normal turn: the model saw the question and the caller's knowledge only.
    let sent = serde_json::to_string(&gateway.requests()).unwrap();
    assert!(sent.contains("How long do I have to return an order?"));
    assert!(!sent.contains(SECRET));
    // Stored as the caller's own conversation.
    let conversation = seen["structured"]["conversationId"].as_str().unwrap();
    let id = switchboard_core::ConversationId::parse(conversation).unwrap();
    let participants = app.state.store().list_participants(id).await.unwrap();
    assert!(
        participants
            .iter()
            .any(|p| p.external_id.as_deref() == Some("alice"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_knowledge_is_filtered_by_the_callers_access() {
    let (_gateway, app) = app().await;
    let query = json!({"query": "return exceptions restocking fee", "limit": 5});
    let alice = drive(
        &app,
        &token("alice", "acme", "basic"),
        "search_knowledge",
        query.clone(),
    )
    .await;
    assert_eq!(alice["isError"], false, "{alice}");
    assert!(!alice.to_string().contains(SECRET), "{alice}");
    assert!(
        alice["text"].as_str().unwrap().contains("within 30 days"),
        "{alice}"
    );
    let staff = crate::admin::signed(
        json!({"sub": "bob", "org": "acme", "role": "basic", "groups": ["staff"]}),
    );
    let bob = drive(&app, &staff, "search_knowledge", query.clone()).await;
    assert!(bob["text"].as_str().unwrap().contains(SECRET), "{bob}");
    let other_org = drive(
        &app,
        &token("eve", "globex", "basic"),
        "search_knowledge",
        query,
    )
    .await;
    assert_eq!(other_org["text"], "No passages match.", "{other_org}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_is_refused_without_a_valid_token() {
    let (gateway, app) = app().await;
    for bad in ["", "not-a-token"] {
        let seen = drive(&app, bad, "ask_support", json!({"question": "hi"})).await;
        assert!(seen["error"].is_string(), "{seen}");
    }
    let response = reqwest::Client::new()
        .post(format!("http://{}/mcp", app.addr))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    // A browser client's preflight is answered without a token.
    let preflight = reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, format!("http://{}/mcp", app.addr))
        .header("origin", "https://inspector.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type, mcp-protocol-version",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 200);
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
    assert!(gateway.requests().is_empty(), "no turn ran");
}

/// A turn that stops for a person's approval cannot be answered over MCP: the
/// call says so, nothing runs, and the park is not left behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ask_that_needs_approval_says_so_and_does_nothing() {
    let gateway = MockGateway::start(vec![ScriptedReply::ToolCall {
        name: "delete_record".into(),
        arguments: r#"{"id": "42"}"#.into(),
    }])
    .await;
    let app = spawn_app_with_agent(
        jwt_config(config_for(&gateway)),
        json!({
            "tools": [{"name": "delete_record", "description": "Delete a record", "result": "Deleted."}],
            "confirmTools": ["delete_*"],
            "agents": [{"id": "0f1e2d3c-4b5a-4968-8776-655443322110", "slug": "support"}]
        }),
    )
    .await;
    let seen = drive(
        &app,
        &token("alice", "acme", "basic"),
        "ask_support",
        json!({"question": "delete record 42"}),
    )
    .await;
    assert_eq!(seen["isError"], true, "{seen}");
    assert!(
        seen["text"]
            .as_str()
            .unwrap()
            .contains("wanted to run 'delete_record', which needs a person's approval"),
        "{seen}"
    );
    assert_eq!(gateway.requests().len(), 1, "the turn stopped at the park");
}
