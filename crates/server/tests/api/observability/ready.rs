//! `/ready` tells "up" from "able to serve": it is 503, with the reason, while the
//! backplane broker does not answer, and 200 again once it does; `/health` stays 200.

use super::get;
use secrecy::SecretString;
use std::time::{Duration, Instant};
use switchboard_server::config::BackplaneConfig;
use switchboard_testkit::spawn_app_with;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// A TCP relay to the real Redis on 127.0.0.1:6379 that can be cut (every
/// connection closed, new ones refused) and restored on the same port.
struct Relay {
    addr: std::net::SocketAddr,
    cut: CancellationToken,
}

impl Relay {
    async fn start(addr: &str) -> Self {
        let listener = TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cut = CancellationToken::new();
        let stop = cut.clone();
        tokio::spawn(async move {
            loop {
                let (mut inbound, _) = tokio::select! {
                    () = stop.cancelled() => return,
                    accepted = listener.accept() => accepted.unwrap(),
                };
                let stop = stop.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect("127.0.0.1:6379").await else {
                        return;
                    };
                    tokio::select! {
                        () = stop.cancelled() => {}
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                    }
                });
            }
        });
        Self { addr, cut }
    }
}

async fn wait_for(app: &switchboard_testkit::TestApp, status: u16) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (now, body) = get(app, "/ready").await;
        if now == status {
            return body;
        }
        assert!(Instant::now() < deadline, "/ready stayed {now}: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_follows_the_backplane_while_health_stays_up() {
    if TcpStream::connect("127.0.0.1:6379").await.is_err() {
        panic!("Redis is not running on 127.0.0.1:6379 (scripts/ensure-brokers starts it)");
    }
    let relay = Relay::start("127.0.0.1:0").await;
    let mut config = switchboard_server::Config::for_tests();
    config.backplane = BackplaneConfig::Redis {
        url: SecretString::from(format!("redis://{}", relay.addr)),
        channel: format!("switchboard-test.ready.{}", uuid::Uuid::new_v4().simple()),
    };
    let app = spawn_app_with(config).await;
    assert_eq!(get(&app, "/ready").await, (200, "ready".to_owned()));

    relay.cut.cancel();
    let reason = wait_for(&app, 503).await;
    assert!(reason.contains("backplane (redis)"), "{reason}");
    assert_eq!(get(&app, "/health").await.0, 200);

    // The broker comes back on the same address: ready again.
    let _back = Relay::start(&relay.addr.to_string()).await;
    wait_for(&app, 200).await;
}
