//! The scripted LLM gateway, driven over real HTTP the way an OpenAI-compatible
//! client would drive it.

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use switchboard_testkit::mock_gateway::{MockGateway, ScriptedReply};

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

fn text(s: &str) -> ScriptedReply {
    ScriptedReply::Text(s.to_owned())
}

/// One streamed chat request: the parsed `data:` chunks, and whether `[DONE]` ended it.
struct Streamed {
    content_type: String,
    chunks: Vec<Value>,
    done: bool,
}

impl Streamed {
    fn deltas(&self, field: &str) -> String {
        self.chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"][field].as_str())
            .collect()
    }

    fn delta_parts(&self, field: &str) -> usize {
        let deltas = self.chunks.iter().map(|c| &c["choices"][0]["delta"]);
        deltas.filter(|d| d[field].is_string()).count()
    }

    fn finish_reason(&self) -> Option<&str> {
        self.chunks
            .iter()
            .find_map(|c| c["choices"][0]["finish_reason"].as_str())
    }

    fn usage(&self) -> &Value {
        let chunk = self.chunks.iter().find(|c| c.get("usage").is_some());
        &chunk.expect("a usage chunk")["usage"]
    }
}

async fn post(gateway: &MockGateway, body: Value) -> reqwest::Response {
    client()
        .post(format!("{}/chat/completions", gateway.url()))
        .bearer_auth("sk-test")
        .json(&body)
        .send()
        .await
        .expect("mock gateway reachable")
}

async fn stream(gateway: &MockGateway) -> Streamed {
    let body =
        json!({"model": "m1", "stream": true, "messages": [{"role": "user", "content": "hi"}]});
    let response = post(gateway, body).await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let raw = response.text().await.unwrap();
    let mut chunks = vec![];
    let mut done = false;
    for event in raw.split("\n\n").filter(|e| !e.is_empty()) {
        let data = event.strip_prefix("data: ").expect("an SSE data event");
        assert!(!done, "nothing may follow [DONE]");
        if data == "[DONE]" {
            done = true;
        } else {
            chunks.push(serde_json::from_str(data).expect("a JSON chunk"));
        }
    }
    Streamed {
        content_type,
        chunks,
        done,
    }
}

#[tokio::test]
async fn text_reply_streams_word_chunks_that_concatenate_exactly() {
    let scripted = "Done — record 42 was  deleted.\nThanks!";
    let gateway = MockGateway::start(vec![text("Hello from the engine!"), text(scripted)]).await;

    let first = stream(&gateway).await;
    assert_eq!(first.content_type, "text/event-stream");
    assert_eq!(first.deltas("content"), "Hello from the engine!");
    assert!((3..=4).contains(&first.delta_parts("content")));
    assert_eq!(first.chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert_eq!(first.finish_reason(), Some("stop"));
    assert!(first.done);
    for chunk in &first.chunks {
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert_eq!(chunk["model"], "m1");
        assert!(chunk["id"].as_str().unwrap().starts_with("chatcmpl-mock-"));
    }

    let second = stream(&gateway).await;
    assert_eq!(second.deltas("content"), scripted);
    assert!(second.delta_parts("content") > 1);
}

#[tokio::test]
async fn tool_call_arguments_concatenate_and_finish_with_tool_calls() {
    let arguments = r#"{"id": "42"}"#;
    let gateway = MockGateway::start(vec![ScriptedReply::ToolCall {
        name: "delete_record".into(),
        arguments: arguments.into(),
    }])
    .await;

    let reply = stream(&gateway).await;
    let calls: Vec<&Value> = reply
        .chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"].get(0))
        .collect();
    assert_eq!(calls[0]["function"]["name"], "delete_record");
    assert_eq!(calls[0]["type"], "function");
    assert!(calls[0]["id"].as_str().unwrap().starts_with("call_"));
    let parts: Vec<&str> = calls
        .iter()
        .filter_map(|c| c["function"]["arguments"].as_str())
        .filter(|a| !a.is_empty())
        .collect();
    assert!((2..=3).contains(&parts.len()), "{parts:?}");
    assert_eq!(parts.concat(), arguments);
    assert!(calls.iter().all(|c| c["index"] == 0));
    assert_eq!(reply.finish_reason(), Some("tool_calls"));
    assert!(reply.done);
}

#[tokio::test]
async fn reasoning_precedes_text() {
    let gateway = MockGateway::start(vec![ScriptedReply::Reasoning {
        reasoning: "The user greets me.".into(),
        text: "Hi there.".into(),
    }])
    .await;

    let reply = stream(&gateway).await;
    assert_eq!(reply.deltas("reasoning_content"), "The user greets me.");
    assert_eq!(reply.deltas("content"), "Hi there.");
    let first_text = reply
        .chunks
        .iter()
        .position(|c| c["choices"][0]["delta"]["content"].is_string());
    let last_reasoning = reply
        .chunks
        .iter()
        .rposition(|c| c["choices"][0]["delta"]["reasoning_content"].is_string());
    assert!(last_reasoning < first_text);
    assert_eq!(reply.finish_reason(), Some("stop"));
}

#[tokio::test]
async fn every_reply_reports_usage_of_ten_and_five() {
    let gateway = MockGateway::start(vec![
        text("a b"),
        ScriptedReply::ToolCall {
            name: "t".into(),
            arguments: "{}".into(),
        },
    ])
    .await;

    for _ in 0..2 {
        let reply = stream(&gateway).await;
        let usage = reply.usage();
        assert_eq!(usage["prompt_tokens"], 10);
        assert_eq!(usage["completion_tokens"], 5);
        assert_eq!(usage["total_tokens"], 15);
        let last = reply.chunks.last().unwrap();
        assert_eq!(
            last["choices"],
            json!([]),
            "usage comes last, before [DONE]"
        );
    }
}

#[tokio::test]
async fn script_is_consumed_in_order_and_exhaustion_is_a_500() {
    let gateway = MockGateway::start(vec![text("one"), text("two")]).await;
    assert_eq!(gateway.remaining(), 2);

    assert_eq!(stream(&gateway).await.deltas("content"), "one");
    assert_eq!(gateway.remaining(), 1);
    assert_eq!(stream(&gateway).await.deltas("content"), "two");
    assert_eq!(gateway.remaining(), 0);

    let response = post(&gateway, json!({"model": "m", "stream": true})).await;
    assert_eq!(response.status(), 500);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["message"], "mock LLM script exhausted");
    assert_eq!(gateway.streamed_requests(), 3);
}

#[tokio::test]
async fn repeat_last_reuses_the_final_entry() {
    let gateway = MockGateway::builder()
        .script(vec![text("one"), text("again")])
        .repeat_last(true)
        .start()
        .await;

    assert_eq!(stream(&gateway).await.deltas("content"), "one");
    for _ in 0..3 {
        assert_eq!(stream(&gateway).await.deltas("content"), "again");
    }
}

#[tokio::test]
async fn side_calls_answer_ok_without_consuming_the_script() {
    let gateway = MockGateway::start(vec![text("scripted")]).await;

    let response = post(&gateway, json!({"model": "m", "messages": []})).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["choices"][0]["message"]["content"], "OK");
    assert_eq!(body["usage"]["prompt_tokens"], 10);
    let explicit = post(&gateway, json!({"model": "m", "stream": false})).await;
    assert_eq!(explicit.status(), 200);

    assert_eq!(gateway.remaining(), 1);
    assert_eq!(gateway.streamed_requests(), 0);
    assert_eq!(stream(&gateway).await.deltas("content"), "scripted");
}

#[tokio::test]
async fn scripted_failure_answers_with_its_status_and_body() {
    let gateway = MockGateway::start(vec![
        ScriptedReply::Fail {
            status: 429,
            body: r#"{"error":{"message":"slow down"}}"#.into(),
        },
        text("recovered"),
    ])
    .await;

    let response = post(&gateway, json!({"model": "m", "stream": true})).await;
    assert_eq!(response.status(), 429);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["message"], "slow down");
    assert_eq!(stream(&gateway).await.deltas("content"), "recovered");
}

#[tokio::test]
async fn malformed_json_is_a_400_and_not_recorded() {
    let gateway = MockGateway::start(vec![text("kept")]).await;
    let response = client()
        .post(format!("{}/chat/completions", gateway.url()))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(gateway.remaining(), 1);
    assert!(gateway.requests().is_empty());
}

#[tokio::test]
async fn requests_and_authorization_are_recorded_in_order() {
    let gateway = MockGateway::start(vec![text("x")]).await;
    post(&gateway, json!({"model": "side"})).await;
    stream(&gateway).await;
    client()
        .post(format!("{}/chat/completions", gateway.url()))
        .json(&json!({"model": "anonymous"}))
        .send()
        .await
        .unwrap();

    let models: Vec<Value> = gateway
        .requests()
        .iter()
        .map(|r| r["model"].clone())
        .collect();
    assert_eq!(models, [json!("side"), json!("m1"), json!("anonymous")]);
    assert_eq!(gateway.requests()[1]["messages"][0]["content"], "hi");
    assert_eq!(
        gateway.authorization_headers(),
        [
            Some("Bearer sk-test".to_owned()),
            Some("Bearer sk-test".to_owned()),
            None
        ]
    );
    assert_eq!(gateway.streamed_requests(), 1);
}

#[tokio::test]
async fn delays_hold_back_the_first_byte_and_pace_the_chunks() {
    let gateway = MockGateway::builder()
        .script(vec![text("one two three")])
        .first_byte_delay(Duration::from_millis(150))
        .chunk_delay(Duration::from_millis(20))
        .start()
        .await;

    let sent = Instant::now();
    let reply = stream(&gateway).await;
    let elapsed = sent.elapsed();
    let first_bytes = gateway.first_byte_sent_at();
    assert_eq!(first_bytes.len(), 1);
    assert!(first_bytes[0].duration_since(sent) >= Duration::from_millis(150));
    // role, 3 words, stop, usage, [DONE]: six gaps after the first event.
    assert!(
        elapsed >= Duration::from_millis(150 + 6 * 20),
        "{elapsed:?}"
    );
    assert_eq!(reply.deltas("content"), "one two three");
}

#[tokio::test]
async fn dropping_the_gateway_stops_the_server() {
    let gateway = MockGateway::start(vec![]).await;
    let url = format!("{}/chat/completions", gateway.url());
    drop(gateway);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let result = client().post(url).json(&json!({})).send().await;
    assert!(result.is_err(), "the port should no longer accept requests");
}

#[test]
fn from_scenario_parses_every_conformance_script() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../spec/conformance/scenarios"
    );
    let mut parsed = 0;
    for entry in std::fs::read_dir(dir).expect("scenario directory") {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let scenario: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let Some(entries) = scenario["mockLlmScript"].as_array() else {
            continue;
        };
        let script = ScriptedReply::from_scenario(entries)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(script.len(), entries.len());
        parsed += 1;
    }
    assert!(parsed > 0, "no scenario had a mockLlmScript");
}

#[test]
fn from_scenario_reads_fields_and_rejects_an_unknown_kind() {
    let script = ScriptedReply::from_scenario(&[
        json!({"kind": "text", "text": "Hello"}),
        json!({"kind": "toolCall", "name": "lookup_order", "arguments": "{\"id\": \"123\"}"}),
    ])
    .unwrap();
    assert_eq!(
        script,
        [
            text("Hello"),
            ScriptedReply::ToolCall {
                name: "lookup_order".into(),
                arguments: r#"{"id": "123"}"#.into(),
            },
        ]
    );

    let err = ScriptedReply::from_scenario(&[json!({"kind": "image", "url": "x"})]).unwrap_err();
    assert!(err.contains("image"), "{err}");
    assert!(ScriptedReply::from_scenario(&[json!({"kind": "text"})]).is_err());
}
