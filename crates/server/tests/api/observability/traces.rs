//! Traces reach a real OTLP receiver (gRPC, and HTTP with protobuf): one turn with
//! one tool call is one `gen_ai.chat` span with exactly the O-TELEMETRY attributes
//! and one `gen_ai.tool` child whose `api_key` argument is redacted; the gateway and
//! the HTTP tool receive the trace's W3C `traceparent`.

use axum::Router;
use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use switchboard_testkit::TestClient;
use switchboard_testkit::events::reply;
use switchboard_testkit::mock_gateway::{MockGateway, ScriptedReply};
use switchboard_testkit::process::ServerProcess;

const SECRET_ARGUMENT: &str = "sk-tool-argument-secret-77";

type Received = Arc<Mutex<Vec<ExportTraceServiceRequest>>>;

/// A real OTLP/gRPC trace receiver.
struct GrpcReceiver(Received);

#[tonic::async_trait]
impl TraceService for GrpcReceiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.0.lock().unwrap().push(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

/// Starts a receiver for `protocol`; returns its endpoint and what it received.
async fn receiver(protocol: &str) -> (String, Received) {
    let received = Received::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    if protocol == "grpc" {
        let service = TraceServiceServer::new(GrpcReceiver(received.clone()));
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
        );
    } else {
        let log = received.clone();
        let app = Router::new().route(
            "/v1/traces",
            post(move |body: Bytes| {
                let log = log.clone();
                async move {
                    let request = ExportTraceServiceRequest::decode(body).unwrap();
                    log.lock().unwrap().push(request);
                    (
                        [("content-type", "application/x-protobuf")],
                        ExportTraceServiceResponse::default().encode_to_vec(),
                    )
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
    }
    (format!("http://{addr}"), received)
}

/// An HTTP tool endpoint that records the `traceparent` of each call.
async fn tool_endpoint() -> (String, Arc<Mutex<Vec<Option<String>>>>) {
    let seen: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
    let log = seen.clone();
    let app = Router::new().route(
        "/tool",
        post(move |headers: HeaderMap| {
            let log = log.clone();
            async move {
                let parent = headers
                    .get("traceparent")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                log.lock().unwrap().push(parent);
                "Order 123 shipped."
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/tool", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

fn spans(received: &Received) -> Vec<Span> {
    received
        .lock()
        .unwrap()
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| s.spans.clone())
        .collect()
}

fn attribute(span: &Span, key: &str) -> Option<AnyValue> {
    span.attributes
        .iter()
        .find(|a| a.key == key)
        .and_then(|a| a.value.clone()?.value)
}

fn text(span: &Span, key: &str) -> String {
    match attribute(span, key) {
        Some(AnyValue::StringValue(s)) => s,
        other => panic!("{key} is {other:?} on {}", span.name),
    }
}

fn keys(span: &Span) -> BTreeSet<&str> {
    span.attributes.iter().map(|a| a.key.as_str()).collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn one_turn_with_one_tool_call_is_traced(protocol: &str) {
    let (endpoint, received) = receiver(protocol).await;
    let (tool_url, tool_parents) = tool_endpoint().await;
    let gateway = MockGateway::start(vec![
        ScriptedReply::ToolCall {
            name: "lookup_order".into(),
            arguments: json!({"id": "123", "api_key": SECRET_ARGUMENT}).to_string(),
        },
        ScriptedReply::Text("It shipped.".into()),
    ])
    .await;
    let config = std::env::temp_dir().join(format!("sb-traces-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(
        &config,
        json!({"tools": [{"name": "lookup_order", "description": "Look up an order",
                          "url": tool_url, "timeoutMs": 5000}]})
        .to_string(),
    )
    .unwrap();
    let server = ServerProcess::start(
        std::path::Path::new(env!("CARGO_BIN_EXE_switchboard")),
        &[
            ("SMOOAI_GATEWAY_URL", &gateway.url()),
            ("SMOOTH_AGENT_EMBEDDINGS", "offline"),
            ("SMOOTH_AGENT_CONFIG", config.to_str().unwrap()),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
            ("OTEL_SERVICE_NAME", "switchboard-under-test"),
        ],
    )
    .await
    .unwrap();
    let mut client = TestClient::connect(server.url()).await;
    let (session, _) = client.create_session().await;
    let events = client.turn("r1", &session, "where is order 123?").await;
    assert_eq!(reply(&events), "It shipped.");

    let deadline = Instant::now() + Duration::from_secs(15);
    let (chat, tool) = loop {
        let all = spans(&received);
        let named = |name: &str| {
            all.iter()
                .filter(|s| s.name == name)
                .cloned()
                .collect::<Vec<_>>()
        };
        let (chats, tools) = (named("gen_ai.chat"), named("gen_ai.tool"));
        if !chats.is_empty() && !tools.is_empty() {
            assert_eq!((chats.len(), tools.len()), (1, 1), "{all:#?}");
            break (chats[0].clone(), tools[0].clone());
        }
        assert!(
            Instant::now() < deadline,
            "no GenAI spans arrived: {all:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    server.stop().unwrap();
    let _ = std::fs::remove_file(&config);

    assert_eq!(
        tool.parent_span_id, chat.span_id,
        "the tool span is the chat span's child"
    );
    assert_eq!(tool.trace_id, chat.trace_id);
    assert_eq!(
        keys(&chat),
        BTreeSet::from([
            "gen_ai.system",
            "gen_ai.operation.name",
            "gen_ai.request.model",
            "gen_ai.conversation.id",
            "gen_ai.agent.name",
            "smooai.org_id",
            "gen_ai.usage.input_tokens",
            "gen_ai.usage.output_tokens",
            "smooai.gen_ai.cost_unavailable",
        ]),
        "{chat:#?}"
    );
    assert_eq!(text(&chat, "gen_ai.system"), "smooth-operator");
    assert_eq!(text(&chat, "gen_ai.operation.name"), "chat");
    assert_eq!(text(&chat, "smooai.gen_ai.cost_unavailable"), "unpriced");
    // Two model calls of 10 tokens in and 5 out each (the mock gateway's usage).
    assert_eq!(
        attribute(&chat, "gen_ai.usage.input_tokens"),
        Some(AnyValue::IntValue(20))
    );
    assert_eq!(
        keys(&tool),
        BTreeSet::from([
            "gen_ai.system",
            "gen_ai.operation.name",
            "gen_ai.conversation.id",
            "smooai.org_id",
            "gen_ai.tool.name",
            "gen_ai.tool.call.arguments",
            "duration_ms",
            "is_error",
        ]),
        "{tool:#?}"
    );
    assert_eq!(text(&tool, "gen_ai.system"), "smooth-operator");
    assert_eq!(text(&tool, "gen_ai.tool.name"), "lookup_order");
    assert_eq!(
        attribute(&tool, "is_error"),
        Some(AnyValue::BoolValue(false))
    );
    let duration = attribute(&tool, "duration_ms");
    assert!(
        matches!(duration, Some(AnyValue::IntValue(_))),
        "{duration:?}"
    );
    let arguments = text(&tool, "gen_ai.tool.call.arguments");
    assert!(
        arguments.contains(r#""api_key":"[REDACTED]""#),
        "{arguments}"
    );
    assert!(arguments.contains("123"), "{arguments}");
    assert!(!arguments.contains(SECRET_ARGUMENT), "{arguments}");
    assert_eq!(
        text(&chat, "gen_ai.conversation.id"),
        text(&tool, "gen_ai.conversation.id")
    );
    // The trace travelled to the gateway and to the tool as W3C traceparent.
    let trace = hex(&chat.trace_id);
    let parents: Vec<_> = gateway
        .traceparents()
        .into_iter()
        .chain(tool_parents.lock().unwrap().clone())
        .collect();
    assert_eq!(parents.len(), 3, "{parents:?}");
    for parent in parents {
        let parent = parent.expect("a traceparent header");
        assert!(
            parent.starts_with(&format!("00-{trace}-")),
            "{parent} not in {trace}"
        );
    }
    // Nothing of the secret anywhere in what was exported.
    let everything = format!("{:?}", received.lock().unwrap());
    assert!(!everything.contains(SECRET_ARGUMENT));
    assert!(
        everything.contains("switchboard-under-test"),
        "service.name"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_is_traced_over_otlp_grpc() {
    one_turn_with_one_tool_call_is_traced("grpc").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_is_traced_over_otlp_http_protobuf() {
    one_turn_with_one_tool_call_is_traced("http/protobuf").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_that_is_down_costs_no_turn_latency() {
    // A loopback port nobody listens on.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let gateway = MockGateway::start(vec![ScriptedReply::Text("Fine.".into()); 5]).await;
    let endpoint = format!("http://{closed}");
    let server = ServerProcess::start(
        std::path::Path::new(env!("CARGO_BIN_EXE_switchboard")),
        &[
            ("SMOOAI_GATEWAY_URL", &gateway.url()),
            ("SMOOTH_AGENT_EMBEDDINGS", "offline"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
        ],
    )
    .await
    .unwrap();
    let mut client = TestClient::connect(server.url()).await;
    let (session, _) = client.create_session().await;
    for i in 0..5 {
        let started = Instant::now();
        let events = client.turn(&format!("r{i}"), &session, "hello").await;
        assert_eq!(reply(&events), "Fine.");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "turn {i} took {:?} with the collector down",
            started.elapsed()
        );
        // Let the exporter try (and fail) between turns.
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let status = server.stop().unwrap();
    assert!(status.success(), "{status}");
}
