//! Half-sent HTTP requests (slowloris): connections that never finish their request
//! are timed out, capped per address, counted against the per-address cap, and
//! do not keep normal clients out.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use switchboard_client::Client;
use switchboard_server::Config;
use switchboard_testkit::{TestApp, spawn_app_with};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// The start of a request, never finished.
const HALF_SENT: &[u8] = b"GET /health";

/// A loopback source address other than the test client's, so the caps of one do
/// not touch the other.
fn attacker(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 1, n))
}

fn config(header_timeout: Duration, pending: Option<usize>) -> Config {
    let mut config = Config::for_tests();
    config.header_timeout = header_timeout;
    config.max_pending_per_ip = pending;
    config
}

/// A connection from `from` that sends `HALF_SENT` and nothing more.
async fn half_sent(from: IpAddr, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(from, 0)).unwrap();
    let mut stream = socket.connect(to).await.unwrap();
    // The server may already have closed it (over a cap): a failed write is fine.
    let _ = stream.write_all(HALF_SENT).await;
    stream
}

/// Whether the server closes `stream` within `wait` (whatever it sends first).
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let read_to_end = async {
        let mut buf = [0u8; 1024];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(wait, read_to_end).await.is_ok()
}

/// `GET /health` from `from`: the status line of the answer.
async fn health_from(from: IpAddr, app: &TestApp) -> String {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(from, 0)).unwrap();
    let mut stream = socket.connect(app.addr).await.unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    tokio::time::timeout(
        Duration::from_secs(10),
        stream.read_to_string(&mut response),
    )
    .await
    .expect("an answer to /health within 10 s")
    .unwrap();
    response.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn half_sent_requests_are_closed_after_the_header_timeout() {
    let app = spawn_app_with(config(Duration::from_secs(1), None)).await;
    let mut held = Vec::new();
    for _ in 0..20 {
        held.push(half_sent(attacker(1), app.addr).await);
    }
    for stream in &mut held {
        assert!(
            closed_within(stream, Duration::from_secs(15)).await,
            "a half-sent request was still open long after the 1 s header timeout"
        );
    }
}

#[tokio::test]
async fn an_address_over_its_pending_cap_is_closed_at_once_and_others_are_served() {
    // A header timeout far away: only the cap can close anything here.
    let app = spawn_app_with(config(Duration::from_secs(600), Some(5))).await;
    let mut held = Vec::new();
    for _ in 0..30 {
        held.push(half_sent(attacker(2), app.addr).await);
    }
    let mut closed = 0;
    let mut open = 0;
    for stream in &mut held {
        if closed_within(stream, Duration::from_millis(500)).await {
            closed += 1;
        } else {
            open += 1;
        }
    }
    assert_eq!(
        (open, closed),
        (5, 25),
        "the cap of 5 pending connections per address"
    );
    // Every other address is served, over HTTP and WebSocket.
    assert!(health_from(attacker(3), &app).await.contains(" 200 "));
    assert!(
        health_from(IpAddr::from([127, 0, 0, 1]), &app)
            .await
            .contains(" 200 ")
    );
    let mut client = Client::connect(&app.ws_url()).await.expect("a WebSocket");
    assert_eq!(client.ping().await.unwrap()["type"], "pong");
    drop(held);
}

#[tokio::test]
async fn half_sent_requests_count_against_the_per_address_cap() {
    let mut config = config(Duration::from_secs(600), None);
    config.max_connections_per_ip = Some(3);
    let app = spawn_app_with(config).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(half_sent(attacker(4), app.addr).await);
    }
    let refused = health_from(attacker(4), &app).await;
    assert!(refused.contains(" 429 "), "{refused}");
    // Other addresses are untouched, and the slots come back when they close.
    assert!(
        health_from(IpAddr::from([127, 0, 0, 1]), &app)
            .await
            .contains(" 200 ")
    );
    drop(held);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let status = health_from(attacker(4), &app).await;
        if status.contains(" 200 ") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{status}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
