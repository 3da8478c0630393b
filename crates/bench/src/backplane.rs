//! `backplane`: events published on one replica, received by clients of another.
//!
//! Starts two `switchboard` processes joined by Redis or NATS, connects clients to
//! the second, and publishes through the first one's `POST /admin/publish`. What is
//! timed is what an integrating service sees: from sending the HTTP request to
//! replica A until the event arrives on a WebSocket of replica B. The same is timed
//! with both on B, so the broker's share shows.

use crate::args::BackplaneArgs;
use crate::stats::{ms, percentile};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard_client::Client;
use switchboard_testkit::process::ServerProcess;
use tokio::sync::Mutex;

const AGENT_ID: &str = "22222222-2222-2222-2222-222222222222";
/// `AUTH_MODE=none` makes any bearer token the administrator of this organisation,
/// the one anonymous visitors' sessions land in.
const ORG: &str = "reference-org";
const EVENT_LIMIT: Duration = Duration::from_secs(10);

pub async fn run(args: &BackplaneArgs) -> Result<(), String> {
    println!(
        "cross-replica events ({} receivers on replica B; latency over {} sequential events, throughput over {} events, {} publishers in flight)",
        args.receivers, args.events, args.burst, args.in_flight
    );
    println!("broker  path     p50        p99        max        | events/s  deliveries/s");
    for broker in &args.brokers {
        measure_broker(args, broker).await?;
    }
    Ok(())
}

async fn measure_broker(args: &BackplaneArgs, broker: &str) -> Result<(), String> {
    let url = match broker {
        "redis" => "redis://127.0.0.1:6379",
        "nats" => "nats://127.0.0.1:4222",
        other => return Err(format!("unknown broker '{other}' (expected redis or nats)")),
    };
    let channel = format!("switchboard-bench.{}", std::process::id());
    let env = [
        ("SMOOTH_AGENT_BACKPLANE", broker),
        ("SMOOTH_AGENT_BACKPLANE_URL", url),
        ("SMOOTH_AGENT_BACKPLANE_CHANNEL", channel.as_str()),
        ("AUTH_MODE", "none"),
        ("AUTH_DEV_ORG_ID", ORG),
        // A load generator is not a person: raise the per-connection limits.
        ("SMOOTH_AGENT_RATE_LIMIT_PER_SEC", "1000000"),
        ("SMOOTH_AGENT_RATE_LIMIT_BURST", "1000000"),
        ("SMOOTH_AGENT_MAX_CONNECTIONS_PER_IP", "100000"),
        ("SMOOTH_AGENT_SESSIONS_PER_HOUR_PER_IP", "0"),
        ("SMOOTH_AGENT_SESSIONS_PER_HOUR_PER_ORG", "0"),
        ("SMOOTH_AGENT_STORED_BYTES_PER_DAY_PER_ORG", "0"),
        ("SMOOTH_AGENT_MAX_PENDING_PER_IP", "0"),
        ("SMOOTH_AGENT_OUTBOUND_QUEUE", "4096"),
    ];
    let a = ServerProcess::start(&args.server, &env).await?;
    let b = ServerProcess::start(&args.server, &env).await?;
    let receivers = connect_receivers(&b, args.receivers).await?;
    // reqwest is built without a TLS provider of its own (see the workspace manifest).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();

    for (path, publisher) in [("A -> B", &a), ("B -> B", &b)] {
        let publish_url = format!("{}/admin/publish", http_base(publisher));
        // Warm up the connections and the broker.
        for n in 0..20 {
            publish(&http, &publish_url, n).await?;
            receive_all(&receivers, n).await?;
        }
        let mut samples = Vec::with_capacity(args.events);
        for n in 20..20 + args.events {
            let start = Instant::now();
            publish(&http, &publish_url, n).await?;
            receive_all(&receivers, n).await?;
            samples.push(start.elapsed());
        }
        samples.sort();
        let (rate, deliveries) =
            throughput(&http, &publish_url, &receivers, args, 20 + args.events).await?;
        println!(
            "{broker:<6}  {path}  {:<9}  {:<9}  {:<9}  | {rate:<8.0}  {deliveries:.0}",
            ms(percentile(&samples, 0.5)),
            ms(percentile(&samples, 0.99)),
            ms(*samples.last().unwrap_or(&Duration::ZERO)),
        );
    }
    a.stop()?;
    b.stop()?;
    Ok(())
}

type Receivers = Vec<Arc<Mutex<Client>>>;

async fn connect_receivers(replica: &ServerProcess, count: usize) -> Result<Receivers, String> {
    let mut receivers = Vec::with_capacity(count);
    for _ in 0..count {
        let mut client = Client::connect(replica.url())
            .await
            .map_err(|e| format!("connecting to {}: {e}", replica.url()))?;
        client
            .create_session(AGENT_ID)
            .await
            .map_err(|e| format!("creating a session: {e}"))?;
        receivers.push(Arc::new(Mutex::new(client)));
    }
    Ok(receivers)
}

fn http_base(replica: &ServerProcess) -> String {
    let host = replica
        .url()
        .trim_start_matches("ws://")
        .trim_end_matches("/ws");
    format!("http://{host}")
}

fn event(n: usize) -> Value {
    json!({"type": "stream_token", "requestId": "bench",
           "data": {"requestId": "bench", "token": n.to_string()}})
}

async fn publish(http: &reqwest::Client, url: &str, n: usize) -> Result<(), String> {
    let reply = http
        .post(url)
        .bearer_auth("bench")
        .json(&json!({"target": {"type": "agent", "id": AGENT_ID}, "event": event(n)}))
        .send()
        .await
        .map_err(|e| format!("publishing: {e}"))?;
    if !reply.status().is_success() {
        let status = reply.status();
        let body = reply.text().await.unwrap_or_default();
        return Err(format!("publishing answered {status}: {body}"));
    }
    Ok(())
}

/// Waits until every receiver has event `n`; earlier ones are skipped.
async fn receive_all(receivers: &Receivers, n: usize) -> Result<(), String> {
    for receiver in receivers {
        receive(&mut *receiver.lock().await, n).await?;
    }
    Ok(())
}

async fn receive(client: &mut Client, n: usize) -> Result<(), String> {
    let want = n.to_string();
    loop {
        let event = client
            .expect_event(EVENT_LIMIT)
            .await
            .map_err(|e| format!("waiting for event {n}: {e}"))?;
        if event["data"]["token"].as_str() == Some(want.as_str()) {
            return Ok(());
        }
    }
}

/// Publishes `args.burst` events with `args.in_flight` requests outstanding and
/// times until every receiver has them all, checking each receives them in order.
async fn throughput(
    http: &reqwest::Client,
    url: &str,
    receivers: &Receivers,
    args: &BackplaneArgs,
    first: usize,
) -> Result<(f64, f64), String> {
    let start = Instant::now();
    let readers: Vec<_> = receivers
        .iter()
        .map(|receiver| {
            let receiver = receiver.clone();
            let count = args.burst;
            tokio::spawn(async move {
                let mut client = receiver.lock().await;
                // With several publishers in flight, A's requests may be handled out
                // of order; what must hold is that each arrives once.
                let mut seen = vec![false; count];
                let mut remaining = count;
                while remaining > 0 {
                    let event = client
                        .expect_event(EVENT_LIMIT)
                        .await
                        .map_err(|e| format!("during the burst: {e}"))?;
                    let Some(n) = event["data"]["token"]
                        .as_str()
                        .and_then(|t| t.parse::<usize>().ok())
                        .and_then(|n| n.checked_sub(first))
                        .filter(|n| *n < count)
                    else {
                        continue;
                    };
                    if !std::mem::replace(&mut seen[n], true) {
                        remaining -= 1;
                    }
                }
                Ok::<_, String>(())
            })
        })
        .collect();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let publishers: Vec<_> = (0..args.in_flight)
        .map(|_| {
            let (http, url, next) = (http.clone(), url.to_owned(), next.clone());
            let burst = args.burst;
            tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if n >= burst {
                        return Ok::<_, String>(());
                    }
                    publish(&http, &url, first + n).await?;
                }
            })
        })
        .collect();
    for task in publishers.into_iter().chain(readers) {
        task.await.map_err(|e| format!("a task failed: {e}"))??;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let events = args.burst as f64 / elapsed;
    Ok((events, events * receivers.len() as f64))
}
