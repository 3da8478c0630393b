//! What real gateways do that a tidy one does not (seen through a LiteLLM proxy):
//! 529 "overloaded", `Retry-After` as an HTTP date or forwarded as
//! `llm_provider-retry-after`, a connection cut mid-reply, an error chunk mid-stream,
//! and a line that never ends.

use super::fake::{FakeGateway, Reply, Step, data, delta};
use super::{client, events_of, hello, settings, text};
use serde_json::json;
use std::time::{Duration, Instant, SystemTime};
use switchboard_agent::llm::LlmError;
use switchboard_agent::llm::gateway::GatewaySettings;
use switchboard_protocol::ErrorCode;

/// Short backoff (5 ms) but room to honour a wait of a few seconds.
fn patient(url: &str) -> GatewaySettings {
    let mut settings = settings(url);
    settings.retry.cap = Duration::from_secs(10);
    settings
}

#[tokio::test]
async fn a_529_overloaded_is_retried() {
    let gateway = FakeGateway::spawn(|attempt| match attempt {
        0 => Reply::status(529, r#"{"error":{"message":"Overloaded"}}"#),
        _ => hello(),
    })
    .await;
    let events = events_of(&client(settings(&gateway.url))).await;
    assert_eq!(events, vec![text("Hel"), text("lo"), text(" there")]);
    assert_eq!(gateway.attempts(), 2);
}

#[tokio::test]
async fn a_retry_after_given_as_an_http_date_is_honoured() {
    let gateway = FakeGateway::spawn(|attempt| match attempt {
        0 => {
            let when = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
            Reply::status(429, "").with_header("retry-after", &when)
        }
        _ => hello(),
    })
    .await;
    let started = Instant::now();
    let events = events_of(&client(patient(&gateway.url))).await;
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(gateway.attempts(), 2);
    // The date has whole seconds: the wait is between one and two seconds; the
    // backoff alone would have been 5 ms.
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "retried after {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn litellm_s_forwarded_llm_provider_retry_after_is_honoured() {
    let gateway = FakeGateway::spawn(|attempt| match attempt {
        0 => Reply::status(429, "").with_header("llm_provider-retry-after", "1"),
        _ => hello(),
    })
    .await;
    let started = Instant::now();
    let events = events_of(&client(patient(&gateway.url))).await;
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(gateway.attempts(), 2);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "retried after {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_connection_broken_mid_stream_is_llm_unavailable() {
    let gateway = FakeGateway::spawn(|_| {
        Reply::steps(vec![
            Step::Send(data(&delta(json!({"content": "Hel"})))),
            // Let the headers and the first event reach the client first.
            Step::Pause(Duration::from_millis(100)),
            Step::Break,
        ])
    })
    .await;
    let events = events_of(&client(settings(&gateway.url))).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0], text("Hel"));
    let error = events[1].clone().unwrap_err();
    assert!(matches!(error, LlmError::Interrupted(_)), "{error:?}");
    assert_eq!(error.code(), ErrorCode::LlmUnavailable);
}

#[tokio::test]
async fn a_mid_stream_error_chunk_is_mapped_by_its_code() {
    let cases = [
        (
            json!({"message": "boom", "type": "None", "code": "500"}),
            ErrorCode::LlmUnavailable,
        ),
        (
            json!({"message": "slow down", "code": 429}),
            ErrorCode::LlmRateLimited,
        ),
        (
            json!({"message": "bad key", "code": "401"}),
            ErrorCode::LlmError,
        ),
    ];
    for (error, expected) in cases {
        let chunk = json!({"error": error});
        let gateway = FakeGateway::spawn(move |_| {
            Reply::steps(vec![
                Step::Send(data(&delta(json!({"content": "Hel"})))),
                Step::Send(data(&chunk)),
            ])
        })
        .await;
        let events = events_of(&client(settings(&gateway.url))).await;
        assert_eq!(events.len(), 2, "{events:?}");
        let got = events[1].clone().unwrap_err();
        assert_eq!(got.code(), expected, "{got:?}");
    }
}

#[tokio::test]
async fn a_40_mib_line_without_a_newline_is_refused_with_a_bounded_buffer() {
    // The line is sent and then the connection stays open: the refusal must come
    // from the size, not from the end of the body or a silence.
    let gateway = FakeGateway::spawn(|_| {
        let mut steps = vec![Step::Send("data: ".into())];
        let mebibyte = "x".repeat(1 << 20);
        for _ in 0..40 {
            steps.push(Step::Send(mebibyte.clone()));
        }
        steps.push(Step::Stall);
        Reply::steps(steps)
    })
    .await;
    let mut settings = settings(&gateway.url);
    settings.first_byte_timeout = Duration::from_secs(30);
    settings.idle_timeout = Duration::from_secs(30);
    let events = events_of(&client(settings)).await;
    assert_eq!(events.len(), 1, "{events:?}");
    match &events[0] {
        Err(LlmError::Protocol(message)) => {
            assert!(message.contains("longer than 1048576 bytes"), "{message}")
        }
        other => panic!("expected the line to be refused, got {other:?}"),
    }
}
