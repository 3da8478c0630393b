//! The tools `/mcp` offers: `ask_<slug>` per configured agent, and
//! `search_knowledge`.

use super::ask::{self, Answer};
use crate::access::Viewer;
use crate::admin::Caller;
use crate::state::AppState;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::{ErrorData, ServerHandler};
use serde_json::{Value, json};
use std::sync::Arc;

/// The tool that searches the knowledge base.
pub const SEARCH_KNOWLEDGE: &str = "search_knowledge";
/// The longest question or query accepted.
const MAX_QUESTION_CHARS: usize = 8_000;
/// The most passages one search returns.
const MAX_SEARCH_RESULTS: u64 = 20;

/// One `/mcp` request's handler; cheap to clone (one per request).
#[derive(Clone)]
pub struct Endpoint {
    state: AppState,
    agents: Arc<Vec<AskTool>>,
}

/// The `ask_<slug>` tool of one configured agent.
struct AskTool {
    tool: String,
    /// The agent's UUID.
    agent: String,
    /// Its display name, for the description.
    name: Option<String>,
}

impl Endpoint {
    pub fn new(state: AppState) -> Self {
        let agents = state
            .runtime()
            .agents()
            .iter()
            .map(|a| AskTool {
                tool: format!("ask_{}", a.slug.as_deref().unwrap_or(&a.id)),
                agent: a.id.clone(),
                name: a.name.clone(),
            })
            .collect();
        Self {
            state,
            agents: Arc::new(agents),
        }
    }

    fn tools(&self) -> Vec<Tool> {
        let mut tools: Vec<Tool> = self
            .agents
            .iter()
            .map(|ask| {
                let who = ask.name.as_deref().unwrap_or(&ask.tool["ask_".len()..]);
                Tool::new(
                    ask.tool.clone(),
                    format!(
                        "Ask the agent '{who}' a question. It answers as in a chat (with its \
                         knowledge and tools) and lists the sources it used."
                    ),
                    schema(json!({
                        "type": "object",
                        "properties": {"question": {"type": "string", "description": "What to ask"}},
                        "required": ["question"],
                    })),
                )
            })
            .collect();
        tools.push(Tool::new(
            SEARCH_KNOWLEDGE,
            "Search the knowledge base: the passages you may read that best match the query.",
            schema(json!({
                "type": "object",
                "properties": {
                    "query": {"type": "string"},
                    "limit": {"type": "integer", "minimum": 1, "maximum": MAX_SEARCH_RESULTS},
                },
                "required": ["query"],
            })),
        ));
        tools
    }

    async fn search(
        &self,
        caller: &Caller,
        arguments: &Value,
    ) -> Result<CallToolResult, ErrorData> {
        let query = text_argument(arguments, "query")?;
        let limit = arguments
            .get("limit")
            .and_then(Value::as_u64)
            .unwrap_or(5)
            .clamp(1, MAX_SEARCH_RESULTS) as usize;
        let access = Viewer::new(Some(caller.0.clone()), String::new()).access(&caller.org());
        let hits = self
            .state
            .runtime()
            .retriever()
            .retrieve(&query, &access, limit)
            .await;
        let results: Vec<Value> = hits
            .iter()
            .map(|h| json!({"title": h.title, "source": h.source, "url": h.url, "text": h.text, "score": h.score}))
            .collect();
        let text = if hits.is_empty() {
            "No passages match.".to_owned()
        } else {
            hits.iter()
                .map(|h| {
                    format!(
                        "## {} ({})\n{}",
                        h.title,
                        h.url.as_deref().unwrap_or(&h.source),
                        h.text
                    )
                })
                .collect::<Vec<_>>()
                .join("\n\n")
        };
        let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
        result.structured_content = Some(json!({"results": results}));
        Ok(result)
    }

    async fn ask(
        &self,
        caller: &Caller,
        agent: &str,
        arguments: &Value,
        cancel: tokio_util::sync::CancellationToken,
    ) -> Result<CallToolResult, ErrorData> {
        let question = text_argument(arguments, "question")?;
        let asked = tokio::select! {
            asked = ask::ask(&self.state, caller, agent, question) => asked,
            () = cancel.cancelled() => return Err(ErrorData::internal_error("cancelled", None)),
        };
        Ok(match asked {
            Ok(Answer {
                text,
                citations,
                conversation_id,
            }) => {
                let mut shown = text.clone();
                if !citations.is_empty() {
                    shown.push_str("\n\nSources:");
                    for c in &citations {
                        let title = c["title"].as_str().unwrap_or_default();
                        match c["url"].as_str() {
                            Some(url) => shown.push_str(&format!("\n- {title} ({url})")),
                            None => shown.push_str(&format!("\n- {title}")),
                        }
                    }
                }
                let mut result = CallToolResult::success(vec![ContentBlock::text(shown)]);
                result.structured_content = Some(json!({
                    "answer": text,
                    "citations": citations,
                    "conversationId": conversation_id,
                }));
                result
            }
            Err(refusal) => CallToolResult::error(vec![ContentBlock::text(refusal)]),
        })
    }
}

impl ServerHandler for Endpoint {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(
                "switchboard",
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(
                "Ask Switchboard's agents questions (ask_<agent>) or search its knowledge \
                 base (search_knowledge).",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        // The gate in front of `/mcp` put the caller on the HTTP request.
        let caller = context
            .extensions
            .get::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Caller>())
            .cloned()
            .ok_or_else(|| ErrorData::invalid_request("not authenticated", None))?;
        let arguments = Value::Object(request.arguments.unwrap_or_default());
        let name = request.name.as_ref();
        let result = if name == SEARCH_KNOWLEDGE {
            self.search(&caller, &arguments).await?
        } else if let Some(ask) = self.agents.iter().find(|a| a.tool == name) {
            self.ask(&caller, &ask.agent, &arguments, context.ct.clone())
                .await?
        } else {
            return Err(ErrorData::invalid_params(format!("no tool '{name}'"), None));
        };
        Ok(result.into())
    }
}

fn schema(value: Value) -> serde_json::Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

/// A required, non-blank string argument of bounded length.
fn text_argument(arguments: &Value, name: &str) -> Result<String, ErrorData> {
    let text = arguments
        .get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ErrorData::invalid_params(format!("'{name}' must be a non-blank string"), None)
        })?;
    if text.chars().count() > MAX_QUESTION_CHARS {
        return Err(ErrorData::invalid_params(
            format!("'{name}' is longer than {MAX_QUESTION_CHARS} characters"),
            None,
        ));
    }
    Ok(text.to_owned())
}
