//! A small client for the smooth-operator protocol over WebSocket.
//!
//! It speaks JSON values rather than typed events so tests can see exactly what the
//! server sent, extra fields included. Used by the test suite, the benchmarks and
//! command-line tools.

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::{HeaderValue, header};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("WebSocket error: {0}")]
    WebSocket(#[from] tokio_tungstenite::tungstenite::Error),
    #[error("the server closed the connection")]
    Closed,
    #[error("the server refused the WebSocket upgrade with HTTP {status}: {body}")]
    Refused { status: u16, body: String },
    #[error("no event within {0:?}")]
    Timeout(Duration),
    #[error("the server sent a frame that is not JSON: {0}")]
    NotJson(String),
    #[error("unexpected reply: {0}")]
    Unexpected(Value),
    #[error("'{0}' cannot be sent as an Origin header")]
    InvalidOrigin(String),
}

pub type Result<T> = std::result::Result<T, ClientError>;

/// One WebSocket connection to a Switchboard (or any smooth-operator) server.
pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: AtomicU64,
}

/// The close frame a server ended the connection with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseInfo {
    pub code: u16,
    pub reason: String,
}

/// The ids a `create_conversation_session` acknowledgement carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionIds {
    pub session_id: String,
    pub conversation_id: String,
}

impl Client {
    /// Connects to a `ws://…/ws` URL.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::open(url.into_client_request()?).await
    }

    /// Connects as a page of `origin` would (`https://app.example.com`): the
    /// handshake carries it as the `Origin` header, as browsers send it.
    pub async fn connect_with_origin(url: &str, origin: &str) -> Result<Self> {
        let mut request = url.into_client_request()?;
        let value = HeaderValue::from_str(origin)
            .map_err(|_| ClientError::InvalidOrigin(origin.to_owned()))?;
        request.headers_mut().insert(header::ORIGIN, value);
        Self::open(request).await
    }

    async fn open(request: Request) -> Result<Self> {
        let (ws, _) = connect_async(request).await.map_err(|e| match e {
            tokio_tungstenite::tungstenite::Error::Http(response) => ClientError::Refused {
                status: response.status().as_u16(),
                body: response
                    .body()
                    .as_deref()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default(),
            },
            e => e.into(),
        })?;
        Ok(Self {
            ws,
            next_id: AtomicU64::new(1),
        })
    }

    /// A fresh request id for this connection.
    pub fn request_id(&self) -> String {
        format!("r-{}", self.next_id.fetch_add(1, Ordering::Relaxed))
    }

    /// Sends one action frame.
    pub async fn send(&mut self, frame: &Value) -> Result<()> {
        self.send_text(&frame.to_string()).await
    }

    /// Sends raw text, well-formed or not.
    pub async fn send_text(&mut self, text: &str) -> Result<()> {
        self.ws.send(Message::text(text)).await?;
        Ok(())
    }

    /// Sends a binary frame (which the protocol refuses).
    pub async fn send_binary(&mut self, bytes: Vec<u8>) -> Result<()> {
        self.ws.send(Message::binary(bytes)).await?;
        Ok(())
    }

    /// Sends a WebSocket ping control frame (not the protocol's `ping` action).
    pub async fn send_ws_ping(&mut self) -> Result<()> {
        self.ws.send(Message::Ping(Vec::new().into())).await?;
        Ok(())
    }

    /// Reads until the server ends the connection, for at most `wait`: the events
    /// that came first, and the close frame's code and reason (`None` when the
    /// connection ended without one).
    pub async fn until_closed(
        &mut self,
        wait: Duration,
    ) -> Result<(Vec<Value>, Option<CloseInfo>)> {
        let mut events = Vec::new();
        let read = async {
            loop {
                match self.ws.next().await {
                    Some(Ok(Message::Text(text))) => events.push(
                        serde_json::from_str(text.as_str())
                            .map_err(|_| ClientError::NotJson(text.to_string()))?,
                    ),
                    Some(Ok(Message::Close(frame))) => {
                        return Ok(frame.map(|f| CloseInfo {
                            code: u16::from(f.code),
                            reason: f.reason.to_string(),
                        }));
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(_)) | None => return Ok(None),
                }
            }
        };
        match tokio::time::timeout(wait, read).await {
            Ok(close) => close.map(|close| (events, close)),
            Err(_) => Err(ClientError::Timeout(wait)),
        }
    }

    /// The next event, waiting as long as it takes.
    pub async fn next_event(&mut self) -> Result<Value> {
        loop {
            match self.ws.next().await {
                Some(Ok(Message::Text(text))) => {
                    return serde_json::from_str(text.as_str())
                        .map_err(|_| ClientError::NotJson(text.to_string()));
                }
                Some(Ok(Message::Close(_))) | None => return Err(ClientError::Closed),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e.into()),
            }
        }
    }

    /// The next event, or `Ok(None)` when none arrives within `wait`.
    pub async fn next_event_within(&mut self, wait: Duration) -> Result<Option<Value>> {
        match tokio::time::timeout(wait, self.next_event()).await {
            Ok(event) => event.map(Some),
            Err(_) => Ok(None),
        }
    }

    /// The next event within `wait`, or a timeout error.
    pub async fn expect_event(&mut self, wait: Duration) -> Result<Value> {
        self.next_event_within(wait)
            .await?
            .ok_or(ClientError::Timeout(wait))
    }

    /// Sends `frame` (adding a `requestId` when it has none) and returns the first
    /// event that echoes that id.
    pub async fn request(&mut self, mut frame: Value) -> Result<Value> {
        let id = match frame.get("requestId").and_then(Value::as_str) {
            Some(id) => id.to_owned(),
            None => {
                let id = self.request_id();
                frame["requestId"] = Value::String(id.clone());
                id
            }
        };
        self.send(&frame).await?;
        loop {
            let event = self.next_event().await?;
            if event.get("requestId").and_then(Value::as_str) == Some(id.as_str()) {
                return Ok(event);
            }
        }
    }

    /// `ping`, returning the server's `pong`.
    pub async fn ping(&mut self) -> Result<Value> {
        self.request(json!({"action": "ping"})).await
    }

    /// Opens a session with `agent_id` and returns its ids.
    pub async fn create_session(&mut self, agent_id: &str) -> Result<SessionIds> {
        let ack = self
            .request(json!({"action": "create_conversation_session", "agentId": agent_id}))
            .await?;
        let data = &ack["data"];
        match (data["sessionId"].as_str(), data["conversationId"].as_str()) {
            (Some(session_id), Some(conversation_id)) if ack["type"] == "immediate_response" => {
                Ok(SessionIds {
                    session_id: session_id.to_owned(),
                    conversation_id: conversation_id.to_owned(),
                })
            }
            _ => Err(ClientError::Unexpected(ack)),
        }
    }

    /// Closes the connection politely.
    pub async fn close(mut self) -> Result<()> {
        self.ws.close(None).await?;
        Ok(())
    }
}
