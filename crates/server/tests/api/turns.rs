//! Agent turns against a scripted OpenAI-compatible gateway.

use serde_json::json;
use std::time::Duration;
use switchboard_testkit::events::{reply, terminal, tokens, types};
use switchboard_testkit::mock_gateway::{MockGateway, ScriptedReply};
use switchboard_testkit::{config_for, spawn_app_with, spawn_app_with_agent};

fn text(t: &str) -> ScriptedReply {
    ScriptedReply::Text(t.into())
}

#[tokio::test]
async fn a_turn_streams_tokens_then_one_eventual_response_and_is_stored() {
    let gateway = MockGateway::start(vec![text("Hello from the engine!")]).await;
    let app = spawn_app_with(config_for(&gateway)).await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;

    let events = client.turn("r1", &session, "hi there").await;
    assert_eq!(events[0]["type"], "immediate_response");
    assert_eq!(events[0]["status"], 202);
    assert_eq!(events[0]["message"], "Processing your request...");
    assert!(
        types(&events[1..events.len() - 1])
            .iter()
            .all(|t| *t == "stream_token")
    );
    assert!(events.len() >= 4, "streamed in several tokens: {events:?}");
    assert_eq!(tokens(&events), "Hello from the engine!");
    let eventual = terminal(&events);
    assert_eq!(eventual["type"], "eventual_response");
    assert_eq!(eventual["status"], 200);
    assert_eq!(reply(&events), "Hello from the engine!");
    assert_eq!(eventual["data"]["data"]["needsEscalation"], false);
    assert_eq!(
        eventual["data"]["data"]["usage"],
        json!({"promptTokens": 10, "completionTokens": 5})
    );
    assert!(
        eventual["data"]["data"].get("citations").is_none(),
        "no knowledge, no citations"
    );

    // The gateway saw a streamed request with usage reporting.
    let request = &gateway.requests()[0];
    assert_eq!(request["stream"], true);
    assert_eq!(request["stream_options"]["include_usage"], true);
    assert_eq!(request["model"], "claude-haiku-4-5");

    // Both messages are stored; the reply's id is the one the client was given.
    let page = client
        .request(
            "m",
            json!({"action": "get_conversation_messages", "sessionId": session}),
        )
        .await;
    let messages = page["data"]["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["direction"], "outbound");
    assert_eq!(messages[0]["content"]["text"], "Hello from the engine!");
    assert_eq!(messages[0]["id"], eventual["data"]["data"]["messageId"]);
    assert_eq!(messages[1]["content"]["text"], "hi there");
}

#[tokio::test]
async fn each_turn_replays_the_most_recent_conversation() {
    let gateway = MockGateway::start(vec![text("Noted: the 5th."), text("On the 5th.")]).await;
    let app = spawn_app_with(config_for(&gateway)).await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    client
        .turn("r1", &session, "my order arrives on the 5th")
        .await;
    client.turn("r2", &session, "when?").await;

    let second = &gateway.requests()[1];
    let roles: Vec<(&str, &str)> = second["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] != "system")
        .map(|m| {
            (
                m["role"].as_str().unwrap(),
                m["content"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        roles,
        [
            ("user", "my order arrives on the 5th"),
            ("assistant", "Noted: the 5th."),
            ("user", "when?")
        ]
    );
}

#[tokio::test]
async fn history_is_the_most_recent_messages_within_the_budget() {
    let gateway = MockGateway::start(vec![text("ok")]).await;
    let mut config = config_for(&gateway);
    config.history_tokens = 60;
    let app = spawn_app_with(config).await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    // Forty old messages, each ~25 tokens: only the newest couple fit the budget.
    for i in 0..40 {
        let text = format!("old message number {i} {}", "padding ".repeat(10));
        app.store_message(&session, switchboard_core::Direction::Inbound, &text)
            .await;
    }
    client.turn("r1", &session, "latest question").await;
    let messages = gateway.requests()[0]["messages"]
        .as_array()
        .unwrap()
        .clone();
    let users: Vec<&str> = messages
        .iter()
        .filter(|m| m["role"] == "user")
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(users.last(), Some(&"latest question"));
    assert!(users.len() < 6, "budget respected: {users:?}");
    assert!(
        users[0].starts_with("old message number 3"),
        "most recent kept, oldest dropped: {users:?}"
    );
}

#[tokio::test]
async fn model_precedence_turn_then_agent_then_default() {
    let gateway = MockGateway::builder()
        .script(vec![text("a")])
        .repeat_last(true)
        .start()
        .await;
    let app = spawn_app_with_agent(
        config_for(&gateway),
        json!({"agents": [{"id": "22222222-2222-2222-2222-222222222222", "model": "agent-model"}]}),
    )
    .await;
    let mut client = app.client().await;
    let (plain, _) = client.create_session().await;
    let (profiled, _) = client
        .create_session_with(json!({"agentId": "22222222-2222-2222-2222-222222222222"}))
        .await;
    client.turn("r1", &plain, "x").await;
    client.turn("r2", &profiled, "x").await;
    client
        .send(
            json!({"action": "send_message", "requestId": "r3", "sessionId": profiled,
                     "message": "x", "model": " turn-model "}),
        )
        .await;
    client.until_terminal("r3").await;
    let models: Vec<String> = gateway
        .requests()
        .iter()
        .map(|r| r["model"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(models, ["claude-haiku-4-5", "agent-model", "turn-model"]);
}

#[tokio::test]
async fn reasoning_streams_separately_and_stays_out_of_the_answer() {
    let gateway = MockGateway::start(vec![ScriptedReply::Reasoning {
        reasoning: "The user wants a greeting.".into(),
        text: "Hi!".into(),
    }])
    .await;
    let app = spawn_app_with(config_for(&gateway)).await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    let events = client.turn("r1", &session, "hello").await;
    let reasoning: String = events
        .iter()
        .filter(|e| e["type"] == "stream_reasoning")
        .map(|e| e["token"].as_str().unwrap())
        .collect();
    assert_eq!(reasoning, "The user wants a greeting.");
    assert_eq!(reply(&events), "Hi!");
    assert_eq!(tokens(&events), "Hi!");
}

#[tokio::test]
async fn a_second_message_during_a_turn_is_refused_and_the_first_finishes() {
    let gateway = MockGateway::builder()
        .script(vec![text("slow answer here")])
        .chunk_delay(Duration::from_millis(100))
        .start()
        .await;
    let app = spawn_app_with(config_for(&gateway)).await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    client
        .send(json!({"action": "send_message", "requestId": "r1", "sessionId": session, "message": "one"}))
        .await;
    client
        .send(json!({"action": "send_message", "requestId": "r2", "sessionId": session, "message": "two"}))
        .await;
    let events = client.until_terminal("r1").await;
    let refusal = events
        .iter()
        .find(|e| e["requestId"] == "r2")
        .expect("r2 answered");
    assert_eq!(refusal["error"]["code"], "TURN_IN_PROGRESS");
    assert_eq!(reply(&events), "slow answer here");
    // The refused message was not stored.
    let page = client
        .request(
            "m",
            json!({"action": "get_conversation_messages", "sessionId": session}),
        )
        .await;
    assert_eq!(page["data"]["messages"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn cancel_with_nothing_running_emits_nothing() {
    let app = switchboard_testkit::spawn_app().await;
    let mut client = app.client().await;
    client
        .send(json!({"action": "cancel", "requestId": "c"}))
        .await;
    client.expect_silence(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn cancel_ends_a_streaming_turn_and_stores_no_reply() {
    let gateway = MockGateway::builder()
        .script(vec![
            text("a long answer that takes a while to stream out"),
            text("fresh"),
        ])
        .chunk_delay(Duration::from_millis(150))
        .start()
        .await;
    let app = spawn_app_with(config_for(&gateway)).await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    client
        .send(json!({"action": "send_message", "requestId": "r1", "sessionId": session, "message": "talk"}))
        .await;
    client.until("stream_token").await;
    client
        .send(json!({"action": "cancel", "requestId": "r1"}))
        .await;
    let events = client.until_terminal("r1").await;
    let cancelled = terminal(&events);
    assert_eq!(cancelled["type"], "cancelled");
    assert_eq!(cancelled["status"], 499);
    assert_eq!(cancelled["data"]["status"], 499);
    assert!(events.iter().all(|e| e["type"] != "eventual_response"));
    // Nothing more arrives for the cancelled turn.
    client.expect_silence(Duration::from_millis(500)).await;
    // Only the user's message was kept, and the slot is free again.
    let page = client
        .request(
            "m",
            json!({"action": "get_conversation_messages", "sessionId": session}),
        )
        .await;
    let messages = page["data"]["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["direction"], "inbound");
    let events = client.turn("r2", &session, "again").await;
    assert_eq!(reply(&events), "fresh");
}

#[tokio::test]
async fn the_iteration_cap_stops_a_model_that_keeps_calling_tools() {
    let gateway = MockGateway::builder()
        .script(vec![ScriptedReply::ToolCall {
            name: "lookup_order".into(),
            arguments: "{}".into(),
        }])
        .repeat_last(true)
        .start()
        .await;
    let mut config = config_for(&gateway);
    config.max_iterations = 2;
    let app = spawn_app_with_agent(
        config,
        json!({"tools": [{"name": "lookup_order", "description": "d", "result": "shipped"}]}),
    )
    .await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    let events = client.turn("r1", &session, "loop").await;
    assert_eq!(terminal(&events)["type"], "eventual_response");
    let requests = gateway.requests();
    assert_eq!(requests.len(), 2, "exactly the cap");
    assert!(requests[0]["tools"].is_array());
    assert!(
        requests[1].get("tools").is_none(),
        "the last call offers no tools"
    );
    let last_system = requests[1]["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last_system["role"], "system");
    assert!(!reply(&events).is_empty());
}

#[tokio::test]
async fn an_agent_only_gets_its_allowed_tools() {
    let gateway = MockGateway::start(vec![text("ok")]).await;
    let app = spawn_app_with_agent(
        config_for(&gateway),
        json!({
            "tools": [
                {"name": "lookup_order", "description": "d", "result": "r"},
                {"name": "delete_record", "description": "d", "result": "r"}
            ],
            "agents": [{"id": "33333333-3333-3333-3333-333333333333", "tools": ["lookup_order"], "instructions": "Only look things up."}]
        }),
    )
    .await;
    let mut client = app.client().await;
    let (session, _) = client
        .create_session_with(json!({"agentId": "33333333-3333-3333-3333-333333333333"}))
        .await;
    client.turn("r1", &session, "hi").await;
    let request = &gateway.requests()[0];
    let names: Vec<&str> = request["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["lookup_order"]);
    assert_eq!(request["tool_choice"], "auto");
    assert_eq!(request["messages"][0]["content"], "Only look things up.");
}
