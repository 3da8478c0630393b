//! `knowledge_search`: the model looks something up in the knowledge base.

use super::{Tool, ToolContext, ToolError, ToolOutput};
use crate::llm::ToolSpec;
use async_trait::async_trait;
use switchboard_knowledge::Retriever;

pub const KNOWLEDGE_SEARCH: &str = "knowledge_search";

/// Searches only what the asker may see; every hit joins the turn's citations.
pub struct KnowledgeSearch {
    spec: ToolSpec,
    retriever: Retriever,
}

impl KnowledgeSearch {
    pub fn new(retriever: Retriever) -> Self {
        Self {
            spec: ToolSpec {
                name: KNOWLEDGE_SEARCH.into(),
                description: "Search the organisation's knowledge base. Use it before answering questions about policies, products or procedures.".into(),
                parameters: serde_json::json!({
                    "type": "object",
                    "properties": {
                        "query": {"type": "string", "description": "What to look for"},
                        "limit": {"type": "integer", "minimum": 1, "maximum": 10, "description": "How many passages (default 3)"}
                    },
                    "required": ["query"]
                }),
            },
            retriever,
        }
    }
}

#[async_trait]
impl Tool for KnowledgeSearch {
    fn spec(&self) -> &ToolSpec {
        &self.spec
    }

    async fn call(
        &self,
        arguments: &serde_json::Value,
        ctx: &ToolContext,
    ) -> Result<ToolOutput, ToolError> {
        let query = arguments["query"]
            .as_str()
            .filter(|q| !q.trim().is_empty())
            .ok_or_else(|| ToolError("'query' is required".into()))?;
        let limit = arguments["limit"].as_u64().unwrap_or(3).clamp(1, 10) as usize;
        let hits = self.retriever.retrieve(query, &ctx.access, limit).await;
        if hits.is_empty() {
            return Ok(ToolOutput::text(format!(
                "No knowledge base results found for query: \"{query}\""
            )));
        }
        let mut text = format!(
            "Found {} knowledge base result(s) for \"{query}\":\n",
            hits.len()
        );
        for (i, hit) in hits.iter().enumerate() {
            text.push_str(&format!(
                "{}. [source={} | id={} | relevance={:.2}]\n{}\n",
                i + 1,
                hit.title,
                hit.document_id,
                hit.score,
                hit.text
            ));
        }
        Ok(ToolOutput { text, hits })
    }
}
