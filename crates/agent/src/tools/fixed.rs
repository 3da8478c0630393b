//! A tool with a fixed answer (demos, tests, conformance scenarios).

use super::{AuthLevel, Tool, ToolContext, ToolError, ToolOutput};
use crate::llm::ToolSpec;
use async_trait::async_trait;

pub struct FixedTool {
    spec: ToolSpec,
    result: String,
    auth_level: AuthLevel,
}

impl FixedTool {
    pub fn new(spec: ToolSpec, result: String, auth_level: AuthLevel) -> Self {
        Self {
            spec,
            result,
            auth_level,
        }
    }
}

#[async_trait]
impl Tool for FixedTool {
    fn spec(&self) -> &ToolSpec {
        &self.spec
    }

    fn auth_level(&self) -> AuthLevel {
        self.auth_level
    }

    async fn call(&self, _: &serde_json::Value, _: &ToolContext) -> Result<ToolOutput, ToolError> {
        Ok(ToolOutput::text(self.result.clone()))
    }
}
