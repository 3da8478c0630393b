//! A WebSocket client for tests that checks every event against the schemas.

use crate::schema::schemas;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;
use switchboard_client::Client;

/// How long a test waits for an event it expects.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(10);

/// A schema-validating protocol client. Every event it receives is checked against
/// `spec/events/*.schema.json` (and, for acknowledgements, the action's `Response`
/// schema); a violation fails the test on the spot.
pub struct TestClient {
    inner: Client,
    /// The action each outstanding `requestId` was sent with.
    sent: HashMap<String, String>,
}

impl TestClient {
    pub async fn connect(url: &str) -> Self {
        let inner = Client::connect(url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"));
        Self::over(inner)
    }

    /// Connects as a page of `origin` would: the handshake carries `Origin`.
    pub async fn connect_with_origin(url: &str, origin: &str) -> Self {
        let inner = Client::connect_with_origin(url, origin)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {url} from {origin}: {e}"));
        Self::over(inner)
    }

    fn over(inner: Client) -> Self {
        Self {
            inner,
            sent: HashMap::new(),
        }
    }

    /// Sends an action frame.
    pub async fn send(&mut self, frame: Value) {
        if let (Some(id), Some(action)) = (frame["requestId"].as_str(), frame["action"].as_str()) {
            self.sent.insert(id.to_owned(), action.to_owned());
        }
        self.inner.send(&frame).await.expect("send frame");
    }

    /// Sends raw text.
    pub async fn send_text(&mut self, text: &str) {
        self.inner.send_text(text).await.expect("send text");
    }

    /// Sends a binary frame.
    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        self.inner.send_binary(bytes).await.expect("send binary");
    }

    /// The next event (of any type), validated. Panics after [`EVENT_TIMEOUT`].
    pub async fn next(&mut self) -> Value {
        match self.next_within(EVENT_TIMEOUT).await {
            Some(event) => event,
            None => panic!("no event within {EVENT_TIMEOUT:?}"),
        }
    }

    /// The next event within `wait`, validated; `None` on timeout.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Value> {
        let event = self
            .inner
            .next_event_within(wait)
            .await
            .unwrap_or_else(|e| panic!("connection failed while waiting for an event: {e}"))?;
        let action = event["requestId"]
            .as_str()
            .and_then(|id| self.sent.get(id))
            .map(String::as_str);
        if let Err(violation) = schemas().check_event(&event, action) {
            panic!("{violation}");
        }
        Some(event)
    }

    /// Asserts that nothing but pings arrives within `wait`.
    pub async fn expect_silence(&mut self, wait: Duration) {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_within(left).await {
                None => return,
                Some(event) if event["type"] == "pong" || event["type"] == "keepalive" => {}
                Some(event) => panic!("expected no event, got {event}"),
            }
        }
    }

    /// Sends a WebSocket ping control frame.
    pub async fn send_ws_ping(&mut self) {
        self.inner.send_ws_ping().await.expect("send ping frame");
    }

    /// Reads until the server closes the connection (panics after `wait`): the
    /// events that came first, validated, and the close frame.
    pub async fn until_closed(
        &mut self,
        wait: Duration,
    ) -> (Vec<Value>, Option<switchboard_client::CloseInfo>) {
        let (events, close) = self
            .inner
            .until_closed(wait)
            .await
            .unwrap_or_else(|e| panic!("waiting for the server to close: {e}"));
        for event in &events {
            let action = event["requestId"]
                .as_str()
                .and_then(|id| self.sent.get(id))
                .map(String::as_str);
            if let Err(violation) = schemas().check_event(event, action) {
                panic!("{violation}");
            }
        }
        (events, close)
    }

    /// Sends `frame` with `request_id` and returns the first event echoing it.
    pub async fn request(&mut self, request_id: &str, mut frame: Value) -> Value {
        frame["requestId"] = Value::from(request_id);
        self.send(frame).await;
        loop {
            let event = self.next().await;
            if event["requestId"] == request_id {
                return event;
            }
        }
    }

    /// Sends `send_message` and returns every event up to and including the turn's
    /// terminal event (`eventual_response`, `error` or `cancelled`).
    pub async fn turn(&mut self, request_id: &str, session_id: &str, message: &str) -> Vec<Value> {
        self.send(json!({
            "action": "send_message",
            "requestId": request_id,
            "sessionId": session_id,
            "message": message,
        }))
        .await;
        self.until_terminal(request_id).await
    }

    /// Events until `request_id`'s terminal event, inclusive (pongs skipped).
    pub async fn until_terminal(&mut self, request_id: &str) -> Vec<Value> {
        let mut events = Vec::new();
        loop {
            let event = self.next().await;
            if event["type"] == "pong" {
                continue;
            }
            // `OTP_SEND_FAILED` reports a failed code delivery mid-turn; the turn
            // still ends with its own terminal event.
            let terminal = match event["type"].as_str() {
                Some("eventual_response" | "cancelled") => true,
                Some("error") => event["error"]["code"] != "OTP_SEND_FAILED",
                _ => false,
            } && event["requestId"] == request_id;
            events.push(event);
            if terminal {
                return events;
            }
        }
    }

    /// Events until (and including) the first of `kind`.
    pub async fn until(&mut self, kind: &str) -> Vec<Value> {
        let mut events = Vec::new();
        loop {
            let event = self.next().await;
            let done = event["type"] == kind;
            events.push(event);
            if done {
                return events;
            }
        }
    }

    /// Opens a session and returns `(sessionId, conversationId)`.
    pub async fn create_session(&mut self) -> (String, String) {
        self.create_session_with(json!({})).await
    }

    /// Opens a session with extra create fields and returns `(sessionId, conversationId)`.
    pub async fn create_session_with(&mut self, extra: Value) -> (String, String) {
        let mut frame = json!({
            "action": "create_conversation_session",
            "agentId": "11111111-1111-1111-1111-111111111111",
        });
        if let (Some(f), Some(e)) = (frame.as_object_mut(), extra.as_object()) {
            f.extend(e.clone());
        }
        let ack = self.request("create", frame).await;
        assert_eq!(ack["type"], "immediate_response", "{ack}");
        assert_eq!(ack["status"], 200, "{ack}");
        (
            ack["data"]["sessionId"]
                .as_str()
                .expect("sessionId")
                .to_owned(),
            ack["data"]["conversationId"]
                .as_str()
                .expect("conversationId")
                .to_owned(),
        )
    }

    /// Closes the connection.
    pub async fn close(self) {
        let _ = self.inner.close().await;
    }
}
