//! `soak`: normal clients next to many half-open connections (slowloris), then a
//! SIGTERM.
//!
//! Starts a `switchboard` process on loopback. Half-open connections send the start
//! of a request and never finish it; each is reopened when the server closes it, so
//! the count holds for the whole run. They come from `--attack-addresses` loopback
//! addresses (127.0.1.x), normal clients from 127.0.0.1. Normal clients cycle:
//! WebSocket connect, protocol pings, close, and a `GET /health` on a fresh
//! connection; each is timed. At the end the server gets SIGTERM with the
//! half-open connections still held, and the time until it exits is printed.

use crate::args::SoakArgs;
use crate::stats::{ms, percentile};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use switchboard_client::Client;
use switchboard_testkit::process::ServerProcess;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;
use tokio_util::sync::CancellationToken;

/// What a half-open connection sends: a request line and one header, no end.
const HALF_SENT: &[u8] = b"GET /health HTTP/1.1\r\nHost: soak\r\n";
/// Protocol pings per WebSocket connection of a normal client.
const PINGS_PER_CONNECTION: usize = 20;
/// Pause between a normal client's pings.
const PING_GAP: Duration = Duration::from_millis(25);
/// Any single step of a normal client taking longer counts as a failure.
const STEP_LIMIT: Duration = Duration::from_secs(10);

/// Timings of the normal clients.
#[derive(Default)]
struct Samples {
    connect: Vec<Duration>,
    ping: Vec<Duration>,
    health: Vec<Duration>,
    failures: usize,
}

pub async fn run(args: &SoakArgs) -> Result<(), String> {
    let drain = args.drain.to_string();
    let env = [
        ("SMOOTH_AGENT_DRAIN_SECS", drain.as_str()),
        // The normal clients are a load generator: their frame rate is not a person's.
        ("SMOOTH_AGENT_RATE_LIMIT_PER_SEC", "1000"),
        ("SMOOTH_AGENT_RATE_LIMIT_BURST", "1000"),
    ];
    let server = ServerProcess::start(&args.server, &env).await?;
    let addr: SocketAddr = server
        .url()
        .trim_start_matches("ws://")
        .trim_end_matches("/ws")
        .parse()
        .map_err(|e| format!("the server's address: {e}"))?;
    if !addr.ip().is_loopback() {
        return Err(format!("{addr} is not a loopback address"));
    }
    println!(
        "soak: {} half-open connections from {} addresses + {} normal clients for {} s (drain {} s)",
        args.half_open, args.attack_addresses, args.clients, args.secs, args.drain
    );
    let stop = CancellationToken::new();
    let reopened = Arc::new(AtomicUsize::new(0));
    let attackers: Vec<_> = (0..args.half_open)
        .map(|i| {
            let from = attack_address(i % args.attack_addresses);
            tokio::spawn(hold_half_open(from, addr, stop.clone(), reopened.clone()))
        })
        .collect();
    // Let the half-open connections pile up before the clock starts.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let deadline = Instant::now() + Duration::from_secs(args.secs);
    let clients: Vec<_> = (0..args.clients)
        .map(|_| tokio::spawn(normal_client(server.url().to_owned(), addr, deadline)))
        .collect();
    let mut samples = Samples::default();
    for client in clients {
        let one = client.await.map_err(|e| e.to_string())?;
        samples.connect.extend(one.connect);
        samples.ping.extend(one.ping);
        samples.health.extend(one.health);
        samples.failures += one.failures;
    }
    report(&mut samples, reopened.load(Ordering::Relaxed));

    // SIGTERM with the half-open connections still held.
    let started = Instant::now();
    let status = server.stop();
    let took = started.elapsed();
    stop.cancel();
    for attacker in attackers {
        let _ = attacker.await;
    }
    match status {
        Ok(status) => println!(
            "SIGTERM -> exit: {} ({status}), drain bound {} s",
            ms(took),
            args.drain
        ),
        Err(e) => println!("SIGTERM -> {e}"),
    }
    Ok(())
}

/// The `n`th attacking source address: 127.0.1.1, 127.0.1.2, ...
fn attack_address(n: usize) -> IpAddr {
    let n = n as u16 + 1;
    IpAddr::V4(Ipv4Addr::new(127, 0, 1 + (n / 256) as u8, (n % 256) as u8))
}

/// Keeps one half-sent request open from `from`, reopening it whenever the server
/// closes it, until `stop`.
async fn hold_half_open(
    from: IpAddr,
    to: SocketAddr,
    stop: CancellationToken,
    reopened: Arc<AtomicUsize>,
) {
    while !stop.is_cancelled() {
        let held = async {
            let socket = TcpSocket::new_v4()?;
            socket.bind(SocketAddr::new(from, 0))?;
            let mut stream = socket.connect(to).await?;
            stream.write_all(HALF_SENT).await?;
            let mut buf = [0u8; 512];
            while stream.read(&mut buf).await? > 0 {}
            Ok::<_, std::io::Error>(())
        };
        tokio::select! {
            () = stop.cancelled() => return,
            _ = held => {
                reopened.fetch_add(1, Ordering::Relaxed);
                // Refused at once (over a cap): do not spin.
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// One normal client's cycles until `deadline`.
async fn normal_client(url: String, addr: SocketAddr, deadline: Instant) -> Samples {
    let mut samples = Samples::default();
    while Instant::now() < deadline {
        let started = Instant::now();
        let mut client = match tokio::time::timeout(STEP_LIMIT, Client::connect(&url)).await {
            Ok(Ok(client)) => client,
            _ => {
                samples.failures += 1;
                continue;
            }
        };
        samples.connect.push(started.elapsed());
        for _ in 0..PINGS_PER_CONNECTION {
            let started = Instant::now();
            match tokio::time::timeout(STEP_LIMIT, client.ping()).await {
                Ok(Ok(_)) => samples.ping.push(started.elapsed()),
                _ => samples.failures += 1,
            }
            tokio::time::sleep(PING_GAP).await;
        }
        let _ = client.close().await;
        let started = Instant::now();
        match tokio::time::timeout(STEP_LIMIT, health(addr)).await {
            Ok(Ok(true)) => samples.health.push(started.elapsed()),
            _ => samples.failures += 1,
        }
    }
    samples
}

/// `GET /health` on a fresh connection: whether it answered 200.
async fn health(addr: SocketAddr) -> std::io::Result<bool> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n")
        .await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    Ok(response.starts_with(b"HTTP/1.1 200"))
}

fn report(samples: &mut Samples, reopened: usize) {
    println!("normal clients  samples  p50         p99         max");
    for (name, values) in [
        ("ws connect", &mut samples.connect),
        ("ping", &mut samples.ping),
        ("GET /health", &mut samples.health),
    ] {
        values.sort();
        println!(
            "{name:<15} {:>7}  {:<11} {:<11} {}",
            values.len(),
            ms(percentile(values, 0.50)),
            ms(percentile(values, 0.99)),
            ms(values.last().copied().unwrap_or_default()),
        );
    }
    println!(
        "failed steps: {}; half-open connections closed by the server and reopened: {reopened}",
        samples.failures
    );
}
