//! `switchboard`: run the server with configuration from the environment.

use std::process::ExitCode;
use switchboard_server::{AppState, Config, serve, shutdown_signal};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("switchboard: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let filter = match EnvFilter::try_new(&config.log_filter) {
        Ok(filter) => filter,
        Err(e) => {
            eprintln!("switchboard: configuration error: RUST_LOG: {e}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();

    raise_descriptor_limit();
    match run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
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

async fn run(config: Config) -> anyhow::Result<()> {
    use anyhow::Context;
    let addr = (config.bind, config.port);
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {}:{}", config.bind, config.port))?;
    let local = listener.local_addr()?;
    let summary = format!(
        "store={}, backplane={}, llm={}, model={}",
        config.storage.label(),
        config.backplane.label(),
        config
            .gateway
            .as_ref()
            .map_or("offline".to_owned(), |g| g.url.clone()),
        config.model,
    );
    let state = AppState::new(config).await?;
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
    serve(listener, state, shutdown_signal()).await?;
    tracing::info!("shut down cleanly");
    Ok(())
}
