//! `turns`: agent turns against a `switchboard` this benchmark starts, with the
//! scripted mock LLM gateway running in this process, so what is measured is the
//! server's own cost: turns per second, server CPU per turn, and the latency the
//! server adds between the gateway's first byte and the client's first token. Each
//! store of `--stores` gets a server of its own, one after the other, and the run
//! ends with their figures side by side, and the SQLite file's size per 1,000
//! messages.

use crate::args::{TurnStore, TurnsArgs};
use crate::cpu::{self, CpuMeter, CpuUsed};
use crate::postgres::Throwaway;
use crate::stats::{ms, percentile};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use switchboard_client::{Client, ClientError};
use switchboard_testkit::mock_gateway::{MockGateway, ScriptedReply};
use switchboard_testkit::process::ServerProcess;

const AGENT_ID: &str = "11111111-1111-1111-1111-111111111111";
const REPLY: &str = "Hello from the engine! This is a benchmark reply.";
/// Turns run before each measurement, spread over its connections.
const WARM_UP_TURNS: usize = 20;
/// The longest wait for any one event of a turn before the benchmark gives up.
const EVENT_LIMIT: Duration = Duration::from_secs(30);

pub async fn run(args: &TurnsArgs) -> Result<(), String> {
    let gateway = MockGateway::builder()
        .script(vec![ScriptedReply::Text(REPLY.into())])
        .repeat_last(true)
        .start()
        .await;
    let mut all = Vec::new();
    for &store in &args.stores {
        all.push(run_store(args, store, &gateway).await?);
    }
    if all.len() > 1 {
        print_side_by_side(args, &all);
    }
    Ok(())
}

/// What one store's server did: turns/s and server CPU ms per turn by concurrency.
struct StoreFigures {
    store: TurnStore,
    levels: Vec<(usize, f64, f64)>,
}

/// Starts a server on `store`, measures every concurrency level, stops it.
async fn run_store(
    args: &TurnsArgs,
    store: TurnStore,
    gateway: &MockGateway,
) -> Result<StoreFigures, String> {
    // Dropped before the gateway on every path, so a draining turn can still finish.
    // A load generator sends turns far faster than a person: the per-connection
    // limits are raised so they never refuse it (they are still counted).
    let database = match (store, &args.postgres) {
        (TurnStore::Postgres, Some(server)) => Some(Throwaway::create(server).await?),
        _ => None,
    };
    let data_dir = std::env::temp_dir().join(format!(
        "sb-bench-turns-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos())
    ));
    let data_dir_text = data_dir.display().to_string();
    let gateway_url = gateway.url();
    let mut env = vec![
        ("SMOOAI_GATEWAY_URL", gateway_url.as_str()),
        ("SMOOTH_AGENT_RATE_LIMIT_PER_SEC", "1000000"),
        ("SMOOTH_AGENT_RATE_LIMIT_BURST", "1000000"),
        ("SMOOTH_AGENT_MAX_CONNECTIONS_PER_IP", "100000"),
        ("SMOOTH_AGENT_SESSIONS_PER_HOUR_PER_IP", "0"),
        ("SMOOTH_AGENT_SESSIONS_PER_HOUR_PER_ORG", "0"),
        ("SMOOTH_AGENT_STORED_BYTES_PER_DAY_PER_ORG", "0"),
        ("SMOOTH_AGENT_MAX_PENDING_PER_IP", "0"),
    ];
    match (store, &database) {
        (TurnStore::Memory, _) => env.push(("SMOOTH_AGENT_STORAGE", "memory")),
        (TurnStore::Sqlite, _) => {
            env.push(("SMOOTH_AGENT_STORAGE", "sqlite"));
            env.push(("SMOOTH_AGENT_DATA_DIR", data_dir_text.as_str()));
        }
        (TurnStore::SqliteProcess, _) => {
            env.push(("SMOOTH_AGENT_STORAGE", "sqlite"));
            env.push(("SMOOTH_AGENT_SQLITE_DURABILITY", "process"));
            env.push(("SMOOTH_AGENT_DATA_DIR", data_dir_text.as_str()));
        }
        (TurnStore::Postgres, Some(database)) => {
            env.push(("SMOOTH_AGENT_STORAGE", "postgres"));
            env.push(("SMOOTH_AGENT_DATABASE_URL", database.url()));
        }
        (TurnStore::Postgres, None) => return Err("PostgreSQL needs --postgres".into()),
    }
    let sink = if args.otlp {
        Some(crate::otlp_sink::Sink::start().await?)
    } else {
        None
    };
    if let Some(sink) = &sink {
        env.push(("OTEL_EXPORTER_OTLP_ENDPOINT", sink.url.as_str()));
        env.push(("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"));
    }
    let server = match ServerProcess::start(&args.server, &env).await {
        Ok(server) => server,
        Err(error) => {
            if let Some(database) = database {
                database.drop().await?;
            }
            std::fs::remove_dir_all(&data_dir).ok();
            return Err(error);
        }
    };
    let measured = measure_all(args, store, &server, gateway).await;
    let status = server.stop()?;
    if let Some(sink) = &sink {
        let (requests, bytes) = sink.received();
        println!("trace export: {requests} OTLP requests, {bytes} bytes received");
    }
    if let Some(database) = database {
        database.drop().await?;
    }
    if matches!(store, TurnStore::Sqlite | TurnStore::SqliteProcess) {
        let size = sqlite_size(&data_dir.join("switchboard.db")).await;
        std::fs::remove_dir_all(&data_dir).ok();
        match size {
            Ok(line) => println!("{line}"),
            Err(why) => println!("SQLite size: not reported: {why}"),
        }
    }
    let levels = measured?;
    if !status.success() {
        return Err(format!("the server exited with {status} after SIGTERM"));
    }
    Ok(StoreFigures { store, levels })
}

/// The size of the SQLite file a server left, per 1,000 of its messages.
async fn sqlite_size(path: &std::path::Path) -> Result<String, String> {
    use sqlx::Connection;
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
    let mut connection = sqlx::SqliteConnection::connect_with(&options)
        .await
        .map_err(|e| e.to_string())?;
    // Whatever the write-ahead log still holds goes into the file first.
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut connection)
        .await
        .map_err(|e| e.to_string())?;
    let bytes = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
    let counts: (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM messages), (SELECT count(*) FROM conversations)",
    )
    .fetch_one(&mut connection)
    .await
    .map_err(|e| e.to_string())?;
    let _ = connection.close().await;
    let (messages, conversations) = counts;
    if messages == 0 {
        return Err("no messages were stored".into());
    }
    Ok(format!(
        "SQLite file: {:.1} MiB for {messages} messages in {conversations} conversations: {:.0} KiB per 1,000 messages",
        bytes as f64 / 1048576.0,
        bytes as f64 / 1024.0 / messages as f64 * 1000.0
    ))
}

/// One table: turns/s and server CPU per turn of every store, by concurrency.
fn print_side_by_side(args: &TurnsArgs, all: &[StoreFigures]) {
    println!();
    println!("side by side: turns/s (server CPU ms/turn, schedstat; x memory's CPU)");
    let mut header = format!("{:<11}", "concurrency");
    for figures in all {
        header.push_str(&format!("  {:<30}", figures.store.label()));
    }
    println!("{header}");
    let memory = all.iter().find(|f| f.store == TurnStore::Memory);
    for (i, &concurrency) in args.concurrency.iter().enumerate() {
        let mut line = format!("{concurrency:<11}");
        for figures in all {
            let (_, rate, cpu) = figures.levels[i];
            let ratio = memory
                .map(|m| m.levels[i].2)
                .filter(|m| *m > 0.0)
                .map_or(String::new(), |m| format!("; x{:.2}", cpu / m));
            line.push_str(&format!(
                "  {:<30}",
                format!("{rate:.0} ({cpu:.3} ms{ratio})")
            ));
        }
        println!("{line}");
    }
}

async fn measure_all(
    args: &TurnsArgs,
    store: TurnStore,
    server: &ServerProcess,
    gateway: &MockGateway,
) -> Result<Vec<(usize, f64, f64)>, String> {
    println!(
        "turns against the mock gateway (server: {}, store: {}, trace export: {})",
        args.server.display(),
        store.label(),
        if args.otlp { "OTLP/HTTP" } else { "off" }
    );
    println!(
        "concurrency  turns  failed  wall s   turns/s  server CPU ms/turn (schedstat | stat)  bench CPU ms/turn"
    );
    let mut latency = None;
    let mut levels = Vec::new();
    for &concurrency in &args.concurrency {
        let level = measure(server, gateway, concurrency, args.turns).await?;
        let per_turn = |d: Duration| d.as_secs_f64() * 1000.0 / args.turns as f64;
        let rate = args.turns as f64 / level.wall.as_secs_f64();
        println!(
            "{:<11}  {:<5}  {:<6}  {:<7.2}  {:<7.0}  {:>8.3} | {:<8.3}                    {:.3}",
            concurrency,
            args.turns,
            level.failures.len(),
            level.wall.as_secs_f64(),
            rate,
            per_turn(level.server_cpu.schedstat),
            per_turn(level.server_cpu.stat),
            per_turn(level.bench_cpu),
        );
        levels.push((concurrency, rate, per_turn(level.server_cpu.schedstat)));
        if let Some(first) = level.failures.first() {
            println!("  first failure: {first}");
        }
        if concurrency == 1 {
            latency = Some(server_latency(&level, gateway));
        }
    }
    match latency {
        Some(Ok(line)) => println!("{line}"),
        Some(Err(why)) => println!("server-added latency: not reported: {why}"),
        None => println!("server-added latency: not measured (only at concurrency 1)"),
    }
    Ok(levels)
}

/// One connection with its session.
struct Connection {
    client: Client,
    session_id: String,
    name: String,
    sent: usize,
}

/// What the client saw of one turn.
struct TurnSeen {
    first_token: Option<Instant>,
    error: Option<String>,
}

/// The figures of one concurrency level.
struct Level {
    wall: Duration,
    server_cpu: CpuUsed,
    bench_cpu: Duration,
    failures: Vec<String>,
    /// The measured turns of every connection, connection by connection.
    turns: Vec<TurnSeen>,
    /// The gateway's `first_byte_sent_at` entries before and after the measured run.
    gateway_first_bytes: (usize, usize),
}

async fn measure(
    server: &ServerProcess,
    gateway: &MockGateway,
    concurrency: usize,
    turns: usize,
) -> Result<Level, String> {
    let mut connections = Vec::with_capacity(concurrency);
    for i in 0..concurrency {
        let mut client = Client::connect(server.url())
            .await
            .map_err(|e| format!("connecting to {}: {e}", server.url()))?;
        let session = client
            .create_session(AGENT_ID)
            .await
            .map_err(|e| format!("creating a session: {e}"))?;
        connections.push(Connection {
            client,
            session_id: session.session_id,
            name: format!("c{concurrency}-{i}"),
            sent: 0,
        });
    }
    let (connections, _) = run_turns(connections, WARM_UP_TURNS.max(concurrency)).await?;

    let gateway_before = gateway.first_byte_sent_at().len();
    let bench_before = cpu::own_cpu()?;
    let meter = CpuMeter::start(server.pid())?;
    let start = Instant::now();
    let (connections, seen) = run_turns(connections, turns).await?;
    let wall = start.elapsed();
    let server_cpu = meter.finish()?;
    let bench_cpu = cpu::own_cpu()?.saturating_sub(bench_before);
    let gateway_after = gateway.first_byte_sent_at().len();

    for connection in connections {
        let _ = connection.client.close().await;
    }
    Ok(Level {
        wall,
        server_cpu,
        bench_cpu,
        failures: seen.iter().filter_map(|t| t.error.clone()).collect(),
        turns: seen,
        gateway_first_bytes: (gateway_before, gateway_after),
    })
}

/// Runs `total` turns split evenly over the connections, each connection one turn
/// at a time, and gives the connections back with what was seen, in connection order.
async fn run_turns(
    connections: Vec<Connection>,
    total: usize,
) -> Result<(Vec<Connection>, Vec<TurnSeen>), String> {
    let count = connections.len();
    let tasks: Vec<_> = connections
        .into_iter()
        .enumerate()
        .map(|(i, mut connection)| {
            let share = total / count + usize::from(i < total % count);
            tokio::spawn(async move {
                let mut seen = Vec::with_capacity(share);
                for _ in 0..share {
                    seen.push(turn(&mut connection).await?);
                }
                Ok::<_, ClientError>((connection, seen))
            })
        })
        .collect();
    let mut connections = Vec::with_capacity(count);
    let mut all = Vec::with_capacity(total);
    for task in tasks {
        let (connection, seen) = task
            .await
            .map_err(|e| format!("a turn task failed: {e}"))?
            .map_err(|e| format!("during a turn: {e}"))?;
        connections.push(connection);
        all.extend(seen);
    }
    Ok((connections, all))
}

/// Sends one `send_message` and reads until its `eventual_response` or `error`.
async fn turn(connection: &mut Connection) -> Result<TurnSeen, ClientError> {
    connection.sent += 1;
    let request_id = format!("{}-{}", connection.name, connection.sent);
    connection
        .client
        .send(&json!({
            "action": "send_message",
            "requestId": request_id,
            "sessionId": connection.session_id,
            "message": "hello",
        }))
        .await?;
    let mut first_token = None;
    loop {
        let event = connection.client.expect_event(EVENT_LIMIT).await?;
        if event["requestId"].as_str() != Some(request_id.as_str()) {
            continue;
        }
        match event["type"].as_str() {
            Some("stream_token") if first_token.is_none() => first_token = Some(Instant::now()),
            Some("eventual_response") => {
                return Ok(TurnSeen {
                    first_token,
                    error: None,
                });
            }
            Some("error") => {
                return Ok(TurnSeen {
                    first_token,
                    error: Some(describe_error(&event)),
                });
            }
            _ => {}
        }
    }
}

fn describe_error(event: &Value) -> String {
    format!(
        "{}: {}",
        event["error"]["code"].as_str().unwrap_or("?"),
        event["error"]["message"].as_str().unwrap_or("?")
    )
}

/// Pairs each measured turn's first `stream_token` with the gateway's first byte of
/// that turn's request. Only valid at concurrency 1, where requests and turns come
/// in the same order, one streamed request per turn.
fn server_latency(level: &Level, gateway: &MockGateway) -> Result<String, String> {
    let (before, after) = level.gateway_first_bytes;
    let tokens: Vec<Instant> = level.turns.iter().filter_map(|t| t.first_token).collect();
    if after - before != tokens.len() {
        return Err(format!(
            "{} turns streamed a token but the gateway streamed {} replies, so they cannot be paired",
            tokens.len(),
            after - before
        ));
    }
    let sent = &gateway.first_byte_sent_at()[before..after];
    let mut samples = Vec::with_capacity(tokens.len());
    for (i, (token, first_byte)) in tokens.iter().zip(sent).enumerate() {
        let added = token.checked_duration_since(*first_byte).ok_or(format!(
            "turn {i}'s first token arrived before the gateway sent its first byte"
        ))?;
        samples.push(added);
    }
    samples.sort();
    Ok(format!(
        "server-added latency, gateway first byte -> client first stream_token (concurrency 1, {} turns): p50 {}, p99 {}, max {}",
        samples.len(),
        ms(percentile(&samples, 0.50)),
        ms(percentile(&samples, 0.99)),
        ms(samples.last().copied().unwrap_or_default()),
    ))
}
