//! The bus suite against the NATS server on 127.0.0.1:4222, on a subject of its own.

use std::sync::Arc;
use switchboard_backplane_nats::NatsBus;
use switchboard_core::Bus;

const URL: &str = "nats://127.0.0.1:4222";

async fn replica(subject: &str) -> Arc<dyn Bus> {
    match NatsBus::connect(URL, subject).await {
        Ok(bus) => Arc::new(bus),
        Err(e) => panic!(
            "NATS is not reachable at {URL} ({e}). These tests need it: start it with \
             `nats-server -js &`."
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_passes_the_bus_suite() {
    let subject = format!("switchboard-test.{}", uuid::Uuid::new_v4().simple());
    switchboard_core::backplane::suite::run(|| replica(&subject)).await;
}

#[tokio::test]
async fn an_unreachable_server_is_a_clear_error() {
    let err = NatsBus::connect("nats://127.0.0.1:1", "x")
        .await
        .err()
        .expect("nothing listens on port 1");
    assert!(err.to_string().contains("nats: cannot connect"), "{err}");
}
