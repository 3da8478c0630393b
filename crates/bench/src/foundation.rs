//! `foundation`: figures for a running server.
//!
//! - ping round trip: sequential `ping` → `pong` on one connection, p50/p99;
//! - session creation rate: `create_conversation_session` over N connections;
//! - memory per idle connection: the server's resident memory (from
//!   `/proc/PID/status`) before and after opening idle connections, given `--pid`.

use crate::args::FoundationArgs;
use crate::stats::{ms, percentile};
use std::time::{Duration, Instant};
use switchboard_client::Client;

pub async fn run(args: &FoundationArgs) -> Result<(), switchboard_client::ClientError> {
    println!("switchboard-bench against {}", args.url);
    ping_round_trip(args).await?;
    session_rate(args).await?;
    match args.pid {
        Some(pid) => idle_memory(args, pid).await?,
        None => println!("idle memory: skipped (pass --pid with the server's process id)"),
    }
    Ok(())
}

async fn ping_round_trip(args: &FoundationArgs) -> Result<(), switchboard_client::ClientError> {
    let mut client = Client::connect(&args.url).await?;
    for _ in 0..100 {
        client.ping().await?;
    }
    let mut samples = Vec::with_capacity(args.pings);
    for _ in 0..args.pings {
        let start = Instant::now();
        client.ping().await?;
        samples.push(start.elapsed());
    }
    samples.sort();
    println!(
        "ping round trip ({} sequential pings): p50 {} p99 {} max {}",
        args.pings,
        ms(percentile(&samples, 0.50)),
        ms(percentile(&samples, 0.99)),
        ms(*samples.last().unwrap_or(&Duration::ZERO)),
    );
    client.close().await
}

async fn session_rate(args: &FoundationArgs) -> Result<(), switchboard_client::ClientError> {
    let per_connection = args.sessions.div_ceil(args.concurrency);
    let mut clients = Vec::new();
    for _ in 0..args.concurrency {
        clients.push(Client::connect(&args.url).await?);
    }
    let start = Instant::now();
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|mut client| {
            tokio::spawn(async move {
                for _ in 0..per_connection {
                    client
                        .create_session("11111111-1111-1111-1111-111111111111")
                        .await?;
                }
                client.close().await
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("bench task")?;
    }
    let elapsed = start.elapsed();
    let total = per_connection * args.concurrency;
    println!(
        "session creation: {total} sessions over {} connections in {:.2} s = {:.0} sessions/s",
        args.concurrency,
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}

async fn idle_memory(
    args: &FoundationArgs,
    pid: u32,
) -> Result<(), switchboard_client::ClientError> {
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = resident_kib(pid);
    let mut idle = Vec::with_capacity(args.idle);
    for _ in 0..args.idle {
        let mut client = Client::connect(&args.url).await?;
        client.ping().await?;
        idle.push(client);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = resident_kib(pid);
    match (before, after) {
        (Some(before), Some(after)) => println!(
            "idle connections: {} open, server resident memory {} KiB -> {} KiB = {:.1} KiB per connection",
            args.idle,
            before,
            after,
            after.saturating_sub(before) as f64 / args.idle as f64
        ),
        _ => println!("idle memory: cannot read /proc/{pid}/status"),
    }
    for client in idle {
        client.close().await?;
    }
    Ok(())
}

/// `VmRSS` of a process, in KiB.
fn resident_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
}
