//! Tools the model may call: fixed answers, HTTP endpoints, and `knowledge_search`.

mod confirm;
mod fixed;
mod http;
mod knowledge_search;

pub use confirm::ConfirmPolicy;
pub use fixed::FixedTool;
pub use http::HttpTool;
pub use knowledge_search::{KNOWLEDGE_SEARCH, KnowledgeSearch};

use crate::config::ToolConfig;
use crate::llm::ToolSpec;
use async_trait::async_trait;
use std::sync::Arc;
use switchboard_knowledge::{Access, Hit};

/// The most of a tool's result (in bytes) the model is given, whatever the tool.
pub const MAX_RESULT_BYTES: usize = 64 * 1024;

/// `text` cut to at most `max` bytes (on a character boundary), marked
/// `[truncated]` when cut.
pub fn cap(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n[truncated]", &text[..end])
}

/// What a tool answered.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    /// The text the model receives.
    pub text: String,
    /// Knowledge the tool retrieved; it joins the turn's citations.
    pub hits: Vec<Hit>,
}

impl ToolOutput {
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            hits: Vec::new(),
        }
    }
}

/// A tool failed; the model is told `error: <message>` and carries on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ToolError(pub String);

/// What a tool may know about the turn calling it.
#[derive(Debug, Clone)]
pub struct ToolContext {
    /// Who is asking, for tools that read access-controlled data.
    pub access: Access,
    pub session_id: switchboard_core::SessionId,
    pub agent_id: String,
}

/// The identity a tool needs before it may run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthLevel {
    /// Anyone.
    #[default]
    None,
    /// A visitor who proved their identity with a one-time code.
    EndUser,
    /// Never on a public-facing agent.
    Admin,
}

#[async_trait]
pub trait Tool: Send + Sync + 'static {
    fn spec(&self) -> &ToolSpec;

    /// The identity the tool needs (none by default).
    fn auth_level(&self) -> AuthLevel {
        AuthLevel::None
    }

    /// Runs the tool on the model's arguments (a JSON object).
    async fn call(
        &self,
        arguments: &serde_json::Value,
        ctx: &ToolContext,
    ) -> Result<ToolOutput, ToolError>;
}

/// The configured tools, built once at start-up.
#[derive(Clone, Default)]
pub struct ToolRegistry {
    tools: Vec<Arc<dyn Tool>>,
}

impl ToolRegistry {
    /// Builds the tools a configuration file declares. HTTP tools share one pooled
    /// client.
    pub fn from_config(tools: &[ToolConfig]) -> Self {
        let client = crate::http::client();
        let tools = tools
            .iter()
            .map(|t| -> Arc<dyn Tool> {
                match (&t.result, &t.url) {
                    (Some(result), _) => {
                        Arc::new(FixedTool::new(spec_of(t), result.clone(), t.auth_level))
                    }
                    (None, Some(url)) => Arc::new(HttpTool::new(
                        spec_of(t),
                        url.clone(),
                        t.headers.clone(),
                        t.timeout(),
                        client.clone(),
                        t.auth_level,
                    )),
                    (None, None) => unreachable!("the agent file check requires result or url"),
                }
            })
            .collect();
        Self { tools }
    }

    pub fn add(&mut self, tool: Arc<dyn Tool>) {
        self.tools.retain(|t| t.spec().name != tool.spec().name);
        self.tools.push(tool);
    }

    /// The tools whose names `allowed` lists (all of them for `None`).
    pub fn allowed(&self, allowed: Option<&[String]>) -> Vec<Arc<dyn Tool>> {
        self.tools
            .iter()
            .filter(|t| allowed.is_none_or(|names| names.iter().any(|n| *n == t.spec().name)))
            .cloned()
            .collect()
    }

    pub fn names(&self) -> Vec<String> {
        self.tools.iter().map(|t| t.spec().name.clone()).collect()
    }
}

fn spec_of(tool: &ToolConfig) -> ToolSpec {
    ToolSpec {
        name: tool.name.clone(),
        description: tool.description.clone(),
        parameters: tool.parameters.clone(),
    }
}
