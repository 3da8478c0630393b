//! `/metrics` over real turns: counters move by exactly what happened, the text
//! passes `promtool check metrics`, and no label carries a session or a message.

use super::{get, value};
use std::io::Write;
use std::process::{Command, Stdio};
use switchboard_testkit::mock_gateway::{MockGateway, ScriptedReply};
use switchboard_testkit::{config_for, spawn_app_with};

const ANSWERED: &str = r#"switchboard_turns_total{outcome="answered",code="none"}"#;

/// promtool from Debian's prometheus package, installed when missing
/// (`scripts/ensure-promtool`).
fn promtool_check(text: &str) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/ensure-promtool");
    let installed = Command::new(script).status().expect("run ensure-promtool");
    assert!(installed.success(), "promtool could not be installed");
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}\n---\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn n_turns_move_the_turn_counter_and_histograms_by_exactly_n() {
    const N: usize = 3;
    let gateway = MockGateway::start(vec![ScriptedReply::Text("Hello there.".into()); N + 1]).await;
    let app = spawn_app_with(config_for(&gateway)).await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    // One turn first, so every series exists before the measured ones.
    client.turn("warm", &session, "hi").await;
    let (status, before) = get(&app, "/metrics").await;
    assert_eq!(status, 200);
    for i in 0..N {
        let events = client.turn(&format!("r{i}"), &session, "hello").await;
        assert_eq!(events.last().unwrap()["type"], "eventual_response");
    }
    let (_, after) = get(&app, "/metrics").await;
    let moved = |series: &str| value(&after, series) - value(&before, series);
    assert_eq!(moved(ANSWERED), N as f64, "{after}");
    for histogram in [
        "switchboard_turn_duration_seconds_count",
        "switchboard_turn_first_token_seconds_count",
        "switchboard_gateway_request_duration_seconds_count",
        "switchboard_retrieval_duration_seconds_count",
    ] {
        assert_eq!(moved(histogram), N as f64, "{histogram}:\n{after}");
    }
    // The mock gateway reports 10 tokens in and 5 out per call; the default model
    // is configured, so it is its own label value.
    let model = &app.state.config().model;
    let tokens = |direction: &str| {
        format!(r#"switchboard_llm_tokens_total{{model="{model}",direction="{direction}"}}"#)
    };
    assert_eq!(moved(&tokens("input")), 10.0 * N as f64);
    assert_eq!(moved(&tokens("output")), 5.0 * N as f64);
    assert_eq!(value(&after, "switchboard_sessions_created_total"), 1.0);
    assert_eq!(value(&after, "switchboard_connections_open"), 1.0);
    assert!(!after.contains(&session), "a session id became a label");
    assert!(!after.contains("hello"), "message text became a label");
    promtool_check(&after);

    drop(client);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let (_, now) = get(&app, "/metrics").await;
        if value(&now, "switchboard_connections_open") == 0.0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the connection stayed counted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn failed_and_cancelled_turns_are_counted_by_outcome_and_code() {
    let gateway = MockGateway::builder()
        .script(vec![
            ScriptedReply::Fail {
                status: 400,
                body: r#"{"error": {"message": "bad request"}}"#.into(),
            },
            ScriptedReply::Text("a long answer that will be cancelled".into()),
        ])
        .chunk_delay(std::time::Duration::from_millis(300))
        .start()
        .await;
    let app = spawn_app_with(config_for(&gateway)).await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    let events = client.turn("r1", &session, "hello").await;
    assert_eq!(events.last().unwrap()["error"]["code"], "LLM_ERROR");
    client
        .send(
            serde_json::json!({"action": "send_message", "requestId": "r2",
                                 "sessionId": session, "message": "again"}),
        )
        .await;
    client.until("stream_token").await;
    client
        .send(serde_json::json!({"action": "cancel", "requestId": "c1"}))
        .await;
    client.until("cancelled").await;
    let (_, text) = get(&app, "/metrics").await;
    assert_eq!(
        value(
            &text,
            r#"switchboard_turns_total{outcome="error",code="LLM_ERROR"}"#
        ),
        1.0,
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            r#"switchboard_turns_total{outcome="cancelled",code="none"}"#
        ),
        1.0
    );
    assert_eq!(
        value(
            &text,
            r#"switchboard_gateway_errors_total{kind="rejected"}"#
        ),
        1.0
    );
    assert_eq!(value(&text, ANSWERED), 0.0);
    promtool_check(&text);
}

#[tokio::test]
async fn metrics_can_move_to_their_own_address() {
    let mut config = switchboard_server::Config::for_tests();
    config.telemetry.metrics_addr = Some("127.0.0.1:0".parse().unwrap());
    let app = spawn_app_with(config).await;
    let (status, _) = get(&app, "/metrics").await;
    assert_eq!(status, 404, "metrics stay off the main port when moved");
    let (status, body) = get(&app, "/ready").await;
    assert_eq!((status, body.as_str()), (200, "ready"));
}
