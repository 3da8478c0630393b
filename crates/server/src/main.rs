//! `switchboard`: run the server with configuration from the environment, or one of
//! the command-line tools (`switchboard --help`).

use clap::Parser;
use std::process::ExitCode;
use switchboard_server::cli::{Cli, Command, backup, chat, ingest, probe, token};
use switchboard_server::{AppState, Config, serve, shutdown_signal};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> ExitCode {
    match Cli::parse().command {
        None | Some(Command::Serve) => serve_from_env().await,
        Some(Command::Chat(args)) => match chat::run(args).await {
            Ok(true) => ExitCode::SUCCESS,
            // Some turn failed; its error was printed where it happened.
            Ok(false) => ExitCode::FAILURE,
            Err(e) => {
                eprintln!("switchboard chat: {e}");
                ExitCode::FAILURE
            }
        },
        Some(Command::Ingest(args)) => match ingest::run(args).await {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("switchboard ingest: {e}");
                ExitCode::from(e.exit_code())
            }
        },
        Some(Command::Probe(args)) => match probe::run(&args) {
            Ok(status) => {
                println!("{status}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("switchboard probe: {e}");
                ExitCode::FAILURE
            }
        },
        Some(Command::Backup(args)) => match backup::run(&args).await {
            Ok(done) => {
                println!("{done}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("switchboard backup: {e}");
                ExitCode::FAILURE
            }
        },
        Some(Command::Token(args)) => match token::run(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("switchboard token: {e}");
                ExitCode::from(2)
            }
        },
    }
}

/// The server, configured by the environment.
async fn serve_from_env() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("switchboard: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let telemetry = match switchboard_server::telemetry::logging::init(&config) {
        Ok(telemetry) => telemetry,
        Err(e) => {
            eprintln!("switchboard: configuration error: {e}");
            return ExitCode::from(2);
        }
    };

    raise_descriptor_limit();
    let result = run(config).await;
    telemetry.shutdown().await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Startup(e)) => {
            eprintln!("switchboard: {e:#}");
            ExitCode::from(2)
        }
        Err(Failure::Running(e)) => {
            eprintln!("switchboard: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Every connection holds a descriptor, and the usual soft limit (1024) is far below
/// what the per-address caps allow from many addresses: the soft limit is raised to
/// the hard one, and the value logged.
fn raise_descriptor_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::info!(limit, "open file descriptor limit (RLIMIT_NOFILE)"),
        Err(e) => tracing::warn!(
            error = %e,
            "cannot raise the open file descriptor limit; connections may be refused early"
        ),
    }
}

/// The store's name, and for a file where the data lives.
fn store_summary(storage: &switchboard_server::config::StorageConfig) -> String {
    match storage {
        switchboard_server::config::StorageConfig::Sqlite { path, .. } => {
            let absolute = std::path::absolute(path).unwrap_or_else(|_| path.clone());
            format!("sqlite, data in {}", absolute.display())
        }
        other => other.label().to_owned(),
    }
}

/// Why the process ends badly: exit code 2 when start-up could not use what the
/// configuration names (an address, a database, a key, a broker), 1 when serving failed.
enum Failure {
    Startup(anyhow::Error),
    Running(anyhow::Error),
}

async fn run(config: Config) -> Result<(), Failure> {
    use anyhow::Context;
    let addr = (config.bind, config.port);
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {}:{} (SMOOTH_AGENT_BIND, SMOOTH_AGENT_PORT)",
                config.bind, config.port
            )
        })
        .map_err(Failure::Startup)?;
    let local = listener
        .local_addr()
        .context("the listening socket has no address")
        .map_err(Failure::Startup)?;
    let summary = format!(
        "store={}, backplane={}, llm={}, model={}",
        store_summary(&config.storage),
        config.backplane.label(),
        config
            .gateway
            .as_ref()
            .map_or("offline".to_owned(), |g| g.url.clone()),
        config.model,
    );
    let hosted_default = config
        .gateway
        .as_ref()
        .and_then(|g| g.hosted_default_warning());
    if let Some(warning) = hosted_default {
        tracing::warn!("{warning}");
    }
    let state = AppState::new(config)
        .await
        .map_err(|e| Failure::Startup(e.into()))?;
    let auth = state.auth().label();
    println!("switchboard listening on ws://{local}/ws ({summary}, auth={auth})");
    match auth {
        "none" => tracing::warn!(
            "AUTH_MODE=none: every token is accepted as an administrator. \
             For development only; never expose this server."
        ),
        "trusted" => tracing::warn!(
            "AUTH_MODE=trusted: identities are taken unsigned from ?token=. \
             Safe only behind a proxy that sets them; nothing else may reach this server."
        ),
        "disabled" => tracing::info!(
            "no AUTH_MODE or key: connections are anonymous and the admin API is off"
        ),
        _ => {}
    }
    if let Some(addr) = state.config().telemetry.metrics_addr {
        let metrics = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} (SMOOTH_AGENT_METRICS_ADDR)"))
            .map_err(Failure::Startup)?;
        let router = switchboard_server::telemetry::metrics_router(state.clone());
        let stop = state.shutdown_token();
        tokio::spawn(async move {
            let served = axum::serve(metrics, router)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "the metrics listener failed");
            }
        });
        tracing::info!(%addr, "metrics served on SMOOTH_AGENT_METRICS_ADDR");
    }
    serve(listener, state, shutdown_signal())
        .await
        .context("serving failed")
        .map_err(Failure::Running)?;
    tracing::info!("shut down cleanly");
    Ok(())
}
