//! Identity verification before sensitive tools: the refusal, the offer, a real
//! code delivered by email to a local SMTP sink, and `verify_otp`.

use serde_json::json;
use std::time::Duration;
use switchboard_agent::otp::SendLimit;
use switchboard_agent::otp::SmtpSecurity;
use switchboard_server::config::OtpConfig;
use switchboard_testkit::events::{reply, types};
use switchboard_testkit::mock_gateway::{MockGateway, ScriptedReply};
use switchboard_testkit::smtp_sink::SmtpSink;
use switchboard_testkit::{TestApp, config_for, spawn_app_with_agent};

async fn app(gateway: &MockGateway, sink: &SmtpSink) -> TestApp {
    app_with(gateway, sink, |_| {}).await
}

/// The app with a test's changes to its configuration.
async fn app_with(
    gateway: &MockGateway,
    sink: &SmtpSink,
    change: impl FnOnce(&mut switchboard_server::config::Config),
) -> TestApp {
    let mut config = config_for(gateway);
    config.otp = Some(OtpConfig::Smtp {
        host: sink.addr().ip().to_string(),
        port: sink.addr().port(),
        from: "verify@switchboard.test".into(),
        // The sink is on loopback and nobody logs in: plain SMTP is fine here.
        security: SmtpSecurity::Plain,
        username: None,
        password: None,
        allow_insecure_auth: false,
    });
    change(&mut config);
    spawn_app_with_agent(
        config,
        json!({"tools": [{"name": "issue_refund", "description": "Refund an order", "authLevel": "end_user",
                          "result": "Refund issued for order 7."}]}),
    )
    .await
}

fn refund_call() -> ScriptedReply {
    ScriptedReply::ToolCall {
        name: "issue_refund".into(),
        arguments: r#"{"order_id": "7"}"#.into(),
    }
}

/// The six-digit code in the last email the sink received.
fn code_in(sink: &SmtpSink) -> String {
    let message = sink.messages().last().cloned().expect("an email");
    message
        .body()
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .expect("a six-digit code")
        .to_owned()
}

#[tokio::test]
async fn an_unverified_visitor_is_offered_a_code_and_can_then_use_the_tool() {
    let sink = SmtpSink::start().await;
    let gateway = MockGateway::start(vec![
        refund_call(),
        ScriptedReply::Text("I need to verify you first.".into()),
        refund_call(),
        ScriptedReply::Text("Your refund is on its way.".into()),
    ])
    .await;
    let app = app(&gateway, &sink).await;
    let mut client = app.client().await;
    let (session, _) = client
        .create_session_with(json!({"userEmail": "dana@example.com"}))
        .await;

    // Refused, then the offer before the answer ends.
    let events = client.turn("r1", &session, "refund order 7").await;
    let result = events
        .iter()
        .find_map(|e| e["data"]["state"]["rawResponse"].get("toolResult"))
        .unwrap();
    assert_eq!(result["isError"], true);
    assert!(
        result["result"]
            .as_str()
            .unwrap()
            .contains("verify your identity")
    );
    let kinds = types(&events);
    let offer = kinds
        .iter()
        .position(|t| *t == "otp_verification_required")
        .expect("offered");
    assert_eq!(kinds[offer + 1], "otp_sent");
    assert_eq!(*kinds.last().unwrap(), "eventual_response");
    let required = &events[offer]["data"]["data"];
    assert_eq!(required["toolId"], "issue_refund");
    assert_eq!(required["availableChannels"], json!(["email"]));
    assert_eq!(required["authLevel"], "end_user");
    let sent = &events[offer + 1]["data"]["data"];
    assert_eq!(sent["channel"], "email");
    assert_eq!(sent["maskedDestination"], "d***@example.com");

    // The code arrives by email, and is never stored in clear.
    sink.wait_for(1, Duration::from_secs(5)).await;
    let message = sink.messages()[0].clone();
    assert_eq!(message.to, ["dana@example.com"]);
    let code = code_in(&sink);
    let stored = app
        .state
        .store()
        .get_otp_challenge(switchboard_core::SessionId::parse(&session).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.code_hash.contains(&code));

    // A wrong code counts down; the right one verifies.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let e = client
        .request(
            "v1",
            json!({"action": "verify_otp", "sessionId": session, "code": wrong}),
        )
        .await;
    assert_eq!(e["type"], "otp_invalid");
    assert_eq!(e["data"]["data"]["error"], "INVALID_CODE");
    assert_eq!(e["data"]["data"]["attemptsRemaining"], 4);
    let ok = client
        .request(
            "v2",
            json!({"action": "verify_otp", "sessionId": session, "code": code}),
        )
        .await;
    assert_eq!(ok["type"], "otp_verified");
    assert_eq!(
        ok["data"]["data"]["message"],
        "Identity verified successfully."
    );

    // Verification is stored: a new connection's next turn may use the tool.
    client.close().await;
    let mut again = app.client().await;
    let events = again.turn("r2", &session, "refund order 7 please").await;
    let result = events
        .iter()
        .find_map(|e| e["data"]["state"]["rawResponse"].get("toolResult"))
        .unwrap();
    assert_eq!(result["isError"], false);
    assert_eq!(result["result"], "Refund issued for order 7.");
    assert_eq!(reply(&events), "Your refund is on its way.");
    assert!(!types(&events).contains(&"otp_verification_required"));
}

#[tokio::test]
async fn without_a_contact_the_tool_is_refused_and_nothing_is_sent() {
    let sink = SmtpSink::start().await;
    let gateway =
        MockGateway::start(vec![refund_call(), ScriptedReply::Text("Sorry.".into())]).await;
    let app = app(&gateway, &sink).await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    let events = client.turn("r1", &session, "refund order 7").await;
    assert!(!types(&events).contains(&"otp_verification_required"));
    assert!(sink.messages().is_empty());
    let e = client
        .request(
            "v",
            json!({"action": "verify_otp", "sessionId": session, "code": "123456"}),
        )
        .await;
    assert_eq!(e["data"]["data"]["error"], "NOT_FOUND");
}

#[tokio::test]
async fn a_failed_delivery_is_reported_before_the_answer() {
    let sink = SmtpSink::start().await;
    sink.fail_rcpt(true);
    let gateway =
        MockGateway::start(vec![refund_call(), ScriptedReply::Text("Sorry.".into())]).await;
    let app = app(&gateway, &sink).await;
    let mut client = app.client().await;
    let (session, _) = client
        .create_session_with(json!({"userEmail": "erin@example.com"}))
        .await;
    let events = client.turn("r1", &session, "refund order 7").await;
    let kinds = types(&events);
    let failed = events
        .iter()
        .find(|e| e["type"] == "error")
        .expect("a send failure");
    assert_eq!(failed["error"]["code"], "OTP_SEND_FAILED");
    assert_eq!(
        *kinds.last().unwrap(),
        "eventual_response",
        "the turn still ends normally"
    );
    assert!(kinds.contains(&"otp_verification_required") && !kinds.contains(&"otp_sent"));
}

/// The refusal-then-offer script, `n` times over.
fn refusals(n: usize) -> Vec<ScriptedReply> {
    (0..n)
        .flat_map(|_| [refund_call(), ScriptedReply::Text("Verify first.".into())])
        .collect()
}

/// One visitor's turn on a fresh connection and session with `email`: the
/// `otp_sent` or `error` event of the offer.
async fn ask_for_a_code(app: &TestApp, email: &str, request: &str) -> serde_json::Value {
    let mut client = app.client().await;
    let (session, _) = client
        .create_session_with(json!({"userEmail": email}))
        .await;
    let events = client.turn(request, &session, "refund order 7").await;
    client.close().await;
    events
        .into_iter()
        .find(|e| e["type"] == "otp_sent" || e["type"] == "error")
        .expect("the offer's outcome")
}

/// 25 anonymous sessions naming one address used to send it 25 codes; now at
/// most 5 reach it per window, and the others are told to wait, in words that do
/// not depend on the address.
#[tokio::test]
async fn one_address_gets_at_most_five_codes_however_many_sessions_ask() {
    let sink = SmtpSink::start().await;
    let gateway = MockGateway::start(refusals(25)).await;
    let app = app(&gateway, &sink).await;
    let mut outcomes = Vec::new();
    for i in 0..25 {
        outcomes.push(ask_for_a_code(&app, "target@example.com", &format!("r{i}")).await);
    }
    let sent = outcomes.iter().filter(|e| e["type"] == "otp_sent").count();
    assert_eq!(sent, 5, "{outcomes:#?}");
    for refused in outcomes.iter().filter(|e| e["type"] == "error") {
        assert_eq!(refused["error"]["code"], "OTP_SEND_FAILED");
        let message = refused["error"]["message"].as_str().unwrap();
        assert!(message.contains("Too many"), "{message}");
        assert!(!message.contains("target"), "{message}");
    }
    // Give any stray send time to arrive before counting.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.messages().len(), 5);
    assert!(
        sink.messages()
            .iter()
            .all(|m| m.to == ["target@example.com"])
    );
}

/// One client address asking codes for many addresses is held to its own limit.
#[tokio::test]
async fn one_client_address_is_held_to_its_limit_across_addresses() {
    let sink = SmtpSink::start().await;
    let gateway = MockGateway::start(refusals(4)).await;
    let app = app_with(&gateway, &sink, |config| {
        config.otp_options.settings.per_client = SendLimit::new(3, Duration::from_secs(900));
    })
    .await;
    let mut kinds = Vec::new();
    for i in 0..4 {
        let e = ask_for_a_code(&app, &format!("visitor{i}@example.com"), &format!("r{i}")).await;
        kinds.push(e["type"].as_str().unwrap().to_owned());
    }
    assert_eq!(kinds, ["otp_sent", "otp_sent", "otp_sent", "error"]);
    sink.wait_for(3, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.messages().len(), 3);
}
