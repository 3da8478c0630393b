//! The client for any OpenAI-compatible chat completions gateway (LiteLLM,
//! OpenRouter, vLLM, OpenAI itself): one pooled HTTP client, retries only before
//! the first byte, and a timeout on every wait.

mod request;

use super::sse::ChunkParser;
use super::{ChatRequest, LlmError, LlmProvider, LlmStream, StreamEvent};
use async_trait::async_trait;
use eventsource_stream::{Event, EventStreamError, Eventsource};
use futures_util::{Stream, StreamExt};
use request::WireRequest;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use reqwest::{Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::time::timeout;
use tracing::{debug, warn};

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
    /// Retries after the first attempt, for failures before the first byte.
    pub max_retries: u32,
    /// The first retry waits this long; each further one twice as long.
    pub retry_base: Duration,
    /// No retry waits longer than this, whatever `Retry-After` asks for.
    pub retry_cap: Duration,
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
            max_retries: 3,
            retry_base: Duration::from_millis(500),
            retry_cap: Duration::from_secs(30),
        }
    }

    /// How long to wait before retry number `attempt + 1`.
    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt).unwrap_or(u32::MAX);
        self.retry_base.saturating_mul(factor).min(self.retry_cap)
    }
}

/// Streams chat completions from an OpenAI-compatible gateway. Holds one pooled
/// HTTP client, so consecutive turns reuse warm connections.
#[derive(Debug)]
pub struct GatewayClient {
    http: reqwest::Client,
    settings: GatewaySettings,
    endpoint: String,
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
        })
    }

    /// Sends the request until a successful response arrives, retrying what is
    /// worth retrying with exponential backoff.
    async fn send_with_retries(&self, body: Vec<u8>) -> Result<Response, LlmError> {
        let mut attempt = 0;
        loop {
            let failure = match self.send_once(body.clone()).await {
                Ok(response) => return Ok(response),
                Err(failure) => failure,
            };
            if !failure.retryable || attempt >= self.settings.max_retries {
                return Err(failure.error);
            }
            let delay = failure
                .retry_after
                .unwrap_or_else(|| self.settings.backoff(attempt))
                .min(self.settings.retry_cap);
            attempt += 1;
            warn!(
                attempt,
                max_retries = self.settings.max_retries,
                delay_ms = delay.as_millis() as u64,
                error = %failure.error,
                "retrying the LLM gateway"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// One attempt, up to the response headers.
    async fn send_once(&self, body: Vec<u8>) -> Result<Response, Failure> {
        let mut request = self
            .http
            .post(&self.endpoint)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "text/event-stream")
            .body(body);
        if let Some(key) = &self.settings.key {
            request = request.bearer_auth(key.expose_secret());
        }
        let response = match timeout(self.settings.first_byte_timeout, request.send()).await {
            // The request was delivered and the model may be generating (and billing):
            // sending it again would double both the wait and the cost.
            Err(_) => return Err(Failure::fatal(LlmError::Timeout("first byte"))),
            Ok(Err(e)) => {
                return Err(Failure {
                    error: LlmError::Unreachable(describe(&e)),
                    retryable: !e.is_builder(),
                    retry_after: None,
                });
            }
            Ok(Ok(response)) => response,
        };
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let retry_after = retry_after(status, response.headers());
        let body = read_error_body(response, self.settings.first_byte_timeout).await;
        Err(Failure::from_status(status, body, retry_after))
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
        let header_cost = response
            .headers()
            .get("x-litellm-response-cost")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok());
        // Any bytes count as life, including SSE comments that gateways send as
        // keep-alives while a model thinks.
        let activity = Activity::default();
        let bytes = response.bytes_stream().inspect({
            let activity = activity.clone();
            move |_| activity.touch()
        });
        let reader = BodyReader {
            events: Some(Box::pin(bytes.eventsource())),
            activity,
            parser: ChunkParser::new(header_cost),
            pending: VecDeque::new(),
            seen_event: false,
            first_byte_timeout: self.settings.first_byte_timeout,
            idle_timeout: self.settings.idle_timeout,
        };
        Ok(Box::pin(futures_util::stream::unfold(
            reader,
            |mut reader| async move {
                let item = reader.next().await?;
                Some((item, reader))
            },
        )))
    }

    async fn complete(&self, request: ChatRequest) -> Result<String, LlmError> {
        let body = serde_json::to_vec(&WireRequest::one_shot(&request))
            .map_err(|e| LlmError::Protocol(format!("cannot encode the request: {e}")))?;
        let response = self.send_with_retries(body).await?;
        let value: serde_json::Value = timeout(self.settings.first_byte_timeout, response.json())
            .await
            .map_err(|_| LlmError::Timeout("first byte"))?
            .map_err(|e| LlmError::Protocol(format!("the completion was not JSON: {e}")))?;
        Ok(value["choices"][0]["message"]["content"]
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    fn label(&self) -> String {
        format!("gateway {}", self.settings.url)
    }
}

/// Why one attempt failed, and whether another is worth making.
struct Failure {
    error: LlmError,
    retryable: bool,
    retry_after: Option<Duration>,
}

impl Failure {
    fn fatal(error: LlmError) -> Self {
        Self {
            error,
            retryable: false,
            retry_after: None,
        }
    }

    fn from_status(status: StatusCode, body: String, retry_after: Option<Duration>) -> Self {
        let code = status.as_u16();
        let (error, retryable) = match code {
            429 => (LlmError::RateLimited, true),
            500 | 502 | 503 | 504 | 520..=527 => (LlmError::Upstream { status: code, body }, true),
            500..=599 => (LlmError::Upstream { status: code, body }, false),
            _ => (LlmError::Rejected { status: code, body }, false),
        };
        Self {
            error,
            retryable,
            retry_after,
        }
    }
}

/// The wait a 429 or 503 asks for in `Retry-After`, when given in seconds.
fn retry_after(status: StatusCode, headers: &HeaderMap) -> Option<Duration> {
    if !matches!(status.as_u16(), 429 | 503) {
        return None;
    }
    let seconds: f64 = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Duration::try_from_secs_f64(seconds).ok()
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

type SseEvents =
    Pin<Box<dyn Stream<Item = Result<Event, EventStreamError<reqwest::Error>>> + Send>>;

/// When the response last sent any bytes.
#[derive(Clone)]
struct Activity(Arc<Mutex<Instant>>);

impl Default for Activity {
    fn default() -> Self {
        Self(Arc::new(Mutex::new(Instant::now())))
    }
}

impl Activity {
    fn touch(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
    }

    fn quiet_for(&self) -> Duration {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).elapsed()
    }
}

/// Reads a successful response's event stream, enforcing the first-event and
/// between-events timeouts. The clock restarts whenever bytes arrive.
struct BodyReader {
    /// `None` once the body has ended, failed or said `[DONE]`.
    events: Option<SseEvents>,
    activity: Activity,
    parser: ChunkParser,
    pending: VecDeque<StreamEvent>,
    seen_event: bool,
    first_byte_timeout: Duration,
    idle_timeout: Duration,
}

impl BodyReader {
    async fn next(&mut self) -> Option<Result<StreamEvent, LlmError>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(Ok(event));
            }
            let events = self.events.as_mut()?;
            let (limit, waiting_for) = if self.seen_event {
                (self.idle_timeout, "silence between chunks")
            } else {
                (self.first_byte_timeout, "first byte")
            };
            let next = loop {
                let quiet = self.activity.quiet_for();
                if quiet >= limit {
                    break None;
                }
                // `next()` is cancel-safe: a timed-out wait loses nothing.
                if let Ok(item) = timeout(limit - quiet, events.next()).await {
                    break Some(item);
                }
            };
            let parsed = match next {
                None => Err(LlmError::Timeout(waiting_for)),
                Some(None) => {
                    self.events = None;
                    self.parser.finish()
                }
                Some(Some(Err(e))) => Err(LlmError::Protocol(format!(
                    "the stream broke off: {}",
                    describe(&e)
                ))),
                Some(Some(Ok(event))) => {
                    self.seen_event = true;
                    self.parser.push(&event.data)
                }
            };
            match parsed {
                Ok(events) => self.pending.extend(events),
                Err(error) => {
                    self.events = None;
                    return Some(Err(error));
                }
            }
            if self.parser.is_done()
                && let Some(rest) = self.events.take()
            {
                drain_in_background(rest, self.idle_timeout);
            }
        }
    }
}

/// Reads what follows `[DONE]` (usually just the end of the chunked body) so the
/// connection goes back to the pool instead of being closed.
fn drain_in_background(mut rest: SseEvents, limit: Duration) {
    tokio::spawn(async move {
        let _ = timeout(limit, async { while rest.next().await.is_some() {} }).await;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_up_to_the_cap() {
        let mut settings = GatewaySettings::new("http://gw/v1/", None);
        settings.retry_base = Duration::from_millis(500);
        settings.retry_cap = Duration::from_secs(3);
        let waits: Vec<_> = (0..5).map(|a| settings.backoff(a).as_millis()).collect();
        assert_eq!(waits, vec![500, 1000, 2000, 3000, 3000]);
        assert_eq!(settings.backoff(40), Duration::from_secs(3));
        assert_eq!(settings.url, "http://gw/v1");
    }

    #[test]
    fn statuses_map_to_errors_and_retry_decisions() {
        let classify = |code: u16| {
            let failure =
                Failure::from_status(StatusCode::from_u16(code).unwrap(), "b".into(), None);
            (failure.error, failure.retryable)
        };
        assert_eq!(classify(429), (LlmError::RateLimited, true));
        for code in [500, 502, 503, 504, 520, 527] {
            assert!(classify(code).1, "{code} should be retried");
        }
        assert_eq!(
            classify(501),
            (
                LlmError::Upstream {
                    status: 501,
                    body: "b".into()
                },
                false
            )
        );
        assert_eq!(
            classify(404),
            (
                LlmError::Rejected {
                    status: 404,
                    body: "b".into()
                },
                false
            )
        );
    }
}
