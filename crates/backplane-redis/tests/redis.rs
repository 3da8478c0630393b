//! The bus suite against the Redis server on 127.0.0.1:6379, on a channel of its own.

use std::sync::Arc;
use switchboard_backplane_redis::RedisBus;
use switchboard_core::Bus;

const URL: &str = "redis://127.0.0.1:6379";

async fn replica(channel: &str) -> Arc<dyn Bus> {
    match RedisBus::connect(URL, channel).await {
        Ok(bus) => Arc::new(bus),
        Err(e) => panic!(
            "Redis is not reachable at {URL} ({e}). These tests need it: start it with \
             `redis-server --daemonize yes`."
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_passes_the_bus_suite() {
    let channel = format!("switchboard-test:{}", uuid::Uuid::new_v4());
    switchboard_core::backplane::suite::run(|| replica(&channel)).await;
}

#[tokio::test]
async fn an_unreachable_server_is_a_clear_error() {
    let err = RedisBus::connect("redis://127.0.0.1:1", "x")
        .await
        .err()
        .expect("nothing listens on port 1");
    assert!(err.to_string().contains("redis: cannot connect"), "{err}");
}
