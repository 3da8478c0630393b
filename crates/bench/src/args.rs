//! Command-line arguments of the benchmark.

use std::path::PathBuf;

pub const USAGE: &str = "usage:
  switchboard-bench foundation WS_URL [--pid PID] [--pings N] [--sessions N] [--concurrency N] [--idle N]
  switchboard-bench turns --server PATH_TO_switchboard [--turns N] [--concurrency LIST] [--stores LIST] [--postgres URL] [--otlp]
  switchboard-bench retrieval-eval [--corpus DIR] [--questions FILE] [--misses] [--postgres URL | --sqlite]
  switchboard-bench knowledge [--sizes LIST] [--queries N] [--postgres URL | --sqlite]
  switchboard-bench backplane --server PATH_TO_switchboard [--brokers redis,nats] [--receivers N] [--events N] [--burst N] [--in-flight N]
  switchboard-bench soak --server PATH_TO_switchboard [--half-open N] [--attack-addresses N] [--clients N] [--secs N] [--drain N]
  switchboard-bench WS_URL ...    (same as `foundation WS_URL ...`)";

/// Which benchmark to run.
pub enum Command {
    Foundation(FoundationArgs),
    Turns(TurnsArgs),
    RetrievalEval(EvalArgs),
    Knowledge(KnowledgeArgs),
    Backplane(BackplaneArgs),
    Soak(SoakArgs),
}

/// Figures for a server that is already running.
pub struct FoundationArgs {
    pub url: String,
    pub pid: Option<u32>,
    pub pings: usize,
    pub sessions: usize,
    pub concurrency: usize,
    pub idle: usize,
}

/// Agent turns against a server this benchmark starts, with a mock LLM gateway.
pub struct TurnsArgs {
    /// The `switchboard` binary to start.
    pub server: PathBuf,
    /// Measured turns per concurrency level, split evenly over the connections.
    pub turns: usize,
    /// Connection counts to measure, in order.
    pub concurrency: Vec<usize>,
    /// The stores to measure, one server each, in order: `memory`, `sqlite`
    /// (a throwaway file), `sqlite-process` (the same with durability `process`)
    /// and `postgres` (needs `postgres`).
    pub stores: Vec<TurnStore>,
    /// A PostgreSQL server (`postgres://user@host:port`) to store in, in a
    /// throwaway database.
    pub postgres: Option<String>,
    /// Export traces over OTLP/HTTP to a sink in this process (the cost of tracing).
    pub otlp: bool,
}

/// Where the server of a `turns` run stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnStore {
    Memory,
    /// SQLite with its default durability (every commit waits for the disk).
    Sqlite,
    /// SQLite with `SMOOTH_AGENT_SQLITE_DURABILITY=process`.
    SqliteProcess,
    Postgres,
}

impl TurnStore {
    pub fn label(self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Sqlite => "SQLite",
            Self::SqliteProcess => "SQLite (process)",
            Self::Postgres => "PostgreSQL",
        }
    }
}

/// Retrieval quality over a labelled question set.
pub struct EvalArgs {
    /// The folder of documents, ingested as the source `corpus`.
    pub corpus: PathBuf,
    /// The labelled questions (JSON).
    pub questions: PathBuf,
    /// Also list, per question, the methods that missed it.
    pub misses: bool,
    /// A PostgreSQL server (`postgres://user@host:port`) whose knowledge base to
    /// evaluate instead of the in-memory index, in a throwaway database.
    pub postgres: Option<String>,
    /// Evaluate the SQLite knowledge base instead, in a throwaway file.
    pub sqlite: bool,
}

/// Ingestion and query cost of the knowledge index on synthetic corpora.
pub struct KnowledgeArgs {
    /// Target chunk counts, one fresh index each, in order.
    pub sizes: Vec<usize>,
    /// Queries timed per retrieval mode and size.
    pub queries: usize,
    /// A PostgreSQL server (`postgres://user@host:port`) to measure instead of the
    /// in-memory index, in throwaway databases.
    pub postgres: Option<String>,
    /// Measure the SQLite knowledge base instead, in throwaway files.
    pub sqlite: bool,
}

/// Events published on one replica and received on another, through a broker.
pub struct BackplaneArgs {
    /// The `switchboard` binary to start (twice per broker).
    pub server: PathBuf,
    /// Which brokers to measure, in order: `redis`, `nats`.
    pub brokers: Vec<String>,
    /// Clients of the target agent connected to the receiving replica.
    pub receivers: usize,
    /// Events timed one at a time, for latency.
    pub events: usize,
    /// Events published as fast as possible, for throughput.
    pub burst: usize,
    /// Publish requests outstanding at once during the burst.
    pub in_flight: usize,
}

/// Normal clients next to half-open connections, against a server this benchmark
/// starts on loopback; bounded in count and time.
pub struct SoakArgs {
    /// The `switchboard` binary to start.
    pub server: PathBuf,
    /// Half-open connections held for the whole run (at most 10,000).
    pub half_open: usize,
    /// Loopback source addresses they are spread over (127.0.1.x; at most 1,000).
    pub attack_addresses: usize,
    /// Normal clients (at most 500).
    pub clients: usize,
    /// Seconds of measured traffic (at most 600).
    pub secs: u64,
    /// The server's `SMOOTH_AGENT_DRAIN_SECS` (at most 120).
    pub drain: u64,
}

impl Command {
    /// Reads the arguments after the program name. Without a subcommand the
    /// arguments are those of `foundation`, which `scripts/bench-foundation` relies on.
    pub fn parse(argv: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut argv = argv.peekable();
        match argv.peek().map(String::as_str) {
            Some("foundation") => {
                argv.next();
                FoundationArgs::parse(argv).map(Command::Foundation)
            }
            Some("turns") => {
                argv.next();
                TurnsArgs::parse(argv).map(Command::Turns)
            }
            Some("retrieval-eval") => {
                argv.next();
                EvalArgs::parse(argv).map(Command::RetrievalEval)
            }
            Some("knowledge") => {
                argv.next();
                KnowledgeArgs::parse(argv).map(Command::Knowledge)
            }
            Some("backplane") => {
                argv.next();
                BackplaneArgs::parse(argv).map(Command::Backplane)
            }
            Some("soak") => {
                argv.next();
                SoakArgs::parse(argv).map(Command::Soak)
            }
            _ => FoundationArgs::parse(argv).map(Command::Foundation),
        }
    }
}

/// A value that must be a number greater than zero.
fn positive(name: &str, raw: &str) -> Result<usize, String> {
    raw.parse::<usize>()
        .ok()
        .filter(|v| *v > 0)
        .ok_or(format!("{name}: '{raw}' is not a positive number"))
}

/// A comma-separated list of numbers greater than zero.
fn positive_list(name: &str, raw: &str) -> Result<Vec<usize>, String> {
    raw.split(',').map(|v| positive(name, v.trim())).collect()
}

fn help() -> String {
    "switchboard-bench: figures for a Switchboard server".into()
}

impl FoundationArgs {
    fn parse(mut argv: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut args = Self {
            url: String::new(),
            pid: None,
            pings: 2000,
            sessions: 2000,
            concurrency: 8,
            idle: 1000,
        };
        while let Some(arg) = argv.next() {
            let mut value = |name: &str| -> Result<usize, String> {
                let raw = argv.next().ok_or(format!("{name} needs a value"))?;
                positive(name, &raw)
            };
            match arg.as_str() {
                "--pid" => args.pid = Some(value("--pid")? as u32),
                "--pings" => args.pings = value("--pings")?,
                "--sessions" => args.sessions = value("--sessions")?,
                "--concurrency" => args.concurrency = value("--concurrency")?,
                "--idle" => args.idle = value("--idle")?,
                "-h" | "--help" => return Err(help()),
                url if args.url.is_empty() && url.starts_with("ws") => args.url = url.to_owned(),
                other => return Err(format!("unexpected argument '{other}'")),
            }
        }
        if args.url.is_empty() {
            return Err("the server's WebSocket URL is required".into());
        }
        Ok(args)
    }
}

impl TurnsArgs {
    fn parse(mut argv: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut server = None;
        let mut turns = 400;
        let mut concurrency = vec![1, 20];
        let mut postgres = None;
        let mut otlp = false;
        let mut stores = None;
        while let Some(arg) = argv.next() {
            let mut value = |name: &str| argv.next().ok_or(format!("{name} needs a value"));
            match arg.as_str() {
                "--otlp" => otlp = true,
                "--server" => server = Some(PathBuf::from(value("--server")?)),
                "--stores" => {
                    let list = value("--stores")?;
                    let parsed = list
                        .split(',')
                        .map(|name| match name.trim() {
                            "memory" => Ok(TurnStore::Memory),
                            "sqlite" => Ok(TurnStore::Sqlite),
                            "sqlite-process" => Ok(TurnStore::SqliteProcess),
                            "postgres" => Ok(TurnStore::Postgres),
                            other => Err(format!(
                                "--stores: unknown store '{other}' (memory, sqlite, sqlite-process, postgres)"
                            )),
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    stores = Some(parsed);
                }
                "--turns" => turns = positive("--turns", &value("--turns")?)?,
                "--concurrency" => {
                    concurrency = positive_list("--concurrency", &value("--concurrency")?)?;
                }
                "--postgres" => postgres = Some(value("--postgres")?),
                "-h" | "--help" => return Err(help()),
                other => return Err(format!("unexpected argument '{other}'")),
            }
        }
        let server = server.ok_or("--server (the switchboard binary to start) is required")?;
        if let Some(&c) = concurrency.iter().find(|&&c| c > turns) {
            return Err(format!(
                "--concurrency {c} is more than --turns {turns}: some connections would idle"
            ));
        }
        // By default memory and SQLite, and PostgreSQL when a server is named.
        let stores = stores.unwrap_or_else(|| {
            let mut all = vec![TurnStore::Memory, TurnStore::Sqlite];
            if postgres.is_some() {
                all.push(TurnStore::Postgres);
            }
            all
        });
        if stores.contains(&TurnStore::Postgres) && postgres.is_none() {
            return Err("--stores postgres needs --postgres postgres://user@host:port".into());
        }
        Ok(Self {
            server,
            turns,
            concurrency,
            stores,
            postgres,
            otlp,
        })
    }
}

impl EvalArgs {
    /// Paths default to the repository's question set, relative to the current
    /// directory (`scripts/eval-retrieval` runs from the repository root).
    fn parse(mut argv: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut args = Self {
            corpus: PathBuf::from("eval/retrieval/corpus"),
            questions: PathBuf::from("eval/retrieval/questions.json"),
            misses: false,
            postgres: None,
            sqlite: false,
        };
        while let Some(arg) = argv.next() {
            let mut value = |name: &str| argv.next().ok_or(format!("{name} needs a value"));
            match arg.as_str() {
                "--corpus" => args.corpus = PathBuf::from(value("--corpus")?),
                "--questions" => args.questions = PathBuf::from(value("--questions")?),
                "--misses" => args.misses = true,
                "--postgres" => args.postgres = Some(value("--postgres")?),
                "--sqlite" => args.sqlite = true,
                "-h" | "--help" => return Err(help()),
                other => return Err(format!("unexpected argument '{other}'")),
            }
        }
        Ok(args)
    }
}

impl KnowledgeArgs {
    fn parse(mut argv: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut args = Self {
            sizes: vec![10_000, 100_000],
            queries: 500,
            postgres: None,
            sqlite: false,
        };
        while let Some(arg) = argv.next() {
            let mut value = |name: &str| argv.next().ok_or(format!("{name} needs a value"));
            match arg.as_str() {
                "--sizes" => args.sizes = positive_list("--sizes", &value("--sizes")?)?,
                "--queries" => args.queries = positive("--queries", &value("--queries")?)?,
                "--postgres" => args.postgres = Some(value("--postgres")?),
                "--sqlite" => args.sqlite = true,
                "-h" | "--help" => return Err(help()),
                other => return Err(format!("unexpected argument '{other}'")),
            }
        }
        Ok(args)
    }
}

impl BackplaneArgs {
    fn parse(mut argv: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut server = None;
        let mut args = Self {
            server: PathBuf::new(),
            brokers: vec!["redis".into(), "nats".into()],
            receivers: 10,
            events: 1000,
            burst: 20_000,
            in_flight: 32,
        };
        while let Some(arg) = argv.next() {
            let mut value = |name: &str| argv.next().ok_or(format!("{name} needs a value"));
            match arg.as_str() {
                "--server" => server = Some(PathBuf::from(value("--server")?)),
                "--brokers" => {
                    args.brokers = value("--brokers")?
                        .split(',')
                        .map(|b| b.trim().to_owned())
                        .collect();
                }
                "--receivers" => args.receivers = positive("--receivers", &value("--receivers")?)?,
                "--events" => args.events = positive("--events", &value("--events")?)?,
                "--burst" => args.burst = positive("--burst", &value("--burst")?)?,
                "--in-flight" => args.in_flight = positive("--in-flight", &value("--in-flight")?)?,
                "-h" | "--help" => return Err(help()),
                other => return Err(format!("unexpected argument '{other}'")),
            }
        }
        args.server = server.ok_or("--server (the switchboard binary to start) is required")?;
        if let Some(bad) = args
            .brokers
            .iter()
            .find(|b| !matches!(b.as_str(), "redis" | "nats"))
        {
            return Err(format!(
                "--brokers: unknown broker '{bad}' (expected redis, nats)"
            ));
        }
        Ok(args)
    }
}

impl SoakArgs {
    fn parse(mut argv: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut server = None;
        let mut args = Self {
            server: PathBuf::new(),
            half_open: 1000,
            attack_addresses: 50,
            clients: 20,
            secs: 60,
            drain: 5,
        };
        while let Some(arg) = argv.next() {
            let mut value = |name: &str, max: usize| -> Result<usize, String> {
                let raw = argv.next().ok_or(format!("{name} needs a value"))?;
                let v = positive(name, &raw)?;
                if v > max {
                    return Err(format!("{name}: at most {max}"));
                }
                Ok(v)
            };
            match arg.as_str() {
                "--server" => {
                    server = Some(PathBuf::from(argv.next().ok_or("--server needs a value")?));
                }
                "--half-open" => args.half_open = value("--half-open", 10_000)?,
                "--attack-addresses" => {
                    args.attack_addresses = value("--attack-addresses", 1_000)?;
                }
                "--clients" => args.clients = value("--clients", 500)?,
                "--secs" => args.secs = value("--secs", 600)? as u64,
                "--drain" => args.drain = value("--drain", 120)? as u64,
                "-h" | "--help" => return Err(help()),
                other => return Err(format!("unexpected argument '{other}'")),
            }
        }
        args.server = server.ok_or("--server (the switchboard binary to start) is required")?;
        Ok(args)
    }
}
