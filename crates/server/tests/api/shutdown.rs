//! Graceful shutdown: stop accepting, close sockets politely, return.

use std::time::Duration;
use switchboard_testkit::spawn_app;

#[tokio::test]
async fn shutdown_closes_idle_connections_and_returns() {
    let app = spawn_app().await;
    let addr = app.addr;
    let mut client = switchboard_client::Client::connect(&app.ws_url())
        .await
        .unwrap();
    client.ping().await.unwrap();

    let started = std::time::Instant::now();
    app.shutdown().await.expect("serve returns Ok");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "idle connections must not hold shutdown"
    );

    // The client sees the socket close, and nothing listens any more.
    let closed = client.next_event_within(Duration::from_secs(2)).await;
    assert!(
        matches!(closed, Err(switchboard_client::ClientError::Closed)),
        "{closed:?}"
    );
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn shutdown_lets_a_running_turn_finish_and_deliver_its_answer() {
    use switchboard_testkit::mock_gateway::{MockGateway, ScriptedReply};
    let gateway = MockGateway::builder()
        .script(vec![ScriptedReply::Text("one two three four five".into())])
        .chunk_delay(Duration::from_millis(150))
        .start()
        .await;
    let app = switchboard_testkit::spawn_app_with(switchboard_testkit::config_for(&gateway)).await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    client
        .send(serde_json::json!({"action": "send_message", "requestId": "r1", "sessionId": session, "message": "count"}))
        .await;
    client.until("stream_token").await;
    let shutdown = tokio::spawn(app.shutdown());
    let events = client.until_terminal("r1").await;
    let last = events.last().unwrap();
    assert_eq!(last["type"], "eventual_response", "the turn drains: {last}");
    assert_eq!(
        last["data"]["data"]["response"]["responseParts"][0],
        "one two three four five"
    );
    shutdown.await.unwrap().expect("serve returns Ok");
}
