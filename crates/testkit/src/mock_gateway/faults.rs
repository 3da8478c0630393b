//! The ways a gateway misbehaves, scripted: streams that never end, a line that
//! never ends, errors with retry hints, error chunks mid-stream, a connection cut
//! mid-reply. Each is answered by a real HTTP response on a real socket.

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// One way to misbehave, for one streamed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Text tokens forever, one every `every`.
    EndlessText { every: Duration },
    /// Nothing but `: ping` keep-alive comments, one every `every`, forever.
    KeepAliveForever { every: Duration },
    /// This HTTP status with these headers (a 529, a `Retry-After` as an HTTP date,
    /// LiteLLM's `llm_provider-retry-after`, …) and a JSON body.
    Status {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// `text` as tokens, then the connection is cut without ending the body.
    BrokenAfter(String),
    /// `text` as tokens, then a chunk `{"error": <error>}` (JSON text), then the end.
    ErrorChunk { text: String, error: String },
    /// `data: ` and then `bytes` bytes with no line ending, then silence.
    HugeLine { bytes: usize },
}

impl Fault {
    /// An HTTP error answer with one header.
    pub fn status_with(status: u16, name: &str, value: &str) -> Self {
        Self::Status {
            status,
            headers: vec![(name.to_owned(), value.to_owned())],
            body: json!({"error": {"message": "scripted failure"}}).to_string(),
        }
    }
}

/// The response for `fault`; open streams end when `stop` is cancelled.
pub(super) fn respond(fault: Fault, stop: CancellationToken) -> Response {
    match fault {
        Fault::Status {
            status,
            headers,
            body,
        } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            let mut response =
                (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
            for (name, value) in headers {
                if let (Ok(name), Ok(value)) = (
                    header::HeaderName::from_bytes(name.as_bytes()),
                    header::HeaderValue::from_str(&value),
                ) {
                    response.headers_mut().insert(name, value);
                }
            }
            response
        }
        Fault::EndlessText { every } => forever(every, stop, |_| data(&token("tick "))),
        Fault::KeepAliveForever { every } => forever(every, stop, |_| ": ping\n\n".into()),
        Fault::BrokenAfter(text) => {
            let first = data(&token(&text));
            let pieces = futures_util::stream::unfold(0, move |n| {
                let first = first.clone();
                async move {
                    match n {
                        0 => Some((Ok(Bytes::from(first)), 1)),
                        // Let the headers and the first event reach the client.
                        1 => {
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            Some((Err(std::io::Error::other("cut")), 2))
                        }
                        _ => None,
                    }
                }
            });
            sse(Body::from_stream(pieces))
        }
        Fault::ErrorChunk { text, error } => {
            let error = format!("data: {{\"error\": {error}}}\n\n");
            let pieces: Vec<Result<_, std::io::Error>> = vec![Ok(data(&token(&text))), Ok(error)];
            sse(Body::from_stream(futures_util::stream::iter(pieces)))
        }
        Fault::HugeLine { bytes } => huge_line(bytes, stop),
    }
}

/// `piece(n)` every `every`, until `stop`.
fn forever(
    every: Duration,
    stop: CancellationToken,
    piece: impl Fn(u64) -> String + Send + 'static,
) -> Response {
    let body = futures_util::stream::unfold((0u64, stop), move |(n, stop)| {
        let text = piece(n);
        async move {
            if n > 0 {
                tokio::select! {
                    () = tokio::time::sleep(every) => {}
                    () = stop.cancelled() => return None,
                }
            }
            Some((Ok::<_, std::io::Error>(Bytes::from(text)), (n + 1, stop)))
        }
    });
    sse(Body::from_stream(body))
}

/// One line of `bytes` bytes, sent 64 KiB at a time, never ended.
fn huge_line(bytes: usize, stop: CancellationToken) -> Response {
    const PIECE: usize = 64 * 1024;
    let filler = Bytes::from(vec![b'x'; PIECE]);
    let body = futures_util::stream::unfold((0usize, stop), move |(sent, stop)| {
        let filler = filler.clone();
        async move {
            if sent == 0 {
                return Some((Ok::<_, std::io::Error>(Bytes::from("data: ")), (1, stop)));
            }
            if sent >= bytes {
                stop.cancelled().await;
                return None;
            }
            let n = PIECE.min(bytes + 1 - sent);
            Some((Ok(filler.slice(..n)), (sent + n, stop)))
        }
    });
    sse(Body::from_stream(body))
}

fn sse(body: Body) -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/event-stream")
        .body(body)
        .expect("a valid SSE response")
}

fn data(chunk: &serde_json::Value) -> String {
    format!("data: {chunk}\n\n")
}

fn token(text: &str) -> serde_json::Value {
    json!({"object": "chat.completion.chunk",
           "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]})
}
