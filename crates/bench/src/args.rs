//! Command-line arguments of the benchmark.

pub const USAGE: &str = "usage: switchboard-bench WS_URL [--pid PID] [--pings N] [--sessions N] [--concurrency N] [--idle N]";

pub struct Args {
    pub url: String,
    pub pid: Option<u32>,
    pub pings: usize,
    pub sessions: usize,
    pub concurrency: usize,
    pub idle: usize,
}

impl Args {
    pub fn parse(mut argv: impl Iterator<Item = String>) -> Result<Self, String> {
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
                raw.parse::<usize>()
                    .ok()
                    .filter(|v| *v > 0)
                    .ok_or(format!("{name}: '{raw}' is not a positive number"))
            };
            match arg.as_str() {
                "--pid" => args.pid = Some(value("--pid")? as u32),
                "--pings" => args.pings = value("--pings")?,
                "--sessions" => args.sessions = value("--sessions")?,
                "--concurrency" => args.concurrency = value("--concurrency")?,
                "--idle" => args.idle = value("--idle")?,
                "-h" | "--help" => {
                    return Err("switchboard-bench: figures for a running server".into());
                }
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
