//! Tools from Model Context Protocol servers: each agent's `mcpServers` are
//! connected at start-up and kept connected, and their tools are offered to the
//! agent's model like any other tool (same approvals, identity gate, result cap and
//! turn deadline, which the turn applies to every tool).
//!
//! - `config`: the file's entries and their checks;
//! - `link`: one server's connection, its supervisor and reconnection;
//! - `tool`: a listed tool as a [`crate::tools::Tool`].

pub mod config;
mod link;
mod tool;

pub use config::{Endpoint, McpServerConfig};
pub use link::{CONNECT_TIMEOUT, LIST_TIMEOUT, MAX_BACKOFF, MAX_TOOLS_PER_SERVER};
pub use tool::{McpTool, result_text};

use crate::config::AgentFile;
use crate::tools::Tool;
use link::{Dialer, Gate, Link};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The MCP tools of every agent.
#[derive(Clone, Default)]
pub struct McpTools {
    agents: HashMap<String, Arc<AgentServers>>,
    /// Stops every supervisor (and so every stdio child).
    stop: CancellationToken,
}

/// One agent's servers, in file order, and the names its other tools hold.
struct AgentServers {
    agent: String,
    /// The agent's tools that are not from MCP: an MCP tool may not take a name.
    reserved: HashSet<String>,
    links: Vec<Arc<Link>>,
    /// Set once start-up has checked the names: later clashes are warned about.
    started: std::sync::atomic::AtomicBool,
}

/// What start-up needs from outside the file.
pub struct McpStart<'a> {
    /// Environment variables (for `${NAME}` in headers and `env`, and the few a
    /// stdio server inherits).
    pub lookup: &'a dyn Fn(&str) -> Option<String>,
    /// Tool names `SMOOTH_AGENT_AUTH_TOOLS` marks as needing a verified visitor.
    pub auth_tools: &'a [String],
    /// Stops the supervisors when the server shuts down.
    pub shutdown: CancellationToken,
}

impl McpTools {
    /// Connects every agent's servers and waits (a bounded time) for their first
    /// listing. A server that cannot be reached does not stop start-up: it is
    /// retried in the background. A listed tool whose name another tool of the
    /// agent already has stops start-up with a message naming both.
    pub async fn start(file: &AgentFile, start: McpStart<'_>) -> Result<Self, String> {
        let stop = start.shutdown.child_token();
        let http = mcp_http_client()?;
        let inherited = Dialer::inherited_env(start.lookup);
        let auth_tools: Arc<[String]> = start.auth_tools.into();
        let mut agents = HashMap::new();
        let mut firsts = Vec::new();
        for profile in file.agents.iter().filter(|a| !a.mcp_servers.is_empty()) {
            let mut links = Vec::new();
            let mut dialers = Vec::new();
            for server in &profile.mcp_servers {
                let endpoint = server
                    .endpoint(start.lookup)
                    .inspect_err(|_| stop.cancel())?;
                links.push(Arc::new(Link::new(
                    server.name.clone(),
                    profile.id.clone(),
                    server.call_timeout(),
                    Gate {
                        server: server.auth_level,
                        end_user_tools: auth_tools.clone(),
                    },
                )));
                dialers.push(Dialer {
                    endpoint,
                    http: http.clone(),
                    inherited: inherited.clone(),
                });
            }
            let servers = Arc::new(AgentServers {
                agent: profile.id.clone(),
                reserved: crate::runtime::non_mcp_tool_names(file, profile)
                    .into_iter()
                    .collect(),
                links,
                started: Default::default(),
            });
            for (index, dialer) in dialers.into_iter().enumerate() {
                let (sent, first) = tokio::sync::oneshot::channel();
                firsts.push(first);
                let watcher = servers.clone();
                tokio::spawn(link::supervise(
                    servers.links[index].clone(),
                    dialer,
                    stop.clone(),
                    sent,
                    Box::new(move || watcher.warn_collisions()),
                ));
            }
            agents.insert(profile.id.clone(), servers);
        }
        let limit = CONNECT_TIMEOUT + LIST_TIMEOUT + std::time::Duration::from_secs(1);
        let _ = tokio::time::timeout(limit, futures_util::future::join_all(firsts)).await;
        let tools = Self { agents, stop };
        for servers in tools.agents.values() {
            if let Some(collision) = servers.collisions().into_iter().next() {
                tools.stop.cancel();
                return Err(collision);
            }
            servers
                .started
                .store(true, std::sync::atomic::Ordering::Release);
        }
        Ok(tools)
    }

    /// The MCP tools agent `agent_id` (its UUID) may call now.
    pub fn tools_for(&self, agent_id: &str) -> Vec<Arc<dyn Tool>> {
        self.agents
            .get(agent_id)
            .map(|servers| servers.tools())
            .unwrap_or_default()
    }

    /// The names of agent `agent_id`'s tools from MCP servers, as on offer now.
    pub fn tool_names(&self, agent_id: &str) -> Vec<String> {
        self.tools_for(agent_id)
            .iter()
            .map(|t| t.spec().name.clone())
            .collect()
    }

    /// The names of agent `agent_id`'s MCP servers that are connected now.
    pub fn connected(&self, agent_id: &str) -> Vec<String> {
        self.agents
            .get(agent_id)
            .map(|servers| {
                servers
                    .links
                    .iter()
                    .filter(|l| l.is_connected())
                    .map(|l| l.name().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Stops every server connection (and stdio child).
    pub fn stop(&self) {
        self.stop.cancel();
    }
}

impl AgentServers {
    /// The tools on offer: a tool whose name is reserved or taken by an earlier
    /// server is left out (and was warned about when listed).
    fn tools(&self) -> Vec<Arc<dyn Tool>> {
        let mut taken: HashSet<String> = HashSet::new();
        let mut tools: Vec<Arc<dyn Tool>> = Vec::new();
        for link in &self.links {
            for tool in link.tools() {
                let name = &tool.spec().name;
                if !self.reserved.contains(name) && taken.insert(name.clone()) {
                    tools.push(tool);
                }
            }
        }
        tools
    }

    /// Every name clash among the agent's tools, as messages naming both tools.
    fn collisions(&self) -> Vec<String> {
        let mut owner: HashMap<String, &str> = HashMap::new();
        let mut clashes = Vec::new();
        for link in &self.links {
            for tool in link.tools() {
                let name = tool.spec().name.clone();
                if self.reserved.contains(&name) {
                    clashes.push(format!(
                        "agent '{}': tool '{name}' of MCP server '{}' has the name of the agent's \
                         tool '{name}' (from the configuration file or built in)",
                        self.agent,
                        link.name()
                    ));
                } else if let Some(first) = owner.get(&name) {
                    clashes.push(format!(
                        "agent '{}': tool '{name}' of MCP server '{}' has the name of tool \
                         '{name}' of MCP server '{first}'",
                        self.agent,
                        link.name()
                    ));
                } else {
                    owner.insert(name, link.name());
                }
            }
        }
        clashes
    }

    /// After a listing that came later than start-up, clashes leave the later tool
    /// out; this says so in the log.
    fn warn_collisions(&self) {
        if !self.started.load(std::sync::atomic::Ordering::Acquire) {
            return;
        }
        for clash in self.collisions() {
            tracing::warn!("{clash}; the MCP tool is left out");
        }
    }
}

/// The HTTP client for MCP servers: no redirects (a server moving its endpoint
/// elsewhere must be reconfigured, not followed with the headers).
fn mcp_http_client() -> Result<reqwest::Client, String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot set up the MCP HTTP client: {e}"))
}
