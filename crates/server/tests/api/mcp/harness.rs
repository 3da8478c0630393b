//! Real MCP servers for the tests: the Python `mcp` SDK's (a fixture of ours,
//! over streamable HTTP or stdio) and `@modelcontextprotocol/server-everything`
//! from npm over stdio.
//!
//! The Python SDK is installed from PyPI into a virtual environment in the
//! temporary folder the first time (`python3` must be on the path; see
//! `scripts/ensure-mcp`); later runs reuse it.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The SDK's major version these tests are written against.
const PACKAGE: &str = "mcp>=2.3,<3";

/// The virtual environment's Python with the SDK installed.
pub fn python() -> PathBuf {
    static PYTHON: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PYTHON
        .get_or_init(|| {
            crate::python_venv::venv(
                "switchboard-mcp-python-2",
                PACKAGE,
                "import importlib.metadata as m; assert m.version('mcp').startswith('2.')",
            )
        })
        .clone()
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/python")
        .join(name)
}

/// The fixture server over stdio, as an `mcpServers` entry.
pub fn stdio_server(name: &str, env: Value) -> Value {
    json!({
        "name": name,
        "command": python(),
        "args": [fixture("mcp_test_server.py"), "stdio"],
        "env": env,
    })
}

/// `@modelcontextprotocol/server-everything` over stdio through npx.
pub fn everything_server() -> Value {
    json!({
        "name": "everything",
        "command": "npx",
        "args": ["-y", "@modelcontextprotocol/server-everything", "stdio"],
        "env": {"npm_config_update_notifier": "false"},
    })
}

/// The fixture server over streamable HTTP on 127.0.0.1; dropping it kills it.
pub struct HttpServer {
    pub url: String,
    child: Child,
}

impl HttpServer {
    pub fn start(env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(python());
        command
            .arg(fixture("mcp_test_server.py"))
            .arg("http")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = command.spawn().expect("start the Python MCP server");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the server's port");
        let port: u16 = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        Self {
            url: format!("http://127.0.0.1:{port}/mcp"),
            child,
        }
    }

    /// As an `mcpServers` entry.
    pub fn entry(&self, name: &str) -> Value {
        json!({"name": name, "url": self.url})
    }

    /// Kills the server at once (SIGKILL).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A port on 127.0.0.1 nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Waits until `ready` holds, for at most `limit`.
pub async fn eventually(limit: Duration, what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < limit, "{what} within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The process id a fixture server wrote to `file`, once it has.
pub async fn pid_in(file: &Path) -> u32 {
    let mut pid = None;
    eventually(Duration::from_secs(20), "the server wrote its pid", || {
        pid = std::fs::read_to_string(file)
            .ok()
            .and_then(|s| s.trim().parse().ok());
        pid.is_some()
    })
    .await;
    pid.unwrap()
}

/// Kills process `pid` (a fixture server this test started) with SIGKILL.
pub fn kill_pid(pid: u32) {
    let status = Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -9 {pid}");
}

/// The tool names a gateway request offered the model.
pub fn offered(request: &Value) -> Vec<String> {
    request["tools"]
        .as_array()
        .map(|tools| {
            tools
                .iter()
                .filter_map(|t| t["function"]["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The tool messages a gateway request carried (what the model was told).
pub fn tool_messages(request: &Value) -> Vec<String> {
    request["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .filter_map(|m| m["content"].as_str().map(str::to_owned))
        .collect()
}
