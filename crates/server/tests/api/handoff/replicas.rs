//! Two server processes on one PostgreSQL database, joined by Redis (and again by
//! NATS): a visitor on one replica and an operator on the other hear each other.

use super::*;
use crate::replicas::{Broker, Deployment, NATS, REDIS};
use std::time::Duration;
use switchboard_testkit::events::reply;
use switchboard_testkit::process::ServerProcess;

/// An operator's live view of a replica: its handoff event stream.
struct EventStream {
    response: reqwest::Response,
    buffer: String,
}

impl EventStream {
    async fn open(replica: &ServerProcess, token: &str) -> Self {
        let response = switchboard_agent::http::client()
            .get(format!("{}/admin/handoffs/events", replica.http_url()))
            .bearer_auth(token)
            .send()
            .await
            .expect("the event stream opens");
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "text/event-stream",
            "{:?}",
            response.headers()
        );
        let mut stream = Self {
            response,
            buffer: String::new(),
        };
        assert_eq!(stream.next().await.0, "ready");
        stream
    }

    /// The next event: its name and data.
    async fn next(&mut self) -> (String, Value) {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut name = String::new();
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim());
                    }
                }
                if name.is_empty() {
                    continue; // a keep-alive comment
                }
                return (name, serde_json::from_str(&data).unwrap_or(Value::Null));
            }
            let chunk = tokio::time::timeout(Duration::from_secs(20), self.response.chunk())
                .await
                .expect("an event within 20 s")
                .expect("the stream stays open")
                .expect("the stream does not end");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// The next handoff notice of `kind`.
    async fn notice(&mut self, kind: &str) -> Value {
        loop {
            let (name, data) = self.next().await;
            if name == "handoff" && data["kind"] == kind {
                return data;
            }
        }
    }
}

async fn post(replica: &ServerProcess, path: &str, token: &str, body: Value) -> (u16, Value) {
    let response = switchboard_agent::http::client()
        .post(format!("{}{path}", replica.http_url()))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("the replica answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn visitor_and_operator_meet_across_replicas(broker: Broker) {
    let deployment = Deployment::new(
        broker,
        vec![
            ScriptedReply::Text("Hello, how can I help?".into()),
            ScriptedReply::Text("Glad Olga sorted it out.".into()),
        ],
    )
    .await;
    let (a, b) = (deployment.replica().await, deployment.replica().await);
    let visitor_token = token("vera", ORG, "basic");
    let mut on_a = TestClient::connect(&format!("{}?token={visitor_token}", a.url())).await;
    let (session, conversation) = on_a.create_session().await;
    assert_eq!(
        reply(&on_a.turn("t1", &session, "hi").await),
        "Hello, how can I help?"
    );

    // Olga watches on B and takes the conversation over there.
    let olga = operator("olga", ORG);
    let mut view = EventStream::open(&b, &olga).await;
    let (status, claimed) = post(
        &b,
        &format!("/admin/handoffs/{conversation}/claim"),
        &olga,
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{claimed}");
    assert_eq!(view.notice("claimed").await["conversationId"], conversation);

    // The visitor writes on A: the agent is silent, and Olga sees it on B.
    let held = on_a.turn("t2", &session, "my parcel never came").await;
    assert_eq!(outcome(&held)["needsEscalation"], true);
    let seen = view.notice("message").await;
    assert_eq!(seen["message"]["text"], "my parcel never came");
    assert_eq!(seen["message"]["direction"], "inbound");

    // Olga answers on B; the visitor's socket on A receives it.
    let (status, replied) = post(
        &b,
        &format!("/admin/handoffs/{conversation}/reply"),
        &olga,
        json!({"text": "A new parcel leaves today."}),
    )
    .await;
    assert_eq!(status, 201, "{replied}");
    let pushed = tokio::time::timeout(Duration::from_secs(20), operator_message(&mut on_a))
        .await
        .expect("the reply crosses the replicas");
    assert_eq!(
        pushed["data"]["data"]["response"]["responseParts"],
        json!(["A new parcel leaves today."])
    );

    // Handed back on B, the agent answers on A with Olga's part in its history.
    let (status, _) = post(
        &b,
        &format!("/admin/handoffs/{conversation}/return"),
        &olga,
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    let answered = on_a.turn("t3", &session, "thank you!").await;
    assert_eq!(reply(&answered), "Glad Olga sorted it out.");
    let history = deployment.gateway.requests().last().unwrap()["messages"].to_string();
    assert!(history.contains("A new parcel leaves today."), "{history}");
    assert!(history.contains("my parcel never came"), "{history}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visitor_and_operator_meet_across_replicas_over_redis() {
    visitor_and_operator_meet_across_replicas(REDIS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visitor_and_operator_meet_across_replicas_over_nats() {
    visitor_and_operator_meet_across_replicas(NATS).await;
}
