//! A real HTTP endpoint for tools under test: it records what it receives.

use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::post;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// An endpoint that answers every POST with `status` and `body` after `delay`.
pub struct ToolEndpoint {
    pub url: String,
    received: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl ToolEndpoint {
    pub async fn start(status: u16, body: &'static str, delay: Duration) -> Self {
        let received: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
        let log = received.clone();
        let app = Router::new().route(
            "/tool",
            post(move |bytes: Bytes| {
                let log = log.clone();
                async move {
                    log.lock()
                        .unwrap()
                        .push(serde_json::from_slice(&bytes).unwrap_or_default());
                    tokio::time::sleep(delay).await;
                    (StatusCode::from_u16(status).unwrap(), body)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/tool", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, received }
    }

    /// Argument objects received so far.
    pub fn calls(&self) -> Vec<serde_json::Value> {
        self.received.lock().unwrap().clone()
    }
}
