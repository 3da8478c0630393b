//! Human approval before a gated tool runs (`write_confirmation_required` →
//! `confirm_tool_action`).

use super::tool_endpoint::ToolEndpoint;
use serde_json::{Value, json};
use std::time::Duration;
use switchboard_testkit::events::{reply, terminal, types};
use switchboard_testkit::mock_gateway::{MockGateway, ScriptedReply};
use switchboard_testkit::{TestApp, TestClient, config_for, spawn_app_with_agent};

async fn gated_app(endpoint: &ToolEndpoint, after: &str) -> (MockGateway, TestApp) {
    gated_app_with(endpoint, after, |_| {}).await
}

/// [`gated_app`] with the test configuration adjusted by `tweak`.
pub(super) async fn gated_app_with(
    endpoint: &ToolEndpoint,
    after: &str,
    tweak: impl FnOnce(&mut switchboard_server::Config),
) -> (MockGateway, TestApp) {
    let gateway = MockGateway::start(vec![
        ScriptedReply::ToolCall {
            name: "delete_record".into(),
            arguments: r#"{"id": "42"}"#.into(),
        },
        ScriptedReply::Text(after.into()),
    ])
    .await;
    let mut config = config_for(&gateway);
    tweak(&mut config);
    let app = spawn_app_with_agent(
        config,
        json!({
            "tools": [{"name": "delete_record", "description": "Delete a record", "url": endpoint.url,
                       "parameters": {"type": "object", "properties": {"id": {"type": "string"}}}}],
            "confirmTools": ["delete_*"]
        }),
    )
    .await;
    (gateway, app)
}

/// Sends the gated request and returns the events up to the parked call chunk.
pub(super) async fn park(client: &mut TestClient, session: &str) -> Vec<Value> {
    client
        .send(json!({"action": "send_message", "requestId": "r1", "sessionId": session, "message": "delete record 42"}))
        .await;
    client.until("stream_chunk").await
}

#[tokio::test]
async fn approval_runs_the_tool_after_the_prompt_and_the_ack() {
    let endpoint = ToolEndpoint::start(200, "Record 42 deleted.", Duration::ZERO).await;
    let (_gateway, app) = gated_app(&endpoint, "Done.").await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;

    let parked = park(&mut client, &session).await;
    assert_eq!(
        types(&parked),
        [
            "immediate_response",
            "write_confirmation_required",
            "stream_chunk"
        ]
    );
    let prompt = &parked[1];
    assert_eq!(prompt["requestId"], "r1");
    assert_eq!(prompt["data"]["data"]["toolId"], "delete_record");
    assert!(
        prompt["data"]["data"]["actionDescription"]
            .as_str()
            .unwrap()
            .contains("\"42\"")
    );
    assert_eq!(
        parked[2]["data"]["state"]["rawResponse"]["toolCall"]["name"],
        "delete_record"
    );
    // Nothing runs while the turn waits.
    client.expect_silence(Duration::from_millis(300)).await;
    assert!(endpoint.calls().is_empty());

    client
        .send(json!({"action": "confirm_tool_action", "requestId": "c1", "sessionId": session, "approved": true}))
        .await;
    let events = client.until_terminal("r1").await;
    assert_eq!(events[0]["type"], "immediate_response");
    assert_eq!(events[0]["requestId"], "c1");
    assert_eq!(events[0]["message"], "Tool action approved");
    assert_eq!(
        events[0]["data"],
        json!({"sessionId": session, "approved": true})
    );
    let result = &events[1]["data"]["state"]["rawResponse"]["toolResult"];
    assert_eq!(result["name"], "delete_record");
    assert_eq!(result["isError"], false);
    assert_eq!(result["result"], "Record 42 deleted.");
    assert_eq!(reply(&events), "Done.");
    assert_eq!(endpoint.calls(), [json!({"id": "42"})]);
}

#[tokio::test]
async fn denial_never_runs_the_tool_and_tells_the_model() {
    let endpoint = ToolEndpoint::start(200, "Record 42 deleted.", Duration::ZERO).await;
    let (gateway, app) = gated_app(&endpoint, "Okay, I left it alone.").await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    park(&mut client, &session).await;
    client
        .send(json!({"action": "confirm_tool_action", "requestId": "c1", "sessionId": session, "approved": false}))
        .await;
    let events = client.until_terminal("r1").await;
    assert_eq!(events[0]["message"], "Tool action rejected");
    assert_eq!(events[0]["data"]["approved"], false);
    assert_eq!(
        events[1]["data"]["state"]["rawResponse"]["toolResult"]["isError"],
        true
    );
    assert_eq!(reply(&events), "Okay, I left it alone.");
    assert!(endpoint.calls().is_empty(), "a denied tool never runs");
    let tool_message = gateway.requests()[1]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "tool")
        .cloned()
        .unwrap();
    assert!(
        tool_message["content"]
            .as_str()
            .unwrap()
            .contains("rejected")
    );

    // The approval was taken: a second answer finds nothing pending.
    let again = client
        .request(
            "c2",
            json!({"action": "confirm_tool_action", "sessionId": session, "approved": true}),
        )
        .await;
    assert_eq!(again["error"]["code"], "NO_PENDING_CONFIRMATION");
}

#[tokio::test]
async fn a_client_that_reconnects_answers_the_parked_confirmation() {
    let endpoint = ToolEndpoint::start(200, "Record 42 deleted.", Duration::ZERO).await;
    let (_gateway, app) = gated_app(&endpoint, "Deleted, as you asked.").await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    park(&mut client, &session).await;
    client.close().await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    // A new connection reads the session back and is shown the pending prompt again.
    let mut again = app.client().await;
    again
        .send(json!({"action": "get_session", "requestId": "g", "sessionId": session}))
        .await;
    let events = again.until("write_confirmation_required").await;
    assert_eq!(
        types(&events),
        ["immediate_response", "write_confirmation_required"]
    );
    assert_eq!(
        events[1]["requestId"], "r1",
        "the prompt keeps its turn's request id"
    );

    // Answering it resumes the turn on this connection.
    again
        .send(json!({"action": "confirm_tool_action", "requestId": "c", "sessionId": session, "approved": true}))
        .await;
    let events = again.until_terminal("r1").await;
    assert_eq!(events[0]["message"], "Tool action approved");
    assert_eq!(
        events[1]["data"]["state"]["rawResponse"]["toolResult"]["isError"],
        false
    );
    assert_eq!(reply(&events), "Deleted, as you asked.");
    assert_eq!(endpoint.calls().len(), 1, "the tool ran exactly once");

    // The answer was used up.
    let e = again
        .request(
            "c2",
            json!({"action": "confirm_tool_action", "sessionId": session, "approved": true}),
        )
        .await;
    assert_eq!(e["error"]["code"], "NO_PENDING_CONFIRMATION");
}

#[tokio::test]
async fn a_new_message_abandons_a_parked_turn() {
    let endpoint = ToolEndpoint::start(200, "deleted", Duration::ZERO).await;
    let gateway = MockGateway::start(vec![
        ScriptedReply::ToolCall {
            name: "delete_record".into(),
            arguments: "{}".into(),
        },
        ScriptedReply::Text("Something else, then.".into()),
    ])
    .await;
    let app = spawn_app_with_agent(
        config_for(&gateway),
        json!({"tools": [{"name": "delete_record", "description": "d", "url": endpoint.url}], "confirmTools": ["delete_record"]}),
    )
    .await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    park(&mut client, &session).await;
    client.close().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut again = app.client().await;
    let events = again.turn("r2", &session, "forget it").await;
    assert_eq!(reply(&events), "Something else, then.");
    let e = again
        .request(
            "c",
            json!({"action": "confirm_tool_action", "sessionId": session, "approved": true}),
        )
        .await;
    assert_eq!(e["error"]["code"], "NO_PENDING_CONFIRMATION");
    assert!(endpoint.calls().is_empty());
}

#[tokio::test]
async fn cancel_while_parked_clears_the_approval() {
    let endpoint = ToolEndpoint::start(200, "deleted", Duration::ZERO).await;
    let (_gateway, app) = gated_app(&endpoint, "never").await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    park(&mut client, &session).await;
    client
        .send(json!({"action": "cancel", "requestId": "r1"}))
        .await;
    let events = client.until_terminal("r1").await;
    assert_eq!(terminal(&events)["type"], "cancelled");
    let e = client
        .request(
            "c",
            json!({"action": "confirm_tool_action", "sessionId": session, "approved": true}),
        )
        .await;
    assert_eq!(e["error"]["code"], "NO_PENDING_CONFIRMATION");
    assert!(endpoint.calls().is_empty());
}

#[tokio::test]
async fn an_unanswered_approval_expires_with_a_clear_event() {
    let endpoint = ToolEndpoint::start(200, "deleted", Duration::ZERO).await;
    let gateway = MockGateway::start(vec![
        ScriptedReply::ToolCall {
            name: "delete_record".into(),
            arguments: "{}".into(),
        },
        ScriptedReply::Text("never".into()),
    ])
    .await;
    let mut config = config_for(&gateway);
    config.park_timeout = Duration::from_millis(400);
    config.confirm_tools = vec!["delete".into()];
    let app = spawn_app_with_agent(
        config,
        json!({"tools": [{"name": "delete_record", "description": "d", "url": endpoint.url}]}),
    )
    .await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    let events = client.turn("r1", &session, "delete it").await;
    assert!(
        types(&events).contains(&"write_confirmation_required"),
        "the env substring gates it"
    );
    let last = terminal(&events);
    assert_eq!(last["type"], "error");
    assert_eq!(last["error"]["code"], "TURN_EXPIRED");
    assert!(
        last["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nothing was done")
    );
    assert!(endpoint.calls().is_empty());
    let e = client
        .request(
            "c",
            json!({"action": "confirm_tool_action", "sessionId": session, "approved": true}),
        )
        .await;
    assert_eq!(e["error"]["code"], "NO_PENDING_CONFIRMATION");
    // The session is free again.
    let _ = gateway;
}
