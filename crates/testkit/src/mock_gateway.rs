//! A scripted LLM gateway for tests: a real HTTP server speaking the
//! OpenAI-compatible `/v1/chat/completions` format, streamed with SSE, so the
//! server's real LLM client is what tests exercise.
//!
//! Each streamed request consumes the next [`ScriptedReply`]; requests without
//! `"stream": true` (a title, a judge) get a fixed `"OK"` and leave the script alone.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

mod faults;
pub use faults::Fault;

/// What the mock model answers to one streamed chat request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptedReply {
    /// One assistant reply of text.
    Text(String),
    /// One reply that calls a tool; `arguments` is the JSON text of the arguments.
    ToolCall { name: String, arguments: String },
    /// Text on the reasoning channel, then `text` as for [`ScriptedReply::Text`].
    Reasoning { reasoning: String, text: String },
    /// Answer the request with this HTTP status and (JSON) body instead of a stream.
    Fail { status: u16, body: String },
    /// Misbehave in one of the ways a real gateway can.
    Fault(Fault),
}

impl ScriptedReply {
    /// Reads a scenario's `mockLlmScript` entries (`kind` `text` or `toolCall`).
    pub fn from_scenario(entries: &[Value]) -> Result<Vec<ScriptedReply>, String> {
        entries.iter().enumerate().map(parse_entry).collect()
    }
}

fn parse_entry((i, entry): (usize, &Value)) -> Result<ScriptedReply, String> {
    let field = |name: &str| {
        entry
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("mockLlmScript[{i}]: missing string field `{name}`"))
    };
    match entry.get("kind").and_then(Value::as_str) {
        Some("text") => Ok(ScriptedReply::Text(field("text")?)),
        Some("toolCall") => Ok(ScriptedReply::ToolCall {
            name: field("name")?,
            arguments: field("arguments")?,
        }),
        Some(other) => Err(format!("mockLlmScript[{i}]: unknown kind `{other}`")),
        None => Err(format!("mockLlmScript[{i}]: missing `kind`")),
    }
}

/// Configures a [`MockGateway`] before it starts.
#[derive(Debug, Default)]
pub struct MockGatewayBuilder {
    script: Vec<ScriptedReply>,
    chunk_delay: Duration,
    first_byte_delay: Duration,
    repeat_last: bool,
    side_reply: Option<String>,
    refused_embeddings: usize,
}

impl MockGatewayBuilder {
    /// The first `count` `/embeddings` requests are refused with HTTP 429
    /// (`Retry-After: 0`), as a rate-limited gateway does at start-up.
    pub fn refuse_embeddings(mut self, count: usize) -> Self {
        self.refused_embeddings = count;
        self
    }

    /// What non-streamed side calls (a workflow judge) are answered (default `OK`).
    pub fn side_reply(mut self, text: impl Into<String>) -> Self {
        self.side_reply = Some(text.into());
        self
    }

    pub fn script(mut self, script: Vec<ScriptedReply>) -> Self {
        self.script = script;
        self
    }

    /// Pause between SSE events, to make a reply slow enough to cancel.
    pub fn chunk_delay(mut self, delay: Duration) -> Self {
        self.chunk_delay = delay;
        self
    }

    /// Pause after the response headers and before the first SSE event.
    pub fn first_byte_delay(mut self, delay: Duration) -> Self {
        self.first_byte_delay = delay;
        self
    }

    /// Once the script is exhausted, answer every streamed request with its last entry.
    pub fn repeat_last(mut self, repeat: bool) -> Self {
        self.repeat_last = repeat;
        self
    }

    /// Binds 127.0.0.1 on an ephemeral port and serves until the gateway is dropped.
    pub async fn start(self) -> MockGateway {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind an ephemeral port for the mock gateway");
        let addr = listener.local_addr().expect("mock gateway local address");
        let stop = CancellationToken::new();
        let shared = Arc::new(Shared {
            log: Mutex::new(Log {
                script: self.script.into(),
                embeddings_to_refuse: self.refused_embeddings,
                ..Log::default()
            }),
            chunk_delay: self.chunk_delay,
            first_byte_delay: self.first_byte_delay,
            repeat_last: self.repeat_last,
            side_reply: self.side_reply.unwrap_or_else(|| "OK".into()),
            stop: stop.clone(),
        });
        let app = Router::new()
            .route("/v1/chat/completions", post(chat_completions))
            .route("/v1/embeddings", post(embeddings))
            .route("/v1/rerank", post(rerank))
            .with_state(shared.clone());
        let shutdown = stop.clone().cancelled_owned();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await;
        });
        MockGateway {
            url: format!("http://{addr}/v1"),
            shared,
            stop,
        }
    }
}

/// A running scripted gateway; dropping it stops the server and any open streams.
pub struct MockGateway {
    url: String,
    shared: Arc<Shared>,
    stop: CancellationToken,
}

impl MockGateway {
    /// Starts a gateway with `script` and no delays.
    pub async fn start(script: Vec<ScriptedReply>) -> MockGateway {
        Self::builder().script(script).start().await
    }

    pub fn builder() -> MockGatewayBuilder {
        MockGatewayBuilder::default()
    }

    /// Base URL including `/v1`, as an OpenAI-compatible client expects.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Every chat-completions request body received, in order, streamed or not.
    pub fn requests(&self) -> Vec<Value> {
        self.shared.log().requests.clone()
    }

    /// The `Authorization` header of each request in [`MockGateway::requests`].
    pub fn authorization_headers(&self) -> Vec<Option<String>> {
        self.shared.log().authorization.clone()
    }

    /// The W3C `traceparent` header of each chat completion request, in order.
    pub fn traceparents(&self) -> Vec<Option<String>> {
        self.shared.log().traceparent.clone()
    }

    pub fn streamed_requests(&self) -> usize {
        self.shared.log().streamed
    }

    /// When the first SSE event of each streamed reply was written, in that order.
    pub fn first_byte_sent_at(&self) -> Vec<Instant> {
        self.shared.log().first_bytes.clone()
    }

    /// Script entries not yet consumed.
    /// How many texts each `/embeddings` request carried.
    pub fn embedding_batches(&self) -> Vec<usize> {
        self.shared.log().embedding_batches.clone()
    }

    /// How many `/embeddings` requests were refused with a 429.
    pub fn refused_embeddings(&self) -> usize {
        self.shared.log().refused_embeddings
    }

    /// The queries `/rerank` was asked about.
    pub fn rerank_queries(&self) -> Vec<String> {
        self.shared.log().rerank_queries.clone()
    }

    pub fn remaining(&self) -> usize {
        self.shared.log().script.len()
    }
}

impl Drop for MockGateway {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

struct Shared {
    log: Mutex<Log>,
    chunk_delay: Duration,
    first_byte_delay: Duration,
    repeat_last: bool,
    side_reply: String,
    stop: CancellationToken,
}

#[derive(Default)]
struct Log {
    script: VecDeque<ScriptedReply>,
    last: Option<ScriptedReply>,
    requests: Vec<Value>,
    authorization: Vec<Option<String>>,
    traceparent: Vec<Option<String>>,
    streamed: usize,
    first_bytes: Vec<Instant>,
    served: u64,
    /// Inputs per `/embeddings` request.
    embedding_batches: Vec<usize>,
    /// Queries sent to `/rerank`.
    rerank_queries: Vec<String>,
    /// `/embeddings` requests still to refuse with a 429.
    embeddings_to_refuse: usize,
    /// `/embeddings` requests refused so far.
    refused_embeddings: usize,
}

impl Shared {
    /// The lock is only ever held for bookkeeping, never across `.await`.
    fn log(&self) -> MutexGuard<'_, Log> {
        self.log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// `/v1/embeddings`: deterministic vectors (the offline hashing embedder, 32
/// dimensions), so similarity still means something in tests.
async fn embeddings(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "request body is not JSON");
    };
    let inputs: Vec<String> = match &request["input"] {
        Value::String(text) => vec![text.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_owned))
            .collect(),
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "'input' must be a string or an array of strings",
            );
        }
    };
    {
        let mut log = shared.log();
        if log.embeddings_to_refuse > 0 {
            log.embeddings_to_refuse -= 1;
            log.refused_embeddings += 1;
            drop(log);
            let mut response = error(StatusCode::TOO_MANY_REQUESTS, "slow down");
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("0"));
            return response;
        }
        log.embedding_batches.push(inputs.len());
    }
    let embedder = switchboard_knowledge::HashingEmbedder::new(32);
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, text)| json!({"object": "embedding", "index": i, "embedding": embedder.vector(text)}))
        .collect();
    axum::Json(json!({"object": "list", "data": data, "model": request["model"], "usage": usage()}))
        .into_response()
}

/// `/v1/rerank`: orders documents by how many of the query's words they contain.
async fn rerank(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "request body is not JSON");
    };
    let query = request["query"].as_str().unwrap_or_default().to_lowercase();
    shared.log().rerank_queries.push(query.clone());
    let words: Vec<&str> = query.split_whitespace().collect();
    let mut results: Vec<(usize, f64)> = request["documents"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let text = d.as_str().unwrap_or_default().to_lowercase();
            let hits = words.iter().filter(|w| text.contains(*w)).count();
            (i, hits as f64 / words.len().max(1) as f64)
        })
        .collect();
    results.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let results: Vec<Value> = results
        .into_iter()
        .map(|(index, score)| json!({"index": index, "relevance_score": score}))
        .collect();
    axum::Json(json!({"results": results})).into_response()
}

impl Log {
    fn next_reply(&mut self, repeat_last: bool) -> Option<ScriptedReply> {
        match self.script.pop_front() {
            Some(reply) => {
                self.last = Some(reply.clone());
                Some(reply)
            }
            None if repeat_last => self.last.clone(),
            None => None,
        }
    }
}

async fn chat_completions(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request: Value = match serde_json::from_slice(&body) {
        Ok(value @ Value::Object(_)) => value,
        _ => return error(StatusCode::BAD_REQUEST, "request body is not a JSON object"),
    };
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let model = request
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("mock")
        .to_owned();
    let streamed = request.get("stream").and_then(Value::as_bool) == Some(true);

    let (reply, n) = {
        let mut log = shared.log();
        log.requests.push(request);
        log.authorization.push(authorization);
        log.traceparent.push(
            headers
                .get("traceparent")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        );
        log.served += 1;
        let n = log.served;
        if !streamed {
            drop(log);
            return completion(n, &model, &shared.side_reply);
        }
        log.streamed += 1;
        (log.next_reply(shared.repeat_last), n)
    };
    match reply {
        None => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "mock LLM script exhausted",
        ),
        Some(ScriptedReply::Fail { status, body }) => fail(status, body),
        Some(ScriptedReply::Fault(fault)) => faults::respond(fault, shared.stop.clone()),
        Some(reply) => stream(shared, sse_events(&reply, n, &model)),
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({"error": {"message": message}}))).into_response()
}

fn fail(status: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The answer to a non-streamed side call.
fn completion(n: u64, model: &str, reply: &str) -> Response {
    axum::Json(json!({
        "id": format!("chatcmpl-mock-{n}"),
        "object": "chat.completion",
        "created": now_secs(),
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": reply},
            "finish_reason": "stop",
        }],
        "usage": usage(),
    }))
    .into_response()
}

/// Writes `events` as SSE, honouring the delays and stopping if the gateway is dropped.
fn stream(shared: Arc<Shared>, events: Vec<String>) -> Response {
    let state = (shared, VecDeque::from(events), true);
    let body = futures_util::stream::unfold(state, |(shared, mut events, first)| async move {
        let event = events.pop_front()?;
        let delay = if first {
            shared.first_byte_delay
        } else {
            shared.chunk_delay
        };
        if !delay.is_zero() {
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = shared.stop.cancelled() => return None,
            }
        }
        if first {
            shared.log().first_bytes.push(Instant::now());
        }
        let bytes = Bytes::from(format!("data: {event}\n\n"));
        Some((Ok::<_, Infallible>(bytes), (shared, events, false)))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(body))
        .expect("a valid SSE response")
}

/// The `data:` payloads of one streamed reply, ending with usage and `[DONE]`.
fn sse_events(reply: &ScriptedReply, n: u64, model: &str) -> Vec<String> {
    let id = format!("chatcmpl-mock-{n}");
    let created = now_secs();
    let chunk = |delta: Value, finish: Option<&str>| {
        json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        })
        .to_string()
    };
    let mut events = vec![];
    match reply {
        ScriptedReply::Text(text) => text_events(&mut events, &chunk, text),
        ScriptedReply::Reasoning { reasoning, text } => {
            events.push(chunk(json!({"role": "assistant"}), None));
            for part in word_chunks(reasoning) {
                events.push(chunk(json!({"reasoning_content": part}), None));
            }
            text_events(&mut events, &chunk, text);
        }
        ScriptedReply::ToolCall { name, arguments } => {
            let call = json!({"index": 0, "id": format!("call_{n}"), "type": "function",
                "function": {"name": name, "arguments": ""}});
            events.push(chunk(
                json!({"role": "assistant", "tool_calls": [call]}),
                None,
            ));
            for part in thirds(arguments) {
                let call = json!({"index": 0, "function": {"arguments": part}});
                events.push(chunk(json!({"tool_calls": [call]}), None));
            }
            events.push(chunk(json!({}), Some("tool_calls")));
        }
        ScriptedReply::Fail { .. } | ScriptedReply::Fault(_) => {
            unreachable!("a failure is answered on its own")
        }
    }
    events.push(
        json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [],
            "usage": usage(),
        })
        .to_string(),
    );
    events.push("[DONE]".to_owned());
    events
}

fn text_events(
    events: &mut Vec<String>,
    chunk: &impl Fn(Value, Option<&str>) -> String,
    text: &str,
) {
    if events.is_empty() {
        events.push(chunk(json!({"role": "assistant"}), None));
    }
    for part in word_chunks(text) {
        events.push(chunk(json!({"content": part}), None));
    }
    events.push(chunk(json!({}), Some("stop")));
}

/// Splits after each run of whitespace: "Hello from you" -> "Hello ", "from ", "you".
fn word_chunks(text: &str) -> Vec<&str> {
    let mut parts = vec![];
    let mut start = 0;
    let mut in_space = false;
    for (i, c) in text.char_indices() {
        if in_space && !c.is_whitespace() {
            parts.push(&text[start..i]);
            start = i;
        }
        in_space = c.is_whitespace();
    }
    if start < text.len() {
        parts.push(&text[start..]);
    }
    parts
}

/// Splits `text` into up to three non-empty parts on char boundaries (one if short).
fn thirds(text: &str) -> Vec<&str> {
    let bounds: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
    let count = bounds.len();
    if count < 3 {
        return vec![text];
    }
    let (a, b) = (bounds[count / 3], bounds[2 * count / 3]);
    vec![&text[..a], &text[a..b], &text[b..]]
}

fn usage() -> Value {
    json!({"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15})
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
