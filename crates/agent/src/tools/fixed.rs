//! A tool with a fixed answer (demos, tests, conformance scenarios).

use super::{Tool, ToolContext, ToolError, ToolOutput};
use crate::llm::ToolSpec;
use async_trait::async_trait;

pub struct FixedTool {
    spec: ToolSpec,
    result: String,
}

impl FixedTool {
    pub fn new(spec: ToolSpec, result: String) -> Self {
        Self { spec, result }
    }
}

#[async_trait]
impl Tool for FixedTool {
    fn spec(&self) -> &ToolSpec {
        &self.spec
    }

    async fn call(&self, _: &serde_json::Value, _: &ToolContext) -> Result<ToolOutput, ToolError> {
        Ok(ToolOutput::text(self.result.clone()))
    }
}
