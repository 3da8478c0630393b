//! One MCP server of one agent: its current connection and tool list, and the
//! task that keeps them current (connect, list, relist on
//! `notifications/tools/list_changed`, reconnect with capped backoff).

use super::config::Endpoint;
use super::tool::McpTool;
use crate::tools::AuthLevel;
use rmcp::model::{CallToolRequestParams, CallToolResult, ClientCapabilities, Implementation};
use rmcp::service::{NotificationContext, RoleClient, RunningService};
use rmcp::{ClientHandler, Peer, ServiceError, ServiceExt};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

/// Starting a server (spawning it, or reaching it) and the MCP handshake.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// One `tools/list` (all its pages).
pub const LIST_TIMEOUT: Duration = Duration::from_secs(10);
/// The most tools taken from one server; the rest are left out with a warning.
pub const MAX_TOOLS_PER_SERVER: usize = 128;
/// The largest HTTP response accepted from a server.
const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;
/// Reconnection waits double from the first to the cap.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Variables a stdio server inherits from Switchboard's environment; nothing else
/// (no gateway key, no database URL) reaches it unless its `env` says so.
const INHERITED_ENV: &[&str] = &["PATH", "HOME", "USER", "LANG", "LC_ALL", "TMPDIR", "TZ"];
/// The longest stderr line of a stdio server that is logged.
const MAX_STDERR_LINE: usize = 1_000;

/// Why a call did not produce a result.
#[derive(Debug)]
pub enum CallFailure {
    /// No connection: the server is down or being reconnected.
    Down,
    /// The call passed the server's timeout; the server was told to cancel it.
    Timeout(Duration),
    /// The server answered with an error (or an answer of a kind not supported).
    Refused(String),
    /// The connection broke during the call.
    Lost,
}

/// The identity a server's tools need: the server's `authLevel`, raised to
/// `end_user` for tools `SMOOTH_AGENT_AUTH_TOOLS` names.
pub struct Gate {
    pub server: AuthLevel,
    pub end_user_tools: Arc<[String]>,
}

impl Gate {
    fn level(&self, tool: &str) -> AuthLevel {
        if self.server == AuthLevel::None && self.end_user_tools.iter().any(|t| t == tool) {
            AuthLevel::EndUser
        } else {
            self.server
        }
    }
}

/// A server's live state, shared by its supervisor and its tools.
pub struct Link {
    server: String,
    agent: String,
    call_timeout: Duration,
    gate: Gate,
    state: Mutex<LinkState>,
    /// Asks the supervisor to drop the connection and make a new one.
    reconnect: Notify,
}

#[derive(Default)]
struct LinkState {
    peer: Option<Peer<RoleClient>>,
    tools: Vec<Arc<McpTool>>,
}

impl Link {
    pub fn new(server: String, agent: String, call_timeout: Duration, gate: Gate) -> Self {
        Self {
            server,
            agent,
            call_timeout,
            gate,
            state: Mutex::default(),
            reconnect: Notify::new(),
        }
    }

    pub fn name(&self) -> &str {
        &self.server
    }

    pub fn agent(&self) -> &str {
        &self.agent
    }

    /// The tools of the latest listing (kept while the server is down, so a call
    /// says it is down instead of the tool vanishing mid-conversation).
    pub fn tools(&self) -> Vec<Arc<McpTool>> {
        self.lock().tools.clone()
    }

    pub fn is_connected(&self) -> bool {
        self.lock().peer.is_some()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LinkState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn peer(&self) -> Option<Peer<RoleClient>> {
        self.lock().peer.clone()
    }

    /// Calls tool `name`. Dropping the future (the turn was cancelled or timed
    /// out) tells the server to cancel the request.
    pub async fn call(
        &self,
        name: &str,
        arguments: serde_json::Map<String, serde_json::Value>,
    ) -> Result<CallToolResult, CallFailure> {
        let peer = self.peer().ok_or(CallFailure::Down)?;
        let params = CallToolRequestParams::new(name.to_owned()).with_arguments(arguments);
        match tokio::time::timeout(self.call_timeout, peer.call_tool(params)).await {
            Err(_) | Ok(Err(ServiceError::Timeout { .. })) => {
                Err(CallFailure::Timeout(self.call_timeout))
            }
            Ok(Ok(result)) => Ok(result),
            Ok(Err(ServiceError::McpError(e))) => Err(CallFailure::Refused(e.message.into_owned())),
            Ok(Err(ServiceError::UnexpectedResponse)) => Err(CallFailure::Refused(
                "it answered with a task or an input request, which Switchboard does not support"
                    .into(),
            )),
            Ok(Err(e)) => {
                tracing::debug!(server = %self.server, agent = %self.agent, error = %e, "MCP call failed; reconnecting");
                self.reconnect.notify_waiters();
                Err(CallFailure::Lost)
            }
        }
    }

    fn publish(self: &Arc<Self>, peer: Peer<RoleClient>, listed: Vec<rmcp::model::Tool>) -> usize {
        let mut tools = Vec::new();
        for tool in &listed {
            if tools.len() == MAX_TOOLS_PER_SERVER {
                tracing::warn!(server = %self.server, agent = %self.agent, listed = listed.len(),
                    "MCP server lists more than {MAX_TOOLS_PER_SERVER} tools; the rest are left out");
                break;
            }
            match McpTool::from_listing(tool, self.gate.level(&tool.name), self.clone()) {
                Ok(tool) => tools.push(Arc::new(tool)),
                Err(reason) => {
                    tracing::warn!(server = %self.server, agent = %self.agent, "MCP {reason}; it is left out");
                }
            }
        }
        let count = tools.len();
        let mut state = self.lock();
        state.peer = Some(peer);
        state.tools = tools;
        count
    }

    fn set_down(&self) {
        self.lock().peer = None;
    }
}

/// Hears the server's notifications: a changed tool list wakes the supervisor.
struct Listener {
    changed: mpsc::Sender<()>,
}

impl ClientHandler for Listener {
    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        // A full channel already holds a pending relist.
        let _ = self.changed.try_send(());
    }

    fn get_info(&self) -> rmcp::model::ClientConfig {
        rmcp::model::ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("switchboard", env!("CARGO_PKG_VERSION")),
        )
    }
}

/// How the supervisor reaches the server.
pub struct Dialer {
    pub endpoint: Endpoint,
    pub http: reqwest::Client,
    /// Values of [`INHERITED_ENV`] for stdio servers.
    pub inherited: Vec<(String, String)>,
}

impl Dialer {
    pub fn inherited_env(lookup: &dyn Fn(&str) -> Option<String>) -> Vec<(String, String)> {
        INHERITED_ENV
            .iter()
            .filter_map(|name| lookup(name).map(|v| ((*name).to_owned(), v)))
            .collect()
    }

    async fn connect(
        &self,
        link: &Link,
        listener: Listener,
    ) -> Result<RunningService<RoleClient, Listener>, String> {
        match &self.endpoint {
            Endpoint::Http { url, headers } => {
                use rmcp::transport::StreamableHttpClientTransport;
                use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
                let mut custom = std::collections::HashMap::new();
                for (name, value) in headers {
                    let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                        .map_err(|_| format!("'{name}' is not a header name"))?;
                    let value = reqwest::header::HeaderValue::from_str(value)
                        .map_err(|_| format!("the value of header '{name}' is not valid"))?;
                    custom.insert(name, value);
                }
                let config = StreamableHttpClientTransportConfig::with_uri(url.as_str())
                    .custom_headers(custom)
                    .max_json_response_size(MAX_RESPONSE_BYTES)
                    .max_sse_event_size(MAX_RESPONSE_BYTES);
                let transport =
                    StreamableHttpClientTransport::with_client(self.http.clone(), config);
                listener.serve(transport).await.map_err(|e| e.to_string())
            }
            Endpoint::Stdio { command, args, env } => {
                let mut child = tokio::process::Command::new(command);
                child
                    .args(args)
                    .env_clear()
                    .envs(self.inherited.iter().cloned())
                    .envs(env.iter().cloned());
                let (transport, stderr) = rmcp::transport::TokioChildProcess::builder(child)
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .map_err(|e| format!("cannot start '{command}': {e}"))?;
                if let Some(stderr) = stderr {
                    tokio::spawn(forward_stderr(
                        link.server.clone(),
                        link.agent.clone(),
                        stderr,
                    ));
                }
                listener.serve(transport).await.map_err(|e| e.to_string())
            }
        }
    }
}

/// A stdio server's stderr lines, logged at debug level (cut to a bounded length).
async fn forward_stderr(server: String, agent: String, stderr: tokio::process::ChildStderr) {
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(stderr).split(b'\n');
    while let Ok(Some(line)) = lines.next_segment().await {
        let line = String::from_utf8_lossy(&line[..line.len().min(MAX_STDERR_LINE)]).into_owned();
        tracing::debug!(%server, %agent, "MCP server stderr: {line}");
    }
}

/// All tools of a page-by-page `tools/list`, within [`LIST_TIMEOUT`].
async fn list(peer: &Peer<RoleClient>) -> Result<Vec<rmcp::model::Tool>, String> {
    match tokio::time::timeout(LIST_TIMEOUT, peer.list_all_tools()).await {
        Ok(Ok(tools)) => Ok(tools),
        Ok(Err(e)) => Err(format!("tools/list failed: {e}")),
        Err(_) => Err(format!(
            "tools/list did not answer within {} s",
            LIST_TIMEOUT.as_secs()
        )),
    }
}

/// Why a connection's watch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Shutdown,
    /// A call found the connection broken.
    Reconnect,
    Closed,
}

/// What the supervisor reports after each listing, so the agent can warn about
/// names that collide.
pub type OnListed = Box<dyn Fn() + Send + Sync>;

/// Keeps `link` connected until `stop`. `first` fires after the first attempt,
/// whether it succeeded (start-up waits for it). Failures are logged once per
/// outage, not per attempt.
pub async fn supervise(
    link: Arc<Link>,
    dialer: Dialer,
    stop: CancellationToken,
    first: tokio::sync::oneshot::Sender<()>,
    on_listed: OnListed,
) {
    let mut first = Some(first);
    let mut backoff = FIRST_BACKOFF;
    let mut outage_logged = false;
    loop {
        let started = Instant::now();
        let (changed, mut changes) = mpsc::channel(1);
        let attempt = async {
            let running =
                tokio::time::timeout(CONNECT_TIMEOUT, dialer.connect(&link, Listener { changed }))
                    .await
                    .map_err(|_| {
                        format!("no MCP handshake within {} s", CONNECT_TIMEOUT.as_secs())
                    })??;
            let tools = list(running.peer()).await?;
            Ok::<_, String>((running, tools))
        };
        let attempt = tokio::select! {
            attempt = attempt => attempt,
            () = stop.cancelled() => return,
        };
        match attempt {
            Ok((running, tools)) => {
                let count = link.publish(running.peer().clone(), tools);
                tracing::info!(server = %link.server, agent = %link.agent, tools = count, "MCP server connected");
                on_listed();
                if let Some(first) = first.take() {
                    let _ = first.send(());
                }
                let peer = running.peer().clone();
                let stopper = running.cancellation_token();
                let mut ended = std::pin::pin!(running.waiting());
                let end = loop {
                    tokio::select! {
                        () = stop.cancelled() => break End::Shutdown,
                        () = link.reconnect.notified() => break End::Reconnect,
                        _ = &mut ended => break End::Closed,
                        Some(()) = changes.recv() => match list(&peer).await {
                            Ok(tools) => {
                                let count = link.publish(peer.clone(), tools);
                                tracing::info!(server = %link.server, agent = %link.agent, tools = count, "MCP server's tools changed");
                                on_listed();
                            }
                            Err(e) => tracing::warn!(server = %link.server, agent = %link.agent, error = %e, "could not relist a changed MCP server's tools"),
                        },
                    }
                };
                link.set_down();
                stopper.cancel();
                if end != End::Closed {
                    // Closing a stdio child waits for it to exit (then kills it).
                    let _ = tokio::time::timeout(Duration::from_secs(5), &mut ended).await;
                }
                if end == End::Shutdown {
                    return;
                }
                tracing::warn!(server = %link.server, agent = %link.agent,
                    "MCP server connection lost; its tools give errors until it is back");
                outage_logged = true;
                // A connection that lasted starts the waits over; one that dies at
                // once keeps backing off.
                if started.elapsed() >= MAX_BACKOFF {
                    backoff = FIRST_BACKOFF;
                }
            }
            Err(e) => {
                if outage_logged {
                    tracing::debug!(server = %link.server, agent = %link.agent, error = %e, "MCP server still unreachable");
                } else {
                    tracing::warn!(server = %link.server, agent = %link.agent, error = %e,
                        "MCP server unreachable; retrying in the background, its tools appear when it answers");
                    outage_logged = true;
                }
                if let Some(first) = first.take() {
                    let _ = first.send(());
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            () = stop.cancelled() => return,
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}
