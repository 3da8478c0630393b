//! `switchboard-bench`: figures for a Switchboard server. It prints; it asserts nothing.
//!
//! ```text
//! switchboard-bench foundation ws://127.0.0.1:8787/ws [--pid PID] [--pings 2000]
//!     [--sessions 2000] [--concurrency 8] [--idle 1000]
//! switchboard-bench turns --server target/release/switchboard [--turns 400]
//!     [--concurrency 1,20]
//! ```
//!
//! `foundation` measures a running server (see `foundation.rs`); `turns` starts one
//! against a mock LLM gateway and measures agent turns (see `turns.rs`). Without a
//! subcommand the arguments are those of `foundation`.

mod args;
mod cpu;
mod foundation;
mod server_process;
mod stats;
mod turns;

use args::Command;

#[tokio::main]
async fn main() {
    let command = match Command::parse(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("{message}\n\n{}", args::USAGE);
            std::process::exit(2);
        }
    };
    let outcome = match command {
        Command::Foundation(args) => foundation::run(&args).await.map_err(|e| e.to_string()),
        Command::Turns(args) => turns::run(&args).await,
    };
    if let Err(e) = outcome {
        eprintln!("switchboard-bench: {e}");
        std::process::exit(1);
    }
}
