//! The client for any OpenAI-compatible chat completions gateway (LiteLLM,
//! OpenRouter, vLLM, OpenAI itself): one pooled HTTP client, retries (under the
//! gateway [`RetryPolicy`] shared with embeddings and rerank) only before the first
//! byte, and a timeout on every wait.

mod body;
mod request;

use super::{ChatRequest, Completion, LlmError, LlmProvider, LlmStream, TokenUsage};
use async_trait::async_trait;
use body::BodyReader;
use request::WireRequest;
use reqwest::Response;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap};
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;
use switchboard_knowledge::retry::{Failure, RetryPolicy};
use tokio::time::timeout;
use tracing::debug;

/// The largest answer to a one-piece (non-streamed) completion that is read.
const MAX_COMPLETION_BYTES: usize = 1 << 20;

/// Where the gateway is and how patiently to talk to it.
#[derive(Debug, Clone)]
pub struct GatewaySettings {
    /// Base URL including `/v1`, without a trailing slash.
    pub url: String,
    /// Sent as `Authorization: Bearer …` when set.
    pub key: Option<SecretString>,
    /// Limit on establishing a TCP/TLS connection.
    pub connect_timeout: Duration,
    /// Limit on waiting for the response headers, and then for the body's first
    /// bytes (an SSE keep-alive comment counts: the gateway is alive).
    pub first_byte_timeout: Duration,
    /// Limit on silence (no bytes at all) once the first event has arrived.
    pub idle_timeout: Duration,
    /// Retries for failures before the first byte.
    pub retry: RetryPolicy,
}

impl GatewaySettings {
    /// Settings with production defaults for everything but the address and key.
    pub fn new(url: impl Into<String>, key: Option<SecretString>) -> Self {
        Self {
            url: url.into().trim_end_matches('/').to_string(),
            key,
            connect_timeout: Duration::from_secs(10),
            first_byte_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
        }
    }
}

/// Streams chat completions from an OpenAI-compatible gateway. Holds one pooled
/// HTTP client, so consecutive turns reuse warm connections.
#[derive(Debug)]
pub struct GatewayClient {
    http: reqwest::Client,
    settings: GatewaySettings,
    endpoint: String,
    observe: crate::observe::Observe,
}

impl GatewayClient {
    pub fn new(settings: GatewaySettings) -> Result<Self, LlmError> {
        // reqwest is built without a default TLS provider; the first client in the
        // process installs ring, later ones find it there.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let endpoint = format!("{}/chat/completions", settings.url);
        reqwest::Url::parse(&endpoint)
            .map_err(|e| LlmError::Unreachable(format!("invalid gateway URL {endpoint}: {e}")))?;
        let http = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                LlmError::Unreachable(format!("cannot build the HTTP client: {}", describe(&e)))
            })?;
        Ok(Self {
            http,
            settings,
            endpoint,
            observe: Default::default(),
        })
    }

    /// The client reporting its requests, retries and errors to `observe`.
    pub fn observed(mut self, observe: crate::observe::Observe) -> Self {
        self.observe = observe;
        self
    }

    /// Sends the request until a successful response arrives, retrying what is
    /// worth retrying.
    async fn send_with_retries(&self, body: Vec<u8>) -> Result<Response, LlmError> {
        let started = std::time::Instant::now();
        let mut attempts = 0u32;
        let result = self
            .settings
            .retry
            .run("chat completions", || {
                attempts += 1;
                if attempts > 1 {
                    self.observe.gateway_retry();
                }
                self.send_once(body.clone())
            })
            .await;
        self.observe
            .gateway_request(started.elapsed(), result.as_ref().err().map(LlmError::kind));
        result
    }

    /// One attempt, up to the response headers.
    async fn send_once(&self, body: Vec<u8>) -> Result<Response, Failure<LlmError>> {
        let mut request = self
            .http
            .post(&self.endpoint)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "text/event-stream")
            .headers(crate::observe::trace_headers())
            .body(body);
        if let Some(key) = &self.settings.key {
            request = request.bearer_auth(key.expose_secret());
        }
        let response = match timeout(self.settings.first_byte_timeout, request.send()).await {
            // The request was delivered and the model may be generating (and billing):
            // sending it again would double both the wait and the cost.
            Err(_) => return Err(Failure::fatal(LlmError::Timeout("first byte"))),
            Ok(Err(e)) if e.is_builder() => {
                return Err(Failure::fatal(LlmError::Unreachable(describe(&e))));
            }
            Ok(Err(e)) => return Err(Failure::transient(LlmError::Unreachable(describe(&e)))),
            Ok(Ok(response)) => response,
        };
        let status = response.status().as_u16();
        if response.status().is_success() {
            return Ok(response);
        }
        let headers = response.headers().clone();
        let body = read_error_body(response, self.settings.first_byte_timeout).await;
        Err(Failure::from_response(
            status_error(status, body),
            status,
            &headers,
        ))
    }
}

#[async_trait]
impl LlmProvider for GatewayClient {
    async fn stream(&self, request: ChatRequest) -> Result<LlmStream, LlmError> {
        let body = serde_json::to_vec(&WireRequest::new(&request))
            .map_err(|e| LlmError::Protocol(format!("cannot encode the request: {e}")))?;
        debug!(
            model = %request.model,
            url = %self.endpoint,
            messages = request.messages.len(),
            tools = request.tools.len(),
            "chat completion request"
        );
        let response = self.send_with_retries(body).await?;
        let cost = header_cost(response.headers());
        let reader = BodyReader::new(
            Box::pin(response.bytes_stream()),
            cost,
            self.settings.first_byte_timeout,
            self.settings.idle_timeout,
        );
        Ok(Box::pin(futures_util::stream::unfold(
            reader,
            |mut reader| async move {
                let item = reader.next().await?;
                Some((item, reader))
            },
        )))
    }

    async fn complete(&self, request: ChatRequest) -> Result<Completion, LlmError> {
        let body = serde_json::to_vec(&WireRequest::one_shot(&request))
            .map_err(|e| LlmError::Protocol(format!("cannot encode the request: {e}")))?;
        let response = self.send_with_retries(body).await?;
        let cost = header_cost(response.headers());
        let bytes = read_bounded(response, self.settings.first_byte_timeout).await?;
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| LlmError::Protocol(format!("the completion was not JSON: {e}")))?;
        let usage = &value["usage"];
        Ok(Completion {
            text: value["choices"][0]["message"]["content"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            usage: usage.is_object().then(|| TokenUsage {
                prompt_tokens: usage["prompt_tokens"].as_u64().unwrap_or(0),
                completion_tokens: usage["completion_tokens"].as_u64().unwrap_or(0),
                cost_usd: usage["cost"].as_f64().or(cost),
            }),
        })
    }

    fn label(&self) -> String {
        format!("gateway {}", self.settings.url)
    }
}

/// The price LiteLLM announces in a response header.
fn header_cost(headers: &HeaderMap) -> Option<f64> {
    headers
        .get("x-litellm-response-cost")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
}

/// The error a failed HTTP answer stands for.
fn status_error(status: u16, body: String) -> LlmError {
    match status {
        429 => LlmError::RateLimited,
        500..=599 => LlmError::Upstream { status, body },
        _ => LlmError::Rejected { status, body },
    }
}

/// A whole (small) response body: bounded in size and time.
async fn read_bounded(mut response: Response, limit: Duration) -> Result<Vec<u8>, LlmError> {
    let mut bytes = Vec::new();
    let read =
        async {
            while let Some(chunk) = response.chunk().await.map_err(|e| {
                LlmError::Interrupted(format!("the answer broke off: {}", describe(&e)))
            })? {
                if bytes.len() + chunk.len() > MAX_COMPLETION_BYTES {
                    return Err(LlmError::Protocol(format!(
                        "the completion is larger than {MAX_COMPLETION_BYTES} bytes"
                    )));
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(())
        };
    timeout(limit, read)
        .await
        .map_err(|_| LlmError::Timeout("first byte"))??;
    Ok(bytes)
}

/// The start of an error response's body, for the log: bounded in size and time.
async fn read_error_body(mut response: Response, limit: Duration) -> String {
    let mut bytes = Vec::new();
    let read = async {
        while bytes.len() < 4096 {
            match response.chunk().await {
                Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
                _ => break,
            }
        }
    };
    let _ = timeout(limit, read).await;
    let text = String::from_utf8_lossy(&bytes);
    let text = text.trim();
    match text.char_indices().nth(500) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

/// An error with its causes, which is where reqwest keeps the useful part.
fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_errors() {
        assert_eq!(status_error(429, "b".into()), LlmError::RateLimited);
        assert_eq!(
            status_error(529, "b".into()),
            LlmError::Upstream {
                status: 529,
                body: "b".into()
            }
        );
        assert_eq!(
            status_error(404, "b".into()),
            LlmError::Rejected {
                status: 404,
                body: "b".into()
            }
        );
        assert_eq!(
            GatewaySettings::new("http://gw/v1/", None).url,
            "http://gw/v1"
        );
    }
}
