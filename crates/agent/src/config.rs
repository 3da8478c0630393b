//! The agent configuration file (`SMOOTH_AGENT_CONFIG`, JSON or TOML): tools,
//! which of them need a human's approval, knowledge to ingest, and agents.
//!
//! A conformance scenario's `server` block is a valid file exactly as written.

use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::Duration;
use switchboard_core::AgentId;
use switchboard_knowledge::source::SourceConfig;
use switchboard_knowledge::{Acl, Document};

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentFile {
    #[serde(default)]
    pub tools: Vec<ToolConfig>,
    /// Tool-name patterns (`*` matches any run of characters) that need approval.
    #[serde(default)]
    pub confirm_tools: Vec<String>,
    /// Documents ingested at start-up.
    #[serde(default)]
    pub knowledge: Vec<KnowledgeEntry>,
    /// Per-organisation settings applied at start-up (a persona overrides every
    /// agent's personality for that organisation).
    #[serde(default)]
    pub organizations: Vec<OrganizationConfig>,
    /// Folders, files, web pages and GitHub repositories ingested at start-up (and
    /// re-ingested every `refreshSecs` when set).
    #[serde(default)]
    pub sources: Vec<SourceConfig>,
    #[serde(default)]
    pub agents: Vec<AgentProfile>,
}

/// A tool the model may call: a fixed `result`, or an HTTP endpoint at `url` that
/// receives the arguments as a JSON POST and answers with the result as its body.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ToolConfig {
    pub name: String,
    pub description: String,
    /// JSON Schema of the arguments.
    #[serde(default = "empty_object_schema")]
    pub parameters: Value,
    pub result: Option<String>,
    pub url: Option<String>,
    /// HTTP tools: give up after this long (default 10 s).
    pub timeout_ms: Option<u64>,
    /// HTTP tools: extra request headers (for example an API key).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The identity the tool needs: `none` (default), `end_user` (a visitor who
    /// verified with a one-time code) or `admin` (never on public agents).
    #[serde(default)]
    pub auth_level: crate::tools::AuthLevel,
}

impl ToolConfig {
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms.unwrap_or(10_000))
    }
}

fn empty_object_schema() -> Value {
    serde_json::json!({"type": "object", "properties": {}})
}

/// A document to ingest at start-up; its id is its `source`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KnowledgeEntry {
    pub source: String,
    pub content: String,
    pub title: Option<String>,
    pub url: Option<String>,
    /// The owning organisation; omitted means every organisation.
    pub org: Option<String>,
    /// Who may see it; omitted means everyone in the organisation.
    #[serde(default)]
    pub acl: Acl,
    #[serde(default)]
    pub sets: Vec<String>,
}

impl KnowledgeEntry {
    pub fn document(&self) -> Document {
        let mut document = Document::public(self.source.clone(), self.content.clone());
        document.title = self.title.clone();
        if self.url.is_some() {
            document.url = self.url.clone();
        }
        document.org = self.org.clone();
        document.acl = self.acl.clone();
        document.sets = self.sets.clone();
        document
    }
}

/// Per-agent behaviour, chosen by the session's `agentId`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentProfile {
    /// The agent's UUID, as clients send it and every event carries it. A file
    /// may still give a non-UUID `id` (written before agents had UUIDs): it is
    /// then taken as the `slug`, and the id is the UUID derived from it
    /// ([`AgentId::from_slug`]), so records made under it keep their agent.
    pub id: String,
    /// A short name a client may send as `agentId` instead of the UUID
    /// (1-64 letters, digits, `_` or `-`, and not itself a UUID).
    pub slug: Option<String>,
    /// Display name sent as `agentName`.
    pub name: Option<String>,
    /// The system prompt.
    pub instructions: Option<String>,
    /// How the agent sounds; an organisation's persona setting overrides it.
    pub personality: Option<String>,
    /// Said (in the model's words) at the start of a conversation.
    pub greeting: Option<String>,
    /// `internal` agents (for staff) may use tools that need authentication;
    /// `public` (the default) agents may not without a verified visitor.
    #[serde(default)]
    pub visibility: Visibility,
    pub model: Option<String>,
    /// Model calls per turn, at most (1–64).
    pub max_iterations: Option<u32>,
    /// The tools this agent may use (by name); omitted means all. The tools of
    /// the agent's own `mcpServers` are offered whatever this says.
    pub tools: Option<Vec<String>>,
    /// Model Context Protocol servers whose tools this agent may call.
    #[serde(default)]
    pub mcp_servers: Vec<crate::mcp::McpServerConfig>,
    /// Goal steps the agent pursues across turns, judged after each turn.
    pub workflow: Option<crate::workflow::Workflow>,
    /// Where this agent may be embedded as a widget; omitted means no policy here
    /// (the policy service, when configured, is asked instead).
    pub widget: Option<WidgetPolicyConfig>,
    /// When this agent hands a conversation to a person; omitted means never by
    /// itself (an operator may still take over).
    pub handoff: Option<crate::handoff::HandoffPolicy>,
}

/// An agent's embeddable-widget policy as written in the file.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WidgetPolicyConfig {
    /// Origin patterns (`*`, `https://app.example.com`, `https://*.example.com`) a
    /// widget's page may have; an empty list refuses every origin.
    pub allowed_origins: Vec<String>,
    /// The key `authContext` signatures are verified with (HMAC-SHA256). Despite
    /// the name the reference servers give it, it is a shared secret: never printed.
    pub public_key: Option<String>,
    /// The organisation new conversations through this widget belong to.
    pub organization_id: Option<String>,
}

impl std::fmt::Debug for WidgetPolicyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WidgetPolicyConfig")
            .field("allowed_origins", &self.allowed_origins)
            .field(
                "public_key",
                &self.public_key.as_ref().map(|_| "[REDACTED]"),
            )
            .field("organization_id", &self.organization_id)
            .finish()
    }
}

/// One organisation's settings in the configuration file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrganizationConfig {
    pub id: String,
    pub persona: Option<String>,
}

/// Who an agent serves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    #[default]
    Public,
    Internal,
}

impl AgentProfile {
    pub fn internal(&self) -> bool {
        self.visibility == Visibility::Internal
    }
}

/// Why the file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AgentFileError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a valid agent configuration: {problem}")]
    Invalid { path: String, problem: String },
}

impl AgentFile {
    /// Reads and checks a JSON (`.json`) or TOML (`.toml`) file; other extensions
    /// are tried as JSON, then TOML.
    pub fn load(path: &Path) -> Result<Self, AgentFileError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| AgentFileError::Read {
            path: shown.clone(),
            source,
        })?;
        let invalid = |problem: String| AgentFileError::Invalid {
            path: shown.clone(),
            problem,
        };
        let file: Self = match path.extension().and_then(|e| e.to_str()) {
            Some("toml") => toml::from_str(&text).map_err(|e| invalid(e.to_string()))?,
            Some("json") => serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?,
            _ => serde_json::from_str(&text)
                .or_else(|json| toml::from_str(&text).map_err(|_| json))
                .map_err(|e| invalid(e.to_string()))?,
        };
        let mut file = file;
        file.check().map_err(invalid)?;
        Ok(file)
    }

    /// Parses a JSON value (a scenario's `server` block, a test fixture).
    pub fn from_json(value: Value) -> Result<Self, String> {
        let mut file: Self = serde_json::from_value(value).map_err(|e| e.to_string())?;
        file.check()?;
        Ok(file)
    }

    /// Rules serde cannot express, and agent ids made canonical (see
    /// [`AgentProfile::id`]).
    fn check(&mut self) -> Result<(), String> {
        self.settle_agent_ids()?;
        let mut names = HashSet::new();
        for tool in &self.tools {
            if !valid_tool_name(&tool.name) {
                return Err(format!(
                    "tool name '{}' must be 1-64 letters, digits, '_' or '-'",
                    tool.name
                ));
            }
            if !names.insert(tool.name.as_str()) {
                return Err(format!("tool '{}' is defined twice", tool.name));
            }
            match (&tool.result, &tool.url) {
                (Some(_), None) => {}
                (None, Some(url)) if url.starts_with("http://") || url.starts_with("https://") => {}
                (None, Some(url)) => {
                    return Err(format!("tool '{}': url '{url}' is not http(s)", tool.name));
                }
                _ => {
                    return Err(format!(
                        "tool '{}' needs exactly one of 'result' or 'url'",
                        tool.name
                    ));
                }
            }
            if !tool.parameters.is_object() {
                return Err(format!(
                    "tool '{}': 'parameters' must be a JSON Schema object",
                    tool.name
                ));
            }
        }
        let mut ids = HashSet::new();
        for agent in &self.agents {
            if agent.id.trim().is_empty() || !ids.insert(agent.id.as_str()) {
                return Err(format!("agent id '{}' is blank or repeated", agent.id));
            }
            if let Some(n) = agent.max_iterations
                && !(1..=64).contains(&n)
            {
                return Err(format!("agent '{}': maxIterations must be 1-64", agent.id));
            }
            if let Some(widget) = &agent.widget {
                if widget.public_key.as_deref().is_some_and(|k| k.is_empty()) {
                    return Err(format!("agent '{}': widget publicKey is empty", agent.id));
                }
                if widget
                    .organization_id
                    .as_deref()
                    .is_some_and(|o| o.trim().is_empty())
                {
                    return Err(format!(
                        "agent '{}': widget organizationId is blank",
                        agent.id
                    ));
                }
            }
            if let Some(handoff) = &agent.handoff {
                handoff
                    .check()
                    .map_err(|problem| format!("agent '{}': {problem}", agent.id))?;
            }
            crate::mcp::config::check_servers(&agent.id, &agent.mcp_servers)?;
            if let Some(workflow) = &agent.workflow {
                let mut steps = HashSet::new();
                if workflow.steps.is_empty()
                    || workflow.steps.iter().any(|s| !steps.insert(s.id.as_str()))
                {
                    return Err(format!(
                        "agent '{}': a workflow needs steps with distinct ids",
                        agent.id
                    ));
                }
            }
        }
        for entry in &self.knowledge {
            if entry.source.trim().is_empty() {
                return Err("a knowledge entry has a blank 'source'".into());
            }
        }
        Ok(())
    }

    /// Gives every agent a canonical UUID `id`: a UUID is written in its canonical
    /// form; a non-UUID id becomes the slug of a UUID derived from it, with a
    /// warning saying what to write instead. Slugs and ids must be unique.
    fn settle_agent_ids(&mut self) -> Result<(), String> {
        let mut slugs = HashSet::new();
        for agent in &mut self.agents {
            let given = agent.id.trim().to_owned();
            if given.is_empty() {
                return Err("an agent has a blank 'id'".into());
            }
            match (AgentId::uuid(&given), &agent.slug) {
                (Some(id), _) => agent.id = id.to_string(),
                (None, Some(_)) => {
                    return Err(format!(
                        "agent '{given}': 'id' must be a UUID when a 'slug' is given \
                         (to keep the id '{given}' stood for, write \"id\": \"{}\")",
                        AgentId::from_slug(&given)
                    ));
                }
                (None, None) => {
                    let id = AgentId::from_slug(&given);
                    check_slug(&given).map_err(|problem| {
                        format!(
                            "agent '{given}': 'id' must be a UUID, e.g. \"id\": \"{id}\" \
                             (the id '{given}' cannot be kept as a slug: {problem})"
                        )
                    })?;
                    tracing::warn!(
                        agent = %given,
                        "agent configuration: agent id '{given}' is not a UUID; it is served \
                         as slug '{given}' with id {id}. Write \"id\": \"{id}\", \"slug\": \
                         \"{given}\" to say so and silence this warning"
                    );
                    agent.slug = Some(given);
                    agent.id = id.to_string();
                }
            }
            if let Some(slug) = &agent.slug {
                check_slug(slug).map_err(|problem| format!("agent '{}': {problem}", agent.id))?;
                if !slugs.insert(slug.clone()) {
                    return Err(format!("agent slug '{slug}' is repeated"));
                }
            }
        }
        Ok(())
    }

    /// The agent a client's `agentId` names: a UUID (any agent, configured or
    /// not, in canonical form) or the slug of a configured agent. `None` for
    /// anything else.
    pub fn resolve(&self, agent_id: &str) -> Option<AgentId> {
        let text = agent_id.trim();
        AgentId::uuid(text).or_else(|| {
            self.agents
                .iter()
                .find(|a| a.slug.as_deref() == Some(text))
                .map(|a| AgentId::new(a.id.clone()))
        })
    }

    /// The UUID of a stored agent id: itself or its slug's agent when
    /// [`resolve`](Self::resolve) knows it, else the UUID derived from it (a record
    /// from before agents had UUIDs, whose agent has left the file).
    pub fn wire_id(&self, stored: &str) -> AgentId {
        self.resolve(stored)
            .unwrap_or_else(|| AgentId::from_slug(stored.trim()))
    }

    /// The profile of the agent `id` names (its UUID, slug, or a stored id from
    /// before agents had UUIDs).
    pub fn agent(&self, id: &str) -> Option<&AgentProfile> {
        let id = self.wire_id(id);
        self.agents.iter().find(|a| a.id == id.as_str())
    }
}

/// A slug: 1-64 letters, digits, `_` or `-`, that is not itself a UUID.
fn check_slug(slug: &str) -> Result<(), String> {
    if !(1..=64).contains(&slug.len())
        || !slug
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(format!(
            "slug '{slug}' must be 1-64 letters, digits, '_' or '-'"
        ));
    }
    if AgentId::uuid(slug).is_some() {
        return Err(format!("slug '{slug}' is a UUID; give it as 'id' instead"));
    }
    Ok(())
}

pub(crate) fn valid_tool_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_scenario_server_block_is_a_valid_file() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../spec/conformance/scenarios"
        );
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let scenario: Value =
                serde_json::from_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap())
                    .unwrap();
            if let Some(server) = scenario.get("server") {
                AgentFile::from_json(server.clone()).unwrap();
                seen += 1;
            }
        }
        assert!(seen >= 3);
    }

    #[test]
    fn toml_and_json_files_load() {
        let dir = std::env::temp_dir().join(format!("sb-agent-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let toml_path = dir.join("agent.toml");
        std::fs::write(
            &toml_path,
            r#"
confirmTools = ["delete_*"]

[[tools]]
name = "lookup_order"
description = "Look up an order"
url = "http://127.0.0.1:9/orders"
timeoutMs = 2000

[[agents]]
id = "support"
instructions = "Be brief."
maxIterations = 4
tools = ["lookup_order"]
"#,
        )
        .unwrap();
        let file = AgentFile::load(&toml_path).unwrap();
        assert_eq!(file.tools[0].timeout(), Duration::from_secs(2));
        assert_eq!(file.agent("support").unwrap().max_iterations, Some(4));
        let json_path = dir.join("agent.json");
        std::fs::write(
            &json_path,
            r#"{"knowledge":[{"source":"a.md","content":"A"}]}"#,
        )
        .unwrap();
        assert_eq!(AgentFile::load(&json_path).unwrap().knowledge.len(), 1);
    }

    #[test]
    fn an_agent_may_carry_a_widget_policy_whose_key_never_prints() {
        let file = AgentFile::from_json(json!({"agents": [{"id": "support", "widget": {
            "allowedOrigins": ["https://*.example.com"],
            "publicKey": "k-very-secret",
            "organizationId": "acme"
        }}]}))
        .unwrap();
        let widget = file.agent("support").unwrap().widget.as_ref().unwrap();
        assert_eq!(widget.allowed_origins, ["https://*.example.com"]);
        assert_eq!(widget.public_key.as_deref(), Some("k-very-secret"));
        assert_eq!(widget.organization_id.as_deref(), Some("acme"));
        assert!(!format!("{file:?}").contains("k-very-secret"));
    }

    #[test]
    fn agents_have_uuid_ids_and_may_have_slugs() {
        let uuid = "0f1e2d3c-4b5a-4968-8776-655443322110";
        let file = AgentFile::from_json(json!({"agents": [
            {"id": uuid.to_uppercase(), "slug": "support", "name": "Support"},
            {"id": "sales", "name": "Sales"},
        ]}))
        .unwrap();
        assert_eq!(file.agents[0].id, uuid, "canonical form");
        // A file written before agents had UUIDs keeps working: the old id is the slug.
        let sales = AgentId::from_slug("sales");
        assert_eq!(file.agents[1].id, sales.as_str());
        assert_eq!(file.agents[1].slug.as_deref(), Some("sales"));
        assert_eq!(file.resolve("support").unwrap().as_str(), uuid);
        assert_eq!(file.resolve(" sales ").unwrap(), sales);
        assert_eq!(file.resolve(uuid).unwrap().as_str(), uuid);
        let stranger = "11111111-1111-1111-1111-111111111111";
        assert_eq!(
            file.resolve(stranger).unwrap().as_str(),
            stranger,
            "any UUID is an agent (with the defaults)"
        );
        assert_eq!(file.resolve("Support"), None, "slugs are exact");
        assert_eq!(file.resolve("nobody"), None);
        assert_eq!(
            file.agent("support").unwrap().name.as_deref(),
            Some("Support")
        );
        assert_eq!(
            file.agent(sales.as_str()).unwrap().name.as_deref(),
            Some("Sales")
        );
        assert_eq!(file.wire_id("gone"), AgentId::from_slug("gone"));
    }

    #[test]
    fn agent_id_mistakes_say_what_to_write() {
        let derived = AgentId::from_slug("sales");
        for (agents, expected) in [
            (
                json!([{"id": "sales", "slug": "shop"}]),
                format!(
                    "'id' must be a UUID when a 'slug' is given (to keep the id 'sales' stood for, write \"id\": \"{derived}\")"
                ),
            ),
            (
                json!([{"id": "sales team"}]),
                format!(
                    "'id' must be a UUID, e.g. \"id\": \"{}\"",
                    AgentId::from_slug("sales team")
                ),
            ),
            (
                json!([{"id": "0f1e2d3c-4b5a-4968-8776-655443322110", "slug": "a b"}]),
                "slug 'a b' must be 1-64 letters, digits, '_' or '-'".into(),
            ),
            (
                json!([{"id": "0f1e2d3c-4b5a-4968-8776-655443322110",
                        "slug": "0f1e2d3c4b5a49688776655443322111"}]),
                "is a UUID; give it as 'id' instead".into(),
            ),
            (
                json!([{"id": "sales"}, {"id": "0f1e2d3c-4b5a-4968-8776-655443322110", "slug": "sales"}]),
                "agent slug 'sales' is repeated".into(),
            ),
            (
                json!([{"id": "sales"}, {"id": derived.as_str()}]),
                "is blank or repeated".into(),
            ),
        ] {
            let e = AgentFile::from_json(json!({"agents": agents})).unwrap_err();
            assert!(e.contains(&expected), "{e}\nexpected: {expected}");
        }
    }

    #[test]
    fn mistakes_are_reported_not_ignored() {
        let bad = [
            json!({"tool": []}),
            json!({"tools": [{"name": "x", "description": "d"}]}),
            json!({"tools": [{"name": "x", "description": "d", "result": "r", "url": "http://a"}]}),
            json!({"tools": [{"name": "bad name", "description": "d", "result": "r"}]}),
            json!({"tools": [{"name": "x", "description": "d", "url": "ftp://a"}]}),
            json!({"tools": [{"name": "x", "description": "d", "result": "r"}, {"name": "x", "description": "d", "result": "r"}]}),
            json!({"agents": [{"id": "a", "maxIterations": 0}]}),
            json!({"agents": [{"id": "a", "widget": {"allowedOrigins": ["*"], "origins": []}}]}),
            json!({"agents": [{"id": "a", "widget": {"publicKey": "k"}}]}),
            json!({"agents": [{"id": "a", "widget": {"allowedOrigins": [], "publicKey": ""}}]}),
            json!({"agents": [{"id": "a", "mcpServers": [{"name": "x"}]}]}),
            json!({"agents": [{"id": "a", "mcpServers": [{"name": "x", "url": "http://h", "cmd": "c"}]}]}),
        ];
        for value in bad {
            assert!(AgentFile::from_json(value.clone()).is_err(), "{value}");
        }
    }
}
