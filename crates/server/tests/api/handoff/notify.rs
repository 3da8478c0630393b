//! A conversation entering the queue is announced by webhook (signed) and email;
//! a webhook on a private address is refused unless allowed.

use super::*;
use axum::body::Bytes;
use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use secrecy::SecretString;
use sha2::Sha256;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use switchboard_server::config::OtpConfig;
use switchboard_testkit::smtp_sink::SmtpSink;

type Received = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// A webhook receiver on 127.0.0.1 that keeps what it is sent.
async fn receiver() -> (String, Received) {
    let received: Received = Arc::default();
    let keep = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let keep = keep.clone();
            async move {
                keep.lock().unwrap().push((headers, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

async fn app_announcing(config: switchboard_server::Config) -> Admin {
    let app =
        switchboard_testkit::spawn_app_with_agent(jwt_config(config), agent_file(json!({}))).await;
    Admin::over(app)
}

async fn ask_for_a_person(admin: &Admin) -> String {
    let (mut client, session, conversation) = visitor(admin, "vera").await;
    let events = client.turn("t1", &session, "Let me speak to someone").await;
    assert_eq!(outcome(&events)["needsEscalation"], true);
    conversation
}

#[tokio::test]
async fn a_queued_conversation_is_announced_by_a_signed_webhook_and_by_email() {
    let (url, received) = receiver().await;
    let sink = SmtpSink::start().await;
    let mut config = switchboard_server::Config::for_tests();
    config.handoff.webhook_url = Some(url.parse().unwrap());
    config.handoff.webhook_secret = Some(SecretString::from("hook-secret".to_owned()));
    config.handoff.webhook_allow_private = true;
    config.handoff.email_to = vec!["support-team@example.com".into()];
    config.otp = Some(OtpConfig::Smtp {
        host: "127.0.0.1".into(),
        port: sink.addr().port(),
        from: "switchboard@example.com".into(),
        security: switchboard_agent::otp::SmtpSecurity::Plain,
        username: None,
        password: None,
        allow_insecure_auth: false,
    });
    let admin = app_announcing(config).await;
    let conversation = ask_for_a_person(&admin).await;

    let mut waited = 0;
    while received.lock().unwrap().is_empty() && waited < 100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    let calls = received.lock().unwrap().clone();
    assert_eq!(calls.len(), 1, "one call per queued conversation");
    let (headers, body) = &calls[0];
    let payload: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(payload["event"], "handoff.queued");
    assert_eq!(payload["conversationId"], conversation);
    assert_eq!(payload["organizationId"], ORG);
    assert_eq!(payload["trigger"], "request");
    let mut mac = Hmac::<Sha256>::new_from_slice(b"hook-secret").unwrap();
    mac.update(body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        headers["x-switchboard-signature"],
        format!("sha256={expected}").as_str()
    );

    let mail = sink.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(mail[0].to, ["support-team@example.com"]);
    assert!(mail[0].body().contains(&conversation), "{}", mail[0].body());
}

#[tokio::test]
async fn a_webhook_on_a_private_address_is_not_called_unless_allowed() {
    let (url, received) = receiver().await;
    let mut config = switchboard_server::Config::for_tests();
    config.handoff.webhook_url = Some(url.parse().unwrap());
    let admin = app_announcing(config).await;
    ask_for_a_person(&admin).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        received.lock().unwrap().is_empty(),
        "127.0.0.1 is refused like any private address"
    );
}
