//! A failing gateway ends the turn with a stable code; the connection stays usable.

use serde_json::json;
use std::time::Duration;
use switchboard_testkit::events::{terminal, types};
use switchboard_testkit::mock_gateway::{MockGateway, ScriptedReply};
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
