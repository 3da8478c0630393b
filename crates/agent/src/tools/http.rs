//! A tool backed by an HTTP endpoint: the arguments are POSTed as JSON and the
//! response body is the result.

use super::{AuthLevel, Tool, ToolContext, ToolError, ToolOutput};
use crate::llm::ToolSpec;
use async_trait::async_trait;
use futures_util::StreamExt;
use std::collections::BTreeMap;
use std::time::Duration;

/// The most of a response body the model is given.
const MAX_BODY_BYTES: usize = super::MAX_RESULT_BYTES;

pub struct HttpTool {
    spec: ToolSpec,
    url: String,
    headers: BTreeMap<String, String>,
    timeout: Duration,
    client: reqwest::Client,
    auth_level: AuthLevel,
}

impl HttpTool {
    pub fn new(
        spec: ToolSpec,
        url: String,
        headers: BTreeMap<String, String>,
        timeout: Duration,
        client: reqwest::Client,
        auth_level: AuthLevel,
    ) -> Self {
        Self {
            spec,
            url,
            headers,
            timeout,
            client,
            auth_level,
        }
    }
}

#[async_trait]
impl Tool for HttpTool {
    fn spec(&self) -> &ToolSpec {
        &self.spec
    }

    fn auth_level(&self) -> AuthLevel {
        self.auth_level
    }

    /// POSTs the arguments; the session and agent travel as headers so the
    /// endpoint can tell conversations apart.
    async fn call(
        &self,
        arguments: &serde_json::Value,
        ctx: &ToolContext,
    ) -> Result<ToolOutput, ToolError> {
        let mut request = self
            .client
            .post(&self.url)
            .timeout(self.timeout)
            .header("x-switchboard-session-id", ctx.session_id.to_string())
            .header("x-switchboard-agent-id", ctx.agent_id.as_str())
            .headers(crate::observe::trace_headers())
            .json(arguments);
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        let response = request.send().await.map_err(|e| {
            if e.is_timeout() {
                ToolError(format!(
                    "the tool did not answer within {} ms",
                    self.timeout.as_millis()
                ))
            } else {
                tracing::warn!(tool = %self.spec.name, error = %e, "tool endpoint unreachable");
                ToolError("the tool's endpoint could not be reached".into())
            }
        })?;
        let status = response.status();
        let body = read_capped(response).await.map_err(|e| {
            ToolError(if e.is_timeout() {
                format!(
                    "the tool did not answer within {} ms",
                    self.timeout.as_millis()
                )
            } else {
                "the tool's response could not be read".into()
            })
        })?;
        if !status.is_success() {
            let excerpt: String = body.chars().take(200).collect();
            return Err(ToolError(format!(
                "the tool answered HTTP {}: {excerpt}",
                status.as_u16()
            )));
        }
        Ok(ToolOutput::text(body))
    }
}

/// The body as text, cut at [`MAX_BODY_BYTES`].
async fn read_capped(response: reqwest::Response) -> Result<String, reqwest::Error> {
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    let mut truncated = false;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        let room = MAX_BODY_BYTES - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            truncated = true;
            break;
        }
        body.extend_from_slice(&chunk);
    }
    let mut text = String::from_utf8_lossy(&body).into_owned();
    if truncated {
        text.push_str("\n[truncated]");
    }
    Ok(text)
}
