//! The gateway client against a scripted OpenAI-style server on a real socket:
//! what a turn sees for each way a gateway can answer, stall or fail.

#[path = "gateway/fake.rs"]
mod fake;
#[path = "gateway/faults.rs"]
mod faults;

use fake::{FakeGateway, Reply, Step, data, delta, finish, refused_url, spawn_silent_server};
use futures_util::StreamExt;
use secrecy::SecretString;
use serde_json::json;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use switchboard_agent::llm::gateway::{GatewayClient, GatewaySettings};
use switchboard_agent::llm::{
    ChatMessage, ChatRequest, LlmError, LlmProvider, LlmStream, StreamEvent, TokenUsage, ToolCall,
    ToolSpec,
};
use switchboard_knowledge::retry::RetryPolicy;

/// Settings with timeouts short enough for a fast suite.
pub(crate) fn settings(url: &str) -> GatewaySettings {
    GatewaySettings {
        connect_timeout: Duration::from_millis(500),
        first_byte_timeout: Duration::from_millis(300),
        idle_timeout: Duration::from_millis(300),
        retry: RetryPolicy {
            max_retries: 3,
            base: Duration::from_millis(5),
            cap: Duration::from_millis(50),
        },
        ..GatewaySettings::new(url, None)
    }
}

pub(crate) fn client(settings: GatewaySettings) -> GatewayClient {
    GatewayClient::new(settings).expect("client builds")
}

pub(crate) fn request() -> ChatRequest {
    ChatRequest {
        model: "test-model".into(),
        messages: vec![
            ChatMessage::system("Be brief."),
            ChatMessage::user("Hello?"),
        ],
        tools: Vec::new(),
        max_tokens: 128,
        temperature: None,
        grounding: Vec::new(),
    }
}

/// Everything the stream yields, until it ends (bounded, so a hang fails the test).
pub(crate) async fn collect(stream: LlmStream) -> Vec<Result<StreamEvent, LlmError>> {
    tokio::time::timeout(Duration::from_secs(5), stream.collect())
        .await
        .expect("the stream ends")
}

pub(crate) async fn events_of(client: &GatewayClient) -> Vec<Result<StreamEvent, LlmError>> {
    collect(client.stream(request()).await.expect("the stream starts")).await
}

pub(crate) fn text(s: &str) -> Result<StreamEvent, LlmError> {
    Ok(StreamEvent::Text(s.into()))
}

pub(crate) fn hello() -> Reply {
    Reply::sse(&[
        delta(json!({"role": "assistant", "content": "Hel"})),
        delta(json!({"content": "lo"})),
        delta(json!({"content": " there"})),
        finish("stop"),
    ])
}

#[tokio::test]
async fn text_arrives_as_several_text_events_in_order() {
    let gateway = FakeGateway::spawn(|_| hello()).await;
    let events = events_of(&client(settings(&gateway.url))).await;
    assert_eq!(events, vec![text("Hel"), text("lo"), text(" there")]);
}

#[tokio::test]
async fn a_tool_call_split_across_chunks_is_assembled() {
    let gateway = FakeGateway::spawn(|_| {
        Reply::sse(&[
            delta(
                json!({"tool_calls": [{"index": 0, "id": "call_7", "type": "function",
                "function": {"name": "search_docs", "arguments": ""}}]}),
            ),
            delta(json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"query\":"}}]})),
            delta(
                json!({"tool_calls": [{"index": 0, "function": {"arguments": " \"refunds\"}"}}]}),
            ),
            finish("tool_calls"),
        ])
    })
    .await;
    let events = events_of(&client(settings(&gateway.url))).await;
    assert_eq!(
        events,
        vec![Ok(StreamEvent::ToolCall(ToolCall {
            id: "call_7".into(),
            name: "search_docs".into(),
            arguments: r#"{"query": "refunds"}"#.into(),
        }))]
    );
}

#[tokio::test]
async fn usage_is_reported_with_the_cost_from_the_response_header() {
    let gateway = FakeGateway::spawn(|_| {
        Reply::sse(&[
            delta(json!({"reasoning_content": "Greet back."})),
            delta(json!({"content": "Hi"})),
            finish("stop"),
            json!({"choices": [], "usage": {"prompt_tokens": 21, "completion_tokens": 2, "total_tokens": 23}}),
        ])
        .with_header("x-litellm-response-cost", "0.0042")
    })
    .await;
    let events = events_of(&client(settings(&gateway.url))).await;
    assert_eq!(
        events,
        vec![
            Ok(StreamEvent::Reasoning("Greet back.".into())),
            text("Hi"),
            Ok(StreamEvent::Usage(TokenUsage {
                prompt_tokens: 21,
                completion_tokens: 2,
                cost_usd: Some(0.0042),
            })),
        ]
    );
}

#[tokio::test]
async fn the_request_asks_for_a_stream_with_usage_and_offers_the_tools() {
    let gateway = FakeGateway::spawn(|_| hello()).await;
    let mut request = request();
    request.temperature = Some(0.25);
    request.tools = vec![ToolSpec {
        name: "search_docs".into(),
        description: "Search the knowledge base.".into(),
        parameters: json!({"type": "object", "properties": {"query": {"type": "string"}}}),
    }];
    let stream = client(settings(&gateway.url))
        .stream(request)
        .await
        .unwrap();
    collect(stream).await;

    let body = &gateway.requests()[0].body;
    assert_eq!(body["model"], "test-model");
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"]["include_usage"], true);
    assert_eq!(body["max_tokens"], 128);
    assert_eq!(body["temperature"], 0.25);
    assert_eq!(body["tool_choice"], "auto");
    assert_eq!(body["tools"][0]["type"], "function");
    assert_eq!(body["tools"][0]["function"]["name"], "search_docs");
    assert_eq!(
        body["tools"][0]["function"]["parameters"]["properties"]["query"]["type"],
        "string"
    );
    assert_eq!(
        body["messages"],
        json!([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello?"}])
    );
}

#[tokio::test]
async fn the_bearer_header_is_sent_only_with_a_key() {
    let gateway = FakeGateway::spawn(|_| hello()).await;
    let with_key = GatewaySettings {
        key: Some(SecretString::from("sk-test-123")),
        ..settings(&gateway.url)
    };
    events_of(&client(with_key)).await;
    events_of(&client(settings(&gateway.url))).await;

    let seen: Vec<_> = gateway
        .requests()
        .into_iter()
        .map(|r| r.authorization)
        .collect();
    assert_eq!(seen, vec![Some("Bearer sk-test-123".to_string()), None]);
}

#[tokio::test]
async fn consecutive_requests_reuse_the_pooled_connection() {
    // The body ends a little after `[DONE]`, as it may behind a proxy.
    let gateway = FakeGateway::spawn(|_| {
        Reply::steps(vec![
            Step::Send(data(&delta(json!({"content": "Hi"})))),
            Step::Send(data(&finish("stop"))),
            Step::Send("data: [DONE]\n\n".into()),
            Step::Pause(Duration::from_millis(30)),
        ])
    })
    .await;
    let client = client(settings(&gateway.url));
    events_of(&client).await;
    // The body's end is read in the background once `[DONE]` arrived.
    tokio::time::sleep(Duration::from_millis(200)).await;
    events_of(&client).await;

    let peers: Vec<_> = gateway.requests().into_iter().map(|r| r.peer).collect();
    assert_eq!(peers[0], peers[1], "a second connection was opened");
}

#[tokio::test]
async fn two_503s_are_retried_and_the_third_attempt_streams() {
    let gateway = FakeGateway::spawn(|attempt| match attempt {
        0 | 1 => Reply::status(503, "overloaded"),
        _ => hello(),
    })
    .await;
    let events = events_of(&client(settings(&gateway.url))).await;
    assert_eq!(events, vec![text("Hel"), text("lo"), text(" there")]);
    assert_eq!(gateway.attempts(), 3);
}

#[tokio::test]
async fn a_persistent_429_is_retried_then_reported_as_rate_limited() {
    let gateway = FakeGateway::spawn(|_| {
        Reply::status(429, r#"{"error":{"message":"slow down"}}"#).with_header("retry-after", "0")
    })
    .await;
    let mut settings = settings(&gateway.url);
    settings.retry.max_retries = 2;
    let result = client(settings).stream(request()).await;
    assert_eq!(result.err(), Some(LlmError::RateLimited));
    assert_eq!(gateway.attempts(), 3);
}

#[tokio::test]
async fn a_long_retry_after_is_capped() {
    let gateway = FakeGateway::spawn(|attempt| match attempt {
        0 => Reply::status(429, "").with_header("retry-after", "3600"),
        _ => hello(),
    })
    .await;
    let started = Instant::now();
    let events = events_of(&client(settings(&gateway.url))).await;
    assert_eq!(events.len(), 3);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "waited {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_401_is_rejected_at_once_with_the_gateway_message() {
    let gateway =
        FakeGateway::spawn(|_| Reply::status(401, r#"{"error":{"message":"invalid api key"}}"#))
            .await;
    let result = client(settings(&gateway.url)).stream(request()).await;
    match result.err() {
        Some(LlmError::Rejected { status: 401, body }) => {
            assert!(body.contains("invalid api key"), "{body}")
        }
        other => panic!("expected Rejected 401, got {other:?}"),
    }
    assert_eq!(gateway.attempts(), 1);
}

#[tokio::test]
async fn a_persistent_500_is_upstream_with_a_truncated_body() {
    let gateway = FakeGateway::spawn(|_| Reply::status(500, &"x".repeat(5000))).await;
    let result = client(settings(&gateway.url)).stream(request()).await;
    match result.err() {
        Some(LlmError::Upstream { status: 500, body }) => {
            assert!(
                body.chars().count() <= 501,
                "{} chars",
                body.chars().count()
            )
        }
        other => panic!("expected Upstream 500, got {other:?}"),
    }
    assert_eq!(gateway.attempts(), 4);
}

#[tokio::test]
async fn a_refused_connection_is_unreachable() {
    let result = client(settings(&refused_url().await))
        .stream(request())
        .await;
    assert!(
        matches!(result, Err(LlmError::Unreachable(_))),
        "{:?}",
        result.err()
    );
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_without_retrying() {
    let (url, accepted) = spawn_silent_server().await;
    let started = Instant::now();
    let result = client(settings(&url)).stream(request()).await;
    assert_eq!(result.err(), Some(LlmError::Timeout("first byte")));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn headers_then_nothing_times_out_waiting_for_the_first_event() {
    // A comment makes sure the headers are on the wire; it is not an event.
    let gateway =
        FakeGateway::spawn(|_| Reply::steps(vec![Step::Send(": ping\n\n".into()), Step::Stall]))
            .await;
    let events = events_of(&client(settings(&gateway.url))).await;
    assert_eq!(events, vec![Err(LlmError::Timeout("first byte"))]);
    assert_eq!(gateway.attempts(), 1);
}

#[tokio::test]
async fn silence_after_a_chunk_ends_the_stream_with_a_timeout() {
    let gateway = FakeGateway::spawn(|_| {
        Reply::steps(vec![
            Step::Send(data(&delta(json!({"content": "Hel"})))),
            Step::Stall,
        ])
    })
    .await;
    let events = events_of(&client(settings(&gateway.url))).await;
    assert_eq!(
        events,
        vec![
            text("Hel"),
            Err(LlmError::Timeout("silence between chunks"))
        ]
    );
}

#[tokio::test]
async fn keep_alive_comments_keep_a_thinking_model_alive() {
    // Comments arrive more often than the silence limit, for longer than it.
    let gateway = FakeGateway::spawn(|_| {
        let mut steps = vec![Step::Send(data(&delta(json!({"content": "Thinking"}))))];
        for _ in 0..8 {
            steps.push(Step::Pause(Duration::from_millis(100)));
            steps.push(Step::Send(": PROCESSING\n\n".into()));
        }
        steps.push(Step::Send(data(&delta(json!({"content": " done"})))));
        steps.push(Step::Send(data(
            &json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
        )));
        steps.push(Step::Send("data: [DONE]\n\n".into()));
        Reply::steps(steps)
    })
    .await;
    let mut settings = settings(&gateway.url);
    settings.idle_timeout = Duration::from_millis(400);
    let events = events_of(&client(settings)).await;
    assert_eq!(events, vec![text("Thinking"), text(" done")]);
}

#[tokio::test]
async fn a_stream_cut_short_is_interrupted_which_is_llm_unavailable() {
    let gateway = FakeGateway::spawn(|_| {
        Reply::steps(vec![Step::Send(data(&delta(json!({"content": "Hel"}))))])
    })
    .await;
    let events = events_of(&client(settings(&gateway.url))).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0], text("Hel"));
    assert!(
        matches!(events[1], Err(LlmError::Interrupted(_))),
        "{events:?}"
    );
    assert_eq!(
        events[1].as_ref().unwrap_err().code(),
        switchboard_protocol::ErrorCode::LlmUnavailable
    );
}

#[tokio::test]
async fn a_stream_that_finished_without_done_is_complete() {
    let gateway = FakeGateway::spawn(|_| {
        Reply::steps(vec![
            Step::Send(data(&delta(json!({"content": "Hi"})))),
            Step::Send(data(&finish("stop"))),
        ])
    })
    .await;
    let events = events_of(&client(settings(&gateway.url))).await;
    assert_eq!(events, vec![text("Hi")]);
}

#[tokio::test]
async fn a_chunk_that_is_not_json_ends_the_stream_with_a_protocol_error() {
    let gateway = FakeGateway::spawn(|_| {
        Reply::steps(vec![
            Step::Send(data(&delta(json!({"content": "Hel"})))),
            Step::Send("data: <html>Bad Gateway</html>\n\n".into()),
            Step::Send(data(&delta(json!({"content": "lo"})))),
            Step::Send("data: [DONE]\n\n".into()),
        ])
    })
    .await;
    let events = events_of(&client(settings(&gateway.url))).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0], text("Hel"));
    assert!(
        matches!(events[1], Err(LlmError::Protocol(_))),
        "{events:?}"
    );
}

#[tokio::test]
async fn the_label_names_the_gateway() {
    let client = client(GatewaySettings::new("http://gw.internal:4000/v1", None));
    assert_eq!(client.label(), "gateway http://gw.internal:4000/v1");
}
