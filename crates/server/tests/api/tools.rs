//! HTTP tools: arguments POSTed as JSON, the body is the result; failures are told
//! to the model, never crash the turn.

use super::tool_endpoint::ToolEndpoint;
use serde_json::{Value, json};
use std::time::Duration;
use switchboard_testkit::events::{reply, types};
use switchboard_testkit::mock_gateway::{MockGateway, ScriptedReply};
use switchboard_testkit::{config_for, spawn_app_with_agent};

/// Runs one turn in which the model calls `lookup_order` on `endpoint`; returns the
/// tool result the client saw and what the model was told.
async fn call_tool(endpoint: &ToolEndpoint, timeout_ms: u64) -> (Value, String) {
    let gateway = MockGateway::start(vec![
        ScriptedReply::ToolCall {
            name: "lookup_order".into(),
            arguments: r#"{"id":"123"}"#.into(),
        },
        ScriptedReply::Text("Here you go.".into()),
    ])
    .await;
    let app = spawn_app_with_agent(
        config_for(&gateway),
        json!({"tools": [{"name": "lookup_order", "description": "Look up an order", "url": endpoint.url,
                          "timeoutMs": timeout_ms, "headers": {"x-api-key": "k"}}]}),
    )
    .await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    let events = client.turn("r1", &session, "where is order 123?").await;
    assert_eq!(types(&events)[1..3], ["stream_chunk", "stream_chunk"]);
    assert_eq!(reply(&events), "Here you go.");
    let result = events[2]["data"]["state"]["rawResponse"]["toolResult"].clone();
    let told = gateway.requests()[1]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "tool")
        .and_then(|m| m["content"].as_str().map(str::to_owned))
        .unwrap();
    (result, told)
}

#[tokio::test]
async fn an_http_tool_receives_the_arguments_and_returns_the_body() {
    let endpoint =
        ToolEndpoint::start(200, "Order 123: shipped, arrives Tuesday.", Duration::ZERO).await;
    let (result, told) = call_tool(&endpoint, 2000).await;
    assert_eq!(endpoint.calls(), [json!({"id": "123"})]);
    assert_eq!(result["isError"], false);
    assert_eq!(result["result"], "Order 123: shipped, arrives Tuesday.");
    assert_eq!(told, "Order 123: shipped, arrives Tuesday.");
}

#[tokio::test]
async fn a_failing_endpoint_is_an_error_result_the_model_sees() {
    let endpoint = ToolEndpoint::start(503, "maintenance", Duration::ZERO).await;
    let (result, told) = call_tool(&endpoint, 2000).await;
    assert_eq!(result["isError"], true);
    assert!(told.starts_with("error:") && told.contains("503"), "{told}");
}

#[tokio::test]
async fn a_slow_endpoint_times_out() {
    let endpoint = ToolEndpoint::start(200, "late", Duration::from_secs(3)).await;
    let (result, told) = call_tool(&endpoint, 200).await;
    assert_eq!(result["isError"], true);
    assert!(told.contains("did not answer within 200 ms"), "{told}");
}

#[tokio::test]
async fn an_unknown_tool_is_reported_to_the_model() {
    let gateway = MockGateway::start(vec![
        ScriptedReply::ToolCall {
            name: "launch_rocket".into(),
            arguments: "{}".into(),
        },
        ScriptedReply::Text("I can't do that.".into()),
    ])
    .await;
    let app = spawn_app_with_agent(config_for(&gateway), json!({})).await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    let events = client.turn("r1", &session, "launch").await;
    let result = &events[2]["data"]["state"]["rawResponse"]["toolResult"];
    assert_eq!(result["isError"], true);
    assert_eq!(result["result"], "error: unknown tool: launch_rocket");
    let _ = Duration::ZERO;
}
