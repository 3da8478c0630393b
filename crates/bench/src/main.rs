//! `switchboard-bench`: figures for a Switchboard server. It prints; it asserts nothing.
//!
//! ```text
//! switchboard-bench foundation ws://127.0.0.1:8787/ws [--pid PID] [--pings 2000]
//!     [--sessions 2000] [--concurrency 8] [--idle 1000]
//! switchboard-bench turns --server target/release/switchboard [--turns 400]
//!     [--concurrency 1,20] [--stores memory,sqlite,postgres]
//!     [--postgres postgres://postgres@127.0.0.1:5432]
//! switchboard-bench retrieval-eval [--corpus DIR] [--questions FILE] [--misses]
//!     [--postgres postgres://postgres@127.0.0.1:5432]
//! switchboard-bench knowledge [--sizes 10000,100000] [--queries 500]
//!     [--postgres postgres://postgres@127.0.0.1:5432]
//! switchboard-bench backplane --server target/release/switchboard [--brokers redis,nats]
//!     [--receivers 10] [--events 1000] [--burst 20000] [--in-flight 32]
//! switchboard-bench soak --server target/release/switchboard [--half-open 1000]
//!     [--attack-addresses 50] [--clients 20] [--secs 60] [--drain 5]
//! ```
//!
//! `foundation` measures a running server (see `foundation.rs`); `turns` starts one
//! against a mock LLM gateway and measures agent turns (see `turns.rs`).
//! `retrieval-eval` scores retrieval methods on a labelled question set (see
//! `eval/`); `knowledge` times the knowledge index, in memory or on PostgreSQL, on
//! synthetic corpora (see `knowledge.rs`); `backplane` times events crossing
//! from one replica to another through Redis or NATS (see `backplane.rs`); `soak`
//! times normal clients next to many half-open connections, then the exit after
//! SIGTERM (see `soak.rs`). Without a subcommand the arguments are
//! those of `foundation`.

mod args;
mod backplane;
mod cpu;
mod eval;
mod foundation;
mod knowledge;
mod otlp_sink;
mod postgres;
mod soak;
mod sqlite;
mod stats;
mod synthetic;
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
        Command::RetrievalEval(args) => eval::run(&args).await,
        Command::Knowledge(args) => knowledge::run(&args).await,
        Command::Backplane(args) => backplane::run(&args).await,
        Command::Soak(args) => soak::run(&args).await,
    };
    if let Err(e) = outcome {
        eprintln!("switchboard-bench: {e}");
        std::process::exit(1);
    }
}
