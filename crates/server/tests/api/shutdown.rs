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
