//! Limits against abuse, seen from a client: message size, frame rate, idle
//! connections and connections per address.

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use switchboard_client::{Client, ClientError};
use switchboard_server::Config;
use switchboard_server::config::RateLimit;
use switchboard_testkit::events::reply;
use switchboard_testkit::mock_gateway::{MockGateway, ScriptedReply};
use switchboard_testkit::{TestApp, config_for, spawn_app_with};

const CLOSE_WAIT: Duration = Duration::from_secs(10);

fn rate_limited(per_sec: u32, burst: u32) -> Config {
    let mut config = Config::for_tests();
    config.rate_limit = Some(RateLimit { per_sec, burst });
    config
}

fn ping(id: &str) -> Value {
    json!({"action": "ping", "requestId": id})
}

#[tokio::test]
async fn an_oversized_message_gets_a_clear_error_then_a_1009_close() {
    let mut config = Config::for_tests();
    config.max_frame_bytes = 4096;
    let app = spawn_app_with(config).await;
    let mut client = app.client().await;

    // Just under the limit is fine.
    let pad = "x".repeat(4000);
    client
        .send(json!({"action": "ping", "requestId": "fits", "pad": pad}))
        .await;
    assert_eq!(client.next().await["type"], "pong");

    let huge = format!(
        r#"{{"action":"ping","requestId":"big","pad":"{}"}}"#,
        "x".repeat(10_000)
    );
    client.send_text(&huge).await;
    let (events, close) = client.until_closed(CLOSE_WAIT).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let error = &events[0];
    assert_eq!(error["error"]["code"], "VALIDATION_ERROR");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("limit of 4096 bytes")
            && message.contains(&format!("{} bytes", huge.len())),
        "{message}"
    );
    let close = close.expect("a close frame");
    assert_eq!(close.code, 1009);
    assert!(close.reason.contains("4096 bytes"), "{}", close.reason);

    // Only that connection was closed.
    let mut other = app.client().await;
    assert_eq!(other.request("p", ping("p")).await["type"], "pong");
}

#[tokio::test]
async fn frames_over_the_rate_limit_are_refused_not_run_and_the_socket_recovers() {
    // One token a second: the burst of 5 is all a quick volley gets.
    let app = spawn_app_with(rate_limited(1, 5)).await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    for i in 0..4 {
        client.send(ping(&format!("p{i}"))).await;
    }
    // Over the limit: a message that must not be stored or answered, a ping, and a
    // binary frame (no requestId to echo).
    client
        .send(json!({"action": "send_message", "requestId": "m-over", "sessionId": session, "message": "hello"}))
        .await;
    client.send(ping("p-over")).await;
    client.send_binary(vec![1, 2, 3]).await;

    for i in 0..4 {
        let pong = client.next().await;
        assert_eq!(pong["type"], "pong", "{pong}");
        assert_eq!(pong["requestId"], format!("p{i}"));
    }
    for id in [Some("m-over"), Some("p-over"), None] {
        let e = client.next().await;
        assert_eq!(e["error"]["code"], "RATE_LIMITED", "{e}");
        assert_eq!(e["requestId"].as_str(), id, "{e}");
        let message = e["error"]["message"].as_str().unwrap();
        assert!(message.contains("at most 1 frames a second"), "{message}");
    }
    // The refused message started no turn.
    client.expect_silence(Duration::from_millis(300)).await;

    // Once the bucket refills, the same socket works again, and the refused
    // message was never stored.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let page = client
        .request(
            "history",
            json!({"action": "get_conversation_messages", "sessionId": session}),
        )
        .await;
    assert_eq!(page["type"], "immediate_response", "{page}");
    assert_eq!(page["data"]["messages"], json!([]));
}

#[tokio::test]
async fn a_client_that_keeps_flooding_is_closed_with_1008() {
    // Burst 2: ten bursts of refusals (20) beyond the sustained rate closes.
    let app = spawn_app_with(rate_limited(1, 2)).await;
    let mut client = app.client().await;
    for i in 0..60 {
        client.send(ping(&format!("f{i}"))).await;
    }
    let (events, close) = client.until_closed(CLOSE_WAIT).await;
    let pongs = events.iter().filter(|e| e["type"] == "pong").count();
    let refused = events
        .iter()
        .filter(|e| e["error"]["code"] == "RATE_LIMITED")
        .count();
    assert!((2..=4).contains(&pongs), "{pongs} pongs");
    assert!((20..=24).contains(&refused), "{refused} refusals");
    assert_eq!(pongs + refused, events.len());
    let close = close.expect("a close frame");
    assert_eq!(close.code, 1008);
    assert!(close.reason.contains("rate limit"), "{}", close.reason);
}

fn idle_after(timeout: Duration) -> Config {
    let mut config = Config::for_tests();
    config.idle_timeout = Some(timeout);
    config
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_the_idle_timeout() {
    let app = spawn_app_with(idle_after(Duration::from_secs(1))).await;
    let mut client = app.client().await;
    let start = Instant::now();
    let (events, close) = client.until_closed(CLOSE_WAIT).await;
    assert!(events.is_empty(), "{events:?}");
    let close = close.expect("a close frame");
    assert_eq!(close.code, 1000);
    assert!(close.reason.contains("idle"), "{}", close.reason);
    assert!(start.elapsed() >= Duration::from_millis(900));
}

#[tokio::test]
async fn any_frame_keeps_a_connection_alive_websocket_pings_included() {
    let app = spawn_app_with(idle_after(Duration::from_secs(1))).await;
    let mut actions = app.client().await;
    let mut control = app.client().await;
    for i in 0..5 {
        tokio::time::sleep(Duration::from_millis(400)).await;
        actions.send(ping(&format!("k{i}"))).await;
        control.send_ws_ping().await;
    }
    // Two seconds in, both are still open.
    assert_eq!(
        actions.request("end", ping("end")).await["requestId"],
        "end"
    );
    assert_eq!(
        control.request("end", ping("end")).await["requestId"],
        "end"
    );
}

#[tokio::test]
async fn a_streaming_turn_is_not_cut_by_the_idle_timeout() {
    // About three seconds of streaming against a one-second idle timeout.
    let gateway = MockGateway::builder()
        .script(vec![ScriptedReply::Text(
            "a reply that takes its time to stream out to the client".into(),
        )])
        .chunk_delay(Duration::from_millis(200))
        .start()
        .await;
    let mut config = config_for(&gateway);
    config.idle_timeout = Some(Duration::from_secs(1));
    let app = spawn_app_with(config).await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    let start = Instant::now();
    let events = client.turn("r1", &session, "tell me slowly").await;
    assert!(
        start.elapsed() > Duration::from_secs(2),
        "the turn was slow"
    );
    assert_eq!(
        reply(&events),
        "a reply that takes its time to stream out to the client"
    );
    // The idle clock restarts when the turn ends.
    let ended = Instant::now();
    let (_, close) = client.until_closed(CLOSE_WAIT).await;
    assert_eq!(close.expect("a close frame").code, 1000);
    assert!(ended.elapsed() >= Duration::from_millis(900));
}

#[tokio::test]
async fn a_turn_waiting_for_approval_is_not_cut_by_the_idle_timeout() {
    let endpoint =
        super::tool_endpoint::ToolEndpoint::start(200, "Record 42 deleted.", Duration::ZERO).await;
    let (_gateway, app) = super::approval::gated_app_with(&endpoint, "Done.", |config| {
        config.idle_timeout = Some(Duration::from_secs(1));
    })
    .await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    super::approval::park(&mut client, &session).await;
    // The person takes their time to decide.
    client.expect_silence(Duration::from_millis(2000)).await;
    client
        .send(json!({"action": "confirm_tool_action", "requestId": "c1", "sessionId": session, "approved": true}))
        .await;
    let events = client.until_terminal("r1").await;
    assert_eq!(reply(&events), "Done.");
}

async fn connect(app: &TestApp) -> Result<Client, ClientError> {
    Client::connect(&app.ws_url()).await
}

#[tokio::test]
async fn the_per_address_cap_refuses_the_next_upgrade_with_429_until_one_closes() {
    let mut config = Config::for_tests();
    config.max_connections_per_ip = Some(2);
    let app = spawn_app_with(config).await;
    let first = connect(&app).await.expect("first");
    let mut second = connect(&app).await.expect("second");
    match connect(&app).await {
        Err(ClientError::Refused { status, body }) => {
            assert_eq!(status, 429);
            assert!(body.contains("too many connections"), "{body}");
        }
        other => panic!("expected a 429, got {:?}", other.map(|_| "a connection")),
    }
    // A refused upgrade takes no slot, and the open connections still work.
    assert_eq!(second.ping().await.unwrap()["type"], "pong");

    // A polite close gives the slot back...
    first.close().await.unwrap();
    let third = eventually_connect(&app).await;
    // ...and so does a connection that just drops.
    drop(third);
    let _fourth = eventually_connect(&app).await;
    assert!(matches!(
        connect(&app).await,
        Err(ClientError::Refused { status: 429, .. })
    ));
}

/// Connects once the server has let go of a closed connection's slot.
async fn eventually_connect(app: &TestApp) -> Client {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match connect(app).await {
            Ok(client) => return client,
            Err(ClientError::Refused { status: 429, .. }) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("cannot connect: {e}"),
        }
    }
}
