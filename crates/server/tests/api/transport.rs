//! Frame handling: bad input gets a clear error and the socket stays usable.

use serde_json::json;
use switchboard_testkit::spawn_app;

#[tokio::test]
async fn ping_gets_pong_with_mirrored_timestamp() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    let pong = client.request("p1", json!({"action": "ping"})).await;
    assert_eq!(pong["type"], "pong");
    assert_eq!(pong["timestamp"], pong["data"]["timestamp"]);
    let now = switchboard_protocol::now_ms();
    let ts = pong["timestamp"].as_i64().unwrap();
    assert!(
        (now - ts).abs() < 5_000,
        "pong timestamp {ts} is far from now {now}"
    );
}

#[tokio::test]
async fn bad_frames_get_errors_and_the_socket_stays_open() {
    let app = spawn_app().await;
    let mut client = app.client().await;

    client.send_binary(vec![0, 1, 2]).await;
    let e = client.next().await;
    assert_eq!(e["error"]["code"], "VALIDATION_ERROR");
    assert_eq!(
        e["error"]["message"],
        "binary frames are not supported; send JSON text frames"
    );
    assert!(e.get("requestId").is_none());

    client.send_text("{this is not json").await;
    let e = client.next().await;
    assert_eq!(e["error"]["code"], "VALIDATION_ERROR");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("invalid JSON frame")
    );

    client.send_text("[1, 2, 3]").await;
    assert_eq!(
        client.next().await["error"]["message"],
        "missing 'action' field"
    );

    let e = client.request("r-noaction", json!({"message": "hi"})).await;
    assert_eq!(e["error"]["code"], "VALIDATION_ERROR");
    assert_eq!(e["data"]["requestId"], "r-noaction");

    let e = client.request("r1", json!({"action": "frobnicate"})).await;
    assert_eq!(e["error"]["code"], "UNSUPPORTED_ACTION");
    assert_eq!(e["data"]["error"]["code"], "UNSUPPORTED_ACTION");
    assert_eq!(
        e["error"]["message"],
        "action 'frobnicate' is not supported by this server"
    );

    // There is no `get_messages` alias.
    let e = client
        .request("r2", json!({"action": "get_messages", "sessionId": "x"}))
        .await;
    assert_eq!(e["error"]["code"], "UNSUPPORTED_ACTION");

    let pong = client
        .request("still-open", json!({"action": "ping"}))
        .await;
    assert_eq!(pong["type"], "pong");
}

#[tokio::test]
async fn a_field_of_the_wrong_type_is_named() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    let e = client
        .request(
            "r",
            json!({"action": "create_conversation_session", "agentId": "a", "metadata": "nope"}),
        )
        .await;
    assert_eq!(e["error"]["code"], "VALIDATION_ERROR");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("metadata"),
        "{e}"
    );
}

/// The client's side of this is in `limits.rs`.
#[tokio::test]
async fn frames_larger_than_the_limit_close_only_that_connection() {
    let mut config = switchboard_server::Config::for_tests();
    config.max_frame_bytes = 4096;
    let app = switchboard_testkit::spawn_app_with(config).await;
    let mut big = app.client().await;
    let huge = format!(r#"{{"action":"ping","pad":"{}"}}"#, "x".repeat(10_000));
    big.send_text(&huge).await;
    let mut other = app.client().await;
    assert_eq!(
        other.request("p", json!({"action": "ping"})).await["type"],
        "pong"
    );
}

#[tokio::test]
async fn responses_come_back_in_request_order() {
    // Fifty frames at once is more than the default rate limit lets through.
    let mut config = switchboard_server::Config::for_tests();
    config.rate_limit = None;
    let app = switchboard_testkit::spawn_app_with(config).await;
    let mut client = app.client().await;
    for i in 0..50 {
        client
            .send(json!({"action": "ping", "requestId": format!("p{i}")}))
            .await;
    }
    for i in 0..50 {
        let pong = client.next().await;
        assert_eq!(pong["type"], "pong");
        assert_eq!(pong["requestId"], format!("p{i}"));
    }
}

#[tokio::test]
async fn a_text_frame_that_is_not_utf8_gets_an_error_and_a_1007_close() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
    let app = spawn_app().await;
    let (mut ws, _) = tokio_tungstenite::connect_async(app.ws_url())
        .await
        .unwrap();
    let invalid = Frame::message(vec![b'{', 0xff, 0xfe, b'}'], OpCode::Data(Data::Text), true);
    ws.send(Message::Frame(invalid)).await.unwrap();

    let mut error = None;
    let close = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while let Some(message) = ws.next().await {
            match message {
                Ok(Message::Text(text)) => {
                    error = Some(serde_json::from_str::<serde_json::Value>(&text).unwrap());
                }
                Ok(Message::Close(frame)) => return frame,
                Ok(_) => {}
                Err(e) => panic!("the connection broke without a close frame: {e}"),
            }
        }
        None
    })
    .await
    .expect("the server closes the connection");
    let close = close.expect("a close frame with a code");
    assert_eq!(u16::from(close.code), 1007, "{close:?}");
    let error = error.expect("an error event before the close");
    assert_eq!(error["error"]["code"], "VALIDATION_ERROR");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("UTF-8"),
        "{error}"
    );
}
