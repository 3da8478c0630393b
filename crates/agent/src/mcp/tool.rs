//! One tool of an MCP server as a [`Tool`] of the agent: its call goes to the
//! server's current connection, bounded by the server's call timeout.

use super::link::{CallFailure, Link};
use crate::llm::ToolSpec;
use crate::tools::{AuthLevel, MAX_RESULT_BYTES, Tool, ToolContext, ToolError, ToolOutput, cap};
use async_trait::async_trait;
use serde_json::Value;
use std::sync::Arc;

/// The longest tool description the model is shown.
pub const MAX_DESCRIPTION_CHARS: usize = 4_000;
/// The largest input schema accepted (as JSON text); larger tools are left out.
pub const MAX_SCHEMA_BYTES: usize = 32 * 1024;

pub struct McpTool {
    spec: ToolSpec,
    auth_level: AuthLevel,
    link: Arc<Link>,
}

impl McpTool {
    /// The tool as the server listed it; `None` (with the reason) when it cannot be
    /// offered to a model.
    pub fn from_listing(
        tool: &rmcp::model::Tool,
        auth_level: AuthLevel,
        link: Arc<Link>,
    ) -> Result<Self, String> {
        let name = tool.name.to_string();
        if !crate::config::valid_tool_name(&name) {
            return Err(format!(
                "tool '{}' has a name models cannot call (1-64 letters, digits, '_' or '-')",
                name.chars().take(80).collect::<String>()
            ));
        }
        let parameters = Value::Object((*tool.input_schema).clone());
        if parameters.to_string().len() > MAX_SCHEMA_BYTES {
            return Err(format!(
                "tool '{name}' has an input schema over {MAX_SCHEMA_BYTES} bytes"
            ));
        }
        let description = tool
            .description
            .as_deref()
            .or(tool.title.as_deref())
            .unwrap_or_default()
            .chars()
            .take(MAX_DESCRIPTION_CHARS)
            .collect();
        Ok(Self {
            spec: ToolSpec {
                name,
                description,
                parameters,
            },
            auth_level,
            link,
        })
    }
}

#[async_trait]
impl Tool for McpTool {
    fn spec(&self) -> &ToolSpec {
        &self.spec
    }

    fn auth_level(&self) -> AuthLevel {
        self.auth_level
    }

    /// Calls the tool on the server. A server that is down, slow or failing gives
    /// the model an error it can read, never a failed turn.
    async fn call(&self, arguments: &Value, _ctx: &ToolContext) -> Result<ToolOutput, ToolError> {
        let arguments = match arguments {
            Value::Object(map) => map.clone(),
            _ => serde_json::Map::new(),
        };
        let server = self.link.name();
        match self.link.call(&self.spec.name, arguments).await {
            Ok(result) => {
                let (text, is_error) = result_text(&result);
                if is_error {
                    Err(ToolError(text))
                } else {
                    Ok(ToolOutput::text(text))
                }
            }
            Err(CallFailure::Down) => Err(ToolError(format!(
                "the MCP server '{server}' is not reachable right now; try again later"
            ))),
            Err(CallFailure::Timeout(limit)) => Err(ToolError(format!(
                "the MCP server '{server}' did not answer within {} ms",
                limit.as_millis()
            ))),
            Err(CallFailure::Refused(message)) => Err(ToolError(format!(
                "the MCP server '{server}' refused the call: {}",
                cap(&message, 500)
            ))),
            Err(CallFailure::Lost) => Err(ToolError(format!(
                "the connection to the MCP server '{server}' was lost during the call"
            ))),
        }
    }
}

/// The text the model gets from a tool result, cut at [`MAX_RESULT_BYTES`], and
/// whether the server marked it an error.
///
/// Content blocks are read through their JSON form, so block kinds added to the
/// protocol later degrade to a placeholder instead of failing.
pub fn result_text(result: &rmcp::model::CallToolResult) -> (String, bool) {
    let mut parts: Vec<String> = Vec::new();
    for block in &result.content {
        let Ok(block) = serde_json::to_value(block) else {
            continue;
        };
        parts.push(block_text(&block));
    }
    if parts.is_empty()
        && let Some(structured) = &result.structured_content
    {
        parts.push(structured.to_string());
    }
    let text = parts.join("\n");
    (
        cap(&text, MAX_RESULT_BYTES),
        result.is_error.unwrap_or(false),
    )
}

fn block_text(block: &Value) -> String {
    let field = |name: &str| block.get(name).and_then(Value::as_str).unwrap_or_default();
    match field("type") {
        "text" => field("text").to_owned(),
        "resource" => {
            let resource = &block["resource"];
            match resource.get("text").and_then(Value::as_str) {
                Some(text) => text.to_owned(),
                None => format!(
                    "[binary resource {}]",
                    resource["uri"].as_str().unwrap_or_default()
                ),
            }
        }
        "resource_link" => format!("[resource {} {}]", field("name"), field("uri")),
        "image" | "audio" => format!("[{} {}, not shown]", field("type"), field("mimeType")),
        other => format!("[{other} content, not shown]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn blocks_become_text_and_the_result_is_capped() {
        let result: rmcp::model::CallToolResult = serde_json::from_value(json!({
            "content": [
                {"type": "text", "text": "first"},
                {"type": "image", "data": "AAAA", "mimeType": "image/png"},
                {"type": "resource", "resource": {"uri": "file:///a", "text": "inside"}},
                {"type": "resource_link", "uri": "file:///b", "name": "b"}
            ],
            "isError": false
        }))
        .unwrap();
        let (text, is_error) = result_text(&result);
        assert!(!is_error);
        assert_eq!(
            text,
            "first\n[image image/png, not shown]\ninside\n[resource b file:///b]"
        );
        let big: rmcp::model::CallToolResult = serde_json::from_value(json!({
            "content": [{"type": "text", "text": "é".repeat(MAX_RESULT_BYTES)}],
            "isError": true
        }))
        .unwrap();
        let (text, is_error) = result_text(&big);
        assert!(is_error);
        assert!(text.len() <= MAX_RESULT_BYTES + "\n[truncated]".len());
        assert!(text.ends_with("[truncated]"));
        let structured: rmcp::model::CallToolResult =
            serde_json::from_value(json!({"content": [], "structuredContent": {"n": 1}})).unwrap();
        assert_eq!(result_text(&structured).0, r#"{"n":1}"#);
    }
}
