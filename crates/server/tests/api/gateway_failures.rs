//! A failing gateway ends the turn with a stable code; the connection stays usable.

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use switchboard_server::config::EmbeddingsConfig;
use switchboard_testkit::events::{terminal, types};
use switchboard_testkit::mock_gateway::{Fault, MockGateway, ScriptedReply};
use switchboard_testkit::{config_for, spawn_app_with};

#[tokio::test]
async fn a_rejected_request_ends_the_turn_with_llm_error_and_a_safe_message() {
    let gateway = MockGateway::start(vec![
        ScriptedReply::Fail {
            status: 401,
            body: r#"{"error":"bad key sk-secret"}"#.into(),
        },
        ScriptedReply::Text("back".into()),
    ])
    .await;
    let app = spawn_app_with(config_for(&gateway)).await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    let events = client.turn("r1", &session, "hi").await;
    assert_eq!(types(&events), ["immediate_response", "error"]);
    let error = terminal(&events);
    assert_eq!(error["error"]["code"], "LLM_ERROR");
    assert_eq!(error["requestId"], "r1");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("401") && !message.contains("sk-secret"),
        "{message}"
    );
    assert_eq!(gateway.streamed_requests(), 1, "a 401 is not retried");

    // The connection and the session still work.
    assert_eq!(
        client.request("p", json!({"action": "ping"})).await["type"],
        "pong"
    );
    let events = client.turn("r2", &session, "again").await;
    assert_eq!(terminal(&events)["type"], "eventual_response");
}

#[tokio::test]
async fn a_silent_gateway_times_out_with_llm_timeout() {
    let gateway = MockGateway::builder()
        .script(vec![ScriptedReply::Text("too late".into())])
        .first_byte_delay(Duration::from_secs(3))
        .start()
        .await;
    let mut config = config_for(&gateway);
    config.gateway.as_mut().unwrap().timeout = Duration::from_millis(500);
    let app = spawn_app_with(config).await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    let events = client.turn("r1", &session, "hi").await;
    assert_eq!(terminal(&events)["error"]["code"], "LLM_TIMEOUT");
}

#[tokio::test]
async fn an_unreachable_gateway_is_llm_unavailable() {
    // A port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut config = switchboard_server::Config::for_tests();
    config.gateway = Some(switchboard_server::config::GatewayConfig {
        url: format!("http://127.0.0.1:{port}/v1"),
        key: None,
        timeout: Duration::from_secs(2),
    });
    let app = spawn_app_with(config).await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    let events = client.turn("r1", &session, "hi").await;
    assert_eq!(terminal(&events)["error"]["code"], "LLM_UNAVAILABLE");
}

/// A gateway that misbehaves with `fault` on every streamed request, behind a
/// server whose turns may work `deadline` at most.
async fn app_with_fault(
    fault: Fault,
    deadline: Duration,
) -> (MockGateway, switchboard_testkit::TestApp) {
    let gateway = MockGateway::builder()
        .script(vec![ScriptedReply::Fault(fault)])
        .repeat_last(true)
        .start()
        .await;
    let mut config = config_for(&gateway);
    config.turn_timeout = deadline;
    (gateway, spawn_app_with(config).await)
}

/// The terminal event of one turn, and how long the turn took; a turn still going
/// after `limit` fails the test.
async fn timed_turn(app: &switchboard_testkit::TestApp, limit: Duration) -> (Value, Duration) {
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    let started = Instant::now();
    let events = tokio::time::timeout(limit, client.turn("r1", &session, "hi"))
        .await
        .expect("the turn ends");
    (terminal(&events).clone(), started.elapsed())
}

#[tokio::test]
async fn a_never_ending_token_stream_ends_at_the_turn_deadline_with_llm_timeout() {
    let fault = Fault::EndlessText {
        every: Duration::from_millis(20),
    };
    let (_gateway, app) = app_with_fault(fault, Duration::from_secs(1)).await;
    let (terminal, took) = timed_turn(&app, Duration::from_secs(30)).await;
    assert_eq!(terminal["error"]["code"], "LLM_TIMEOUT", "{terminal}");
    assert!(took >= Duration::from_millis(900), "ended after {took:?}");
}

#[tokio::test]
async fn a_keep_alive_only_stream_ends_at_the_turn_deadline_with_llm_timeout() {
    // Pings come far more often than the silence limit (10 s): only the deadline
    // can end this turn.
    let fault = Fault::KeepAliveForever {
        every: Duration::from_millis(50),
    };
    let (_gateway, app) = app_with_fault(fault, Duration::from_secs(1)).await;
    let (terminal, _) = timed_turn(&app, Duration::from_secs(30)).await;
    assert_eq!(terminal["error"]["code"], "LLM_TIMEOUT", "{terminal}");
}

#[tokio::test]
async fn a_retry_after_of_99999_seconds_is_bounded_by_the_turn_deadline() {
    let fault = Fault::status_with(429, "retry-after", "99999");
    let (gateway, app) = app_with_fault(fault, Duration::from_secs(2)).await;
    let (terminal, _) = timed_turn(&app, Duration::from_secs(30)).await;
    assert_eq!(terminal["error"]["code"], "LLM_TIMEOUT", "{terminal}");
    assert_eq!(
        gateway.streamed_requests(),
        1,
        "no retry before the deadline"
    );
}

#[tokio::test]
async fn a_connection_broken_mid_reply_ends_the_turn_with_llm_unavailable() {
    let fault = Fault::BrokenAfter("Half an ans".into());
    let (_gateway, app) = app_with_fault(fault, Duration::from_secs(30)).await;
    let (terminal, _) = timed_turn(&app, Duration::from_secs(30)).await;
    assert_eq!(terminal["error"]["code"], "LLM_UNAVAILABLE", "{terminal}");
}

#[tokio::test]
async fn a_mid_stream_error_chunk_ends_the_turn_by_its_code() {
    let fault = Fault::ErrorChunk {
        text: "Half".into(),
        error: json!({"message": "provider down", "type": "None", "code": "500"}).to_string(),
    };
    let (_gateway, app) = app_with_fault(fault, Duration::from_secs(30)).await;
    let (terminal, _) = timed_turn(&app, Duration::from_secs(30)).await;
    assert_eq!(terminal["error"]["code"], "LLM_UNAVAILABLE", "{terminal}");
    let message = terminal["error"]["message"].as_str().unwrap();
    assert!(!message.contains("provider down"), "{message}");
}

#[tokio::test]
async fn a_529_overloaded_is_retried_and_the_turn_answers() {
    let gateway = MockGateway::start(vec![
        ScriptedReply::Fault(Fault::status_with(529, "retry-after", "0")),
        ScriptedReply::Text("Back again.".into()),
    ])
    .await;
    let app = spawn_app_with(config_for(&gateway)).await;
    let (terminal, _) = timed_turn(&app, Duration::from_secs(30)).await;
    assert_eq!(terminal["type"], "eventual_response", "{terminal}");
    assert_eq!(gateway.streamed_requests(), 2);
}

#[tokio::test]
async fn embeddings_retry_a_429_so_start_up_survives_it() {
    let gateway = MockGateway::builder()
        .script(vec![ScriptedReply::Text("Seventeen days.".into())])
        .refuse_embeddings(1)
        .start()
        .await;
    let mut config = config_for(&gateway);
    config.embeddings = EmbeddingsConfig::Gateway {
        model: "embed".into(),
    };
    config.seed_kb = true;
    let app = spawn_app_with(config).await;
    assert_eq!(gateway.refused_embeddings(), 1);
    assert!(
        !gateway.embedding_batches().is_empty(),
        "the seed was embedded after the retry"
    );
    let (terminal, _) = timed_turn(&app, Duration::from_secs(30)).await;
    assert_eq!(terminal["type"], "eventual_response", "{terminal}");
}

#[tokio::test]
async fn the_workflow_judge_s_usage_is_counted_in_the_turn_s_usage() {
    const AGENT: &str = "55555555-5555-5555-5555-555555555555";
    let gateway = MockGateway::builder()
        .script(vec![ScriptedReply::Text("What do you need?".into())])
        .side_reply("Yes.")
        .start()
        .await;
    let agents = json!({"agents": [{"id": AGENT, "workflow": {
        "goal": "Book a demo",
        "steps": [{"id": "need", "intent": "Learn the need", "criteria": "The need is known"}]
    }}]});
    let app = switchboard_testkit::spawn_app_with_agent(config_for(&gateway), agents).await;
    let mut client = app.client().await;
    let (session, _) = client.create_session_with(json!({"agentId": AGENT})).await;
    let events = client.turn("r1", &session, "I need a demo").await;
    let usage = &terminal(&events)["data"]["data"]["usage"];
    assert_eq!(
        gateway.requests().len(),
        2,
        "one streamed call, one judge call"
    );
    // The mock reports 10 prompt and 5 completion tokens for each call.
    assert_eq!(usage["promptTokens"], 20, "{usage}");
    assert_eq!(usage["completionTokens"], 10, "{usage}");
}

/// A turn whose first attempt is refused with 429 and `name: value`, then answered.
async fn turn_after_asked_wait(name: &str, value: &str) -> (MockGateway, Value, Duration) {
    let gateway = MockGateway::start(vec![
        ScriptedReply::Fault(Fault::status_with(429, name, value)),
        ScriptedReply::Text("Thanks for waiting.".into()),
    ])
    .await;
    let app = spawn_app_with(config_for(&gateway)).await;
    let (terminal, took) = timed_turn(&app, Duration::from_secs(30)).await;
    (gateway, terminal, took)
}

#[tokio::test]
async fn litellm_s_llm_provider_retry_after_is_waited_for() {
    let (gateway, terminal, took) = turn_after_asked_wait("llm_provider-retry-after", "2").await;
    assert_eq!(terminal["type"], "eventual_response", "{terminal}");
    assert_eq!(gateway.streamed_requests(), 2);
    // The backoff alone would have waited 0.25–0.5 s.
    assert!(
        took >= Duration::from_millis(1800),
        "answered after {took:?}"
    );
}

#[tokio::test]
async fn a_retry_after_http_date_is_waited_for() {
    let asked = std::time::SystemTime::now() + Duration::from_secs(5);
    let when = httpdate::fmt_http_date(asked);
    let (gateway, terminal, _) = turn_after_asked_wait("retry-after", &when).await;
    assert_eq!(terminal["type"], "eventual_response", "{terminal}");
    assert_eq!(gateway.streamed_requests(), 2);
    // The retry came no earlier than the date (to its whole second); the backoff
    // alone would have retried within half a second of the refusal.
    let date = httpdate::parse_http_date(&when).unwrap();
    let late = std::time::SystemTime::now().duration_since(date);
    assert!(late.is_ok(), "answered before the date {when}");
}

#[tokio::test]
async fn time_parked_for_an_approval_does_not_count_against_the_turn_deadline() {
    use super::approval::{gated_app_with, park};
    let endpoint =
        super::tool_endpoint::ToolEndpoint::start(200, "Record 42 deleted.", Duration::ZERO).await;
    let (_gateway, app) = gated_app_with(&endpoint, "Done.", |config| {
        config.turn_timeout = Duration::from_secs(1);
    })
    .await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    park(&mut client, &session).await;
    // The human takes three times the deadline to answer.
    tokio::time::sleep(Duration::from_secs(3)).await;
    client
        .send(json!({"action": "confirm_tool_action", "requestId": "c1", "sessionId": session, "approved": true}))
        .await;
    let events = client.until_terminal("r1").await;
    assert_eq!(terminal(&events)["type"], "eventual_response", "{events:?}");
    assert_eq!(endpoint.calls(), [json!({"id": "42"})]);
}
