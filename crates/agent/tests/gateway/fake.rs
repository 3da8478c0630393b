//! A scripted OpenAI-style gateway on a real socket: each attempt gets the reply the
//! test's script returns for it, and every request is recorded.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;

/// What the fake gateway answers to one attempt.
pub enum Reply {
    /// A complete non-streaming response.
    Status {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: String,
    },
    /// A `200 text/event-stream` response whose body is written step by step.
    Stream {
        headers: Vec<(&'static str, String)>,
        steps: Vec<Step>,
    },
}

pub enum Step {
    /// Raw bytes of the event stream.
    Send(String),
    /// Wait before the next step.
    Pause(Duration),
    /// Never write again and never end the body.
    Stall,
    /// Cut the connection without ending the body.
    Break,
}

impl Reply {
    pub fn status(status: u16, body: &str) -> Self {
        Self::Status {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    pub fn with_header(mut self, name: &'static str, value: &str) -> Self {
        match &mut self {
            Self::Status { headers, .. } | Self::Stream { headers, .. } => {
                headers.push((name, value.into()))
            }
        }
        self
    }

    /// A well-formed stream: each chunk as one `data:` event, then `[DONE]`.
    pub fn sse(chunks: &[Value]) -> Self {
        let mut steps: Vec<_> = chunks.iter().map(|c| Step::Send(data(c))).collect();
        steps.push(Step::Send("data: [DONE]\n\n".into()));
        Self::steps(steps)
    }

    pub fn steps(steps: Vec<Step>) -> Self {
        Self::Stream {
            headers: Vec::new(),
            steps,
        }
    }
}

/// One `data:` event carrying `chunk`.
pub fn data(chunk: &Value) -> String {
    format!("data: {chunk}\n\n")
}

/// A chunk whose first choice's delta is `delta`.
pub fn delta(delta: Value) -> Value {
    json!({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta}]})
}

/// The chunk ending the choice.
pub fn finish(reason: &str) -> Value {
    json!({"choices": [{"index": 0, "delta": {}, "finish_reason": reason}]})
}

/// What the fake gateway saw of one request.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub authorization: Option<String>,
    pub body: Value,
    pub peer: SocketAddr,
}

type Script = dyn Fn(usize) -> Reply + Send + Sync;

struct Shared {
    script: Box<Script>,
    attempts: AtomicUsize,
    requests: Mutex<Vec<Recorded>>,
}

pub struct FakeGateway {
    /// Base URL including `/v1`.
    pub url: String,
    shared: Arc<Shared>,
}

impl FakeGateway {
    /// Starts a gateway on a free port; `script(n)` is the reply to attempt `n`
    /// (counting from 0).
    pub async fn spawn(script: impl Fn(usize) -> Reply + Send + Sync + 'static) -> Self {
        let shared = Arc::new(Shared {
            script: Box::new(script),
            attempts: AtomicUsize::new(0),
            requests: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/v1/chat/completions", post(handle))
            .with_state(shared.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });
        Self {
            url: format!("http://{addr}/v1"),
            shared,
        }
    }

    pub fn attempts(&self) -> usize {
        self.shared.attempts.load(Ordering::SeqCst)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let attempt = shared.attempts.fetch_add(1, Ordering::SeqCst);
    shared.requests.lock().unwrap().push(Recorded {
        authorization: headers
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_string()),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        peer,
    });
    let (status, headers, body) = match (shared.script)(attempt) {
        Reply::Status {
            status,
            headers,
            body,
        } => (status, headers, Body::from(body)),
        Reply::Stream { headers, steps } => (200, headers, streamed(steps)),
    };
    let mut response = Response::builder().status(status).header(
        "content-type",
        if status == 200 {
            "text/event-stream"
        } else {
            "application/json"
        },
    );
    for (name, value) in headers {
        response = response.header(name, value);
    }
    response.body(body).unwrap()
}

fn streamed(steps: Vec<Step>) -> Body {
    let chunks = futures_util::stream::unfold(steps.into_iter(), |mut steps| async move {
        loop {
            match steps.next()? {
                Step::Send(text) => return Some((Ok(Bytes::from(text)), steps)),
                Step::Pause(wait) => tokio::time::sleep(wait).await,
                Step::Stall => std::future::pending().await,
                Step::Break => return Some((Err(std::io::Error::other("cut")), steps)),
            }
        }
    });
    Body::from_stream(chunks)
}

/// A server that accepts connections and never answers; counts the connections.
pub async fn spawn_silent_server() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            held.push(socket);
        }
    });
    (format!("http://{addr}/v1"), accepted)
}

/// A URL on which nothing listens.
pub async fn refused_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/v1")
}
