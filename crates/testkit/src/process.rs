//! The `switchboard` binary as a child process: started with an environment of
//! the caller's choosing, stopped with SIGTERM (or killed with SIGKILL) however the
//! test or benchmark ends.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long the server may take to print where it listens.
const START_LIMIT: Duration = Duration::from_secs(10);

/// How long the server may take, once it listens, to be ready (`GET /ready` 200:
/// its start-up indexing done).
const READY_LIMIT: Duration = Duration::from_secs(60);

/// How long the server may take to exit after SIGTERM before it is killed. Above
/// the server's default drain time (25 s), so a clean shutdown is never cut short.
const STOP_LIMIT: Duration = Duration::from_secs(30);

/// A running server; dropping it stops it.
pub struct ServerProcess {
    child: Child,
    url: String,
    /// Held open so the server never writes to a closed pipe.
    _stdout: Option<BufReader<ChildStdout>>,
    stopped: bool,
}

impl ServerProcess {
    /// [`ServerProcess::start_listening`], then waits until the server is ready
    /// (`GET /ready` answers 200: its start-up indexing is done, so answers draw on
    /// the configured knowledge).
    pub async fn start(binary: &Path, env: &[(&str, &str)]) -> Result<Self, String> {
        let server = Self::start_listening(binary, env).await?;
        server.ready(READY_LIMIT).await?;
        Ok(server)
    }

    /// Starts `binary` on a free port with a clean environment holding only `env`
    /// (plus `RUST_LOG=warn` and `SMOOTH_AGENT_STORAGE=memory` unless given, so
    /// that no test writes the default SQLite file into the checkout), and waits
    /// for its first line,
    /// `switchboard listening on ws://ADDR/ws (...)`.
    pub async fn start_listening(binary: &Path, env: &[(&str, &str)]) -> Result<Self, String> {
        let mut command = Command::new(binary);
        command
            .env_clear()
            .env("SMOOTH_AGENT_PORT", "0")
            .env("RUST_LOG", "warn")
            .env("SMOOTH_AGENT_STORAGE", "memory");
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut server = Self {
            child,
            url: String::new(),
            _stdout: None,
            stopped: false,
        };
        // A blocking read on its own thread; if it times out, dropping `server`
        // kills the child, which closes the pipe and ends the read.
        let first_line = tokio::task::spawn_blocking(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            reader.read_line(&mut line).map(|_| (reader, line))
        });
        let (reader, line) = match tokio::time::timeout(START_LIMIT, first_line).await {
            Ok(Ok(Ok(read))) => read,
            Ok(Ok(Err(e))) => return Err(format!("cannot read the server's output: {e}")),
            Ok(Err(e)) => return Err(format!("the output reader failed: {e}")),
            Err(_) => return Err(format!("the server printed nothing within {START_LIMIT:?}")),
        };
        server._stdout = Some(reader);
        server.url = line
            .strip_prefix("switchboard listening on ")
            .and_then(|rest| rest.split_whitespace().next())
            .ok_or_else(|| match (line.is_empty(), server.child.try_wait()) {
                (_, Ok(Some(status))) => format!("the server exited ({status}) before listening"),
                (true, _) => "the server closed its output before saying where it listens".into(),
                (false, _) => format!("unexpected first line from the server: {line:?}"),
            })?
            .to_owned();
        Ok(server)
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// `http://ADDR`, the server's HTTP base.
    pub fn http_url(&self) -> String {
        let addr = self.url.trim_start_matches("ws://").trim_end_matches("/ws");
        format!("http://{addr}")
    }

    /// `GET path` over a fresh connection: the status and the body as text.
    pub async fn get(&self, path: &str) -> Result<(u16, String), String> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = self.http_url().trim_start_matches("http://").to_owned();
        let mut tcp = tokio::net::TcpStream::connect(&addr)
            .await
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        tcp.write_all(request.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut raw = Vec::new();
        tcp.read_to_end(&mut raw).await.map_err(|e| e.to_string())?;
        let raw = String::from_utf8_lossy(&raw);
        let status = raw
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("not an HTTP answer: {raw:?}"))?;
        let body = raw.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        Ok((status, body.to_owned()))
    }

    /// Waits (at most `limit`) until `GET /ready` answers 200.
    pub async fn ready(&self, limit: Duration) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        loop {
            let (status, body) = self.get("/ready").await?;
            if status == 200 {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!("not ready within {limit:?}: {status} {body}"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits for the server to exit.
    pub fn stop(mut self) -> Result<ExitStatus, String> {
        self.terminate()
    }

    /// Kills the server with SIGKILL, as a crash would: no drain, no goodbye.
    pub fn kill_hard(mut self) -> Result<ExitStatus, String> {
        self.stopped = true;
        self.child
            .kill()
            .map_err(|e| format!("cannot kill the server: {e}"))?;
        self.child.wait().map_err(|e| e.to_string())
    }

    fn terminate(&mut self) -> Result<ExitStatus, String> {
        self.stopped = true;
        if let Some(status) = self.child.try_wait().map_err(|e| e.to_string())? {
            return Ok(status);
        }
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .map_err(|e| format!("cannot run kill -TERM {pid}: {e}"))?;
        // The wait blocks; `block_in_place` lets the runtime's other tasks (the mock
        // gateway a draining turn may still need) run meanwhile.
        tokio::task::block_in_place(|| {
            let deadline = Instant::now() + STOP_LIMIT;
            while Instant::now() < deadline {
                if let Some(status) = self.child.try_wait().map_err(|e| e.to_string())? {
                    return Ok(status);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = self.child.kill();
            let status = self.child.wait().map_err(|e| e.to_string())?;
            Err(format!(
                "the server did not exit within {STOP_LIMIT:?} of SIGTERM; killed ({status})"
            ))
        })
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if !self.stopped
            && let Err(e) = self.terminate()
        {
            eprintln!("stopping the switchboard server: {e}");
        }
    }
}
