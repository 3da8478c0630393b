//! Embeddable-widget authorisation at `create_conversation_session`: origin
//! allowlists, strict mode, signed `authContext`, the organisation a policy
//! chooses, and (in `policy_service`) policies fetched from the operator's service.

mod cross_agent;
mod policy_service;
mod recording_store;

use hmac::{Hmac, Mac};
use recording_store::RecordingStore;
use serde_json::{Value, json};
use sha2::Sha256;
use std::sync::Arc;
use switchboard_agent::AgentFile;
use switchboard_core::{ConversationId, SessionId};
use switchboard_server::{AppState, Config};
use switchboard_testkit::{TestApp, TestClient, spawn_state};

// Agent ids are uuids only because the protocol's response schema says so.
const SHOP: &str = "5b0b0000-0000-4000-8000-000000000001";
const OPEN: &str = "5b0b0000-0000-4000-8000-000000000002";
const KEY: &str = "k-widget-shared-secret";

/// A server whose agent file gives `SHOP` the widget policy `widget`, with a store
/// that records writes.
async fn spawn(config: Config, widget: Value) -> (TestApp, RecordingStore) {
    let file = AgentFile::from_json(json!({"agents": [{"id": SHOP, "widget": widget}]}))
        .expect("a valid agent file");
    let store = RecordingStore::default();
    let state = AppState::with_parts(config, Arc::new(store.clone()), file)
        .await
        .expect("valid configuration");
    (spawn_state(state).await, store)
}

fn strict() -> Config {
    let mut config = Config::for_tests();
    config.widget.strict = true;
    config
}

async fn from(app: &TestApp, origin: &str) -> TestClient {
    TestClient::connect_with_origin(&app.ws_url(), origin).await
}

fn create(agent: &str) -> Value {
    json!({"action": "create_conversation_session", "agentId": agent})
}

fn code(event: &Value) -> &str {
    event["error"]["code"].as_str().unwrap_or("<not an error>")
}

/// The hex HMAC-SHA256 of `"<user>:<timestamp>"`, as an integrator's backend signs.
fn sign(key: &str, user: &str, timestamp: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(format!("{user}:{timestamp}").as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn stored_session(app: &TestApp, ack: &Value) -> switchboard_core::Session {
    let id = SessionId::parse(ack["data"]["sessionId"].as_str().expect("an ack")).unwrap();
    app.state.store().get_session(id).await.unwrap().unwrap()
}

#[tokio::test]
async fn a_widget_on_a_foreign_origin_is_refused_and_nothing_is_stored() {
    let (app, store) = spawn(
        Config::for_tests(),
        json!({"allowedOrigins": ["https://shop.example"]}),
    )
    .await;
    let mut evil = from(&app, "https://evil.example").await;
    let e = evil.request("c1", create(SHOP)).await;
    assert_eq!(code(&e), "ORIGIN_NOT_ALLOWED", "{e}");
    assert_eq!(e["requestId"], "c1");
    let message = e["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("https://evil.example") && message.contains(SHOP),
        "the integrator learns which origin and agent: {message}"
    );
    assert_eq!(store.writes(), 0, "nothing stored on refusal");

    // The same agent from its own site works, on the same server.
    let mut shop = from(&app, "https://shop.example").await;
    let ack = shop.request("c2", create(SHOP)).await;
    assert_eq!(ack["status"], 200, "{ack}");
    assert_eq!(store.writes(), 1);
}

#[tokio::test]
async fn a_wildcard_allows_its_domain_on_the_same_scheme_only() {
    let (app, store) = spawn(
        Config::for_tests(),
        json!({"allowedOrigins": ["https://*.smoo.ai"]}),
    )
    .await;
    let ack = from(&app, "https://app.smoo.ai")
        .await
        .request("c", create(SHOP))
        .await;
    assert_eq!(ack["status"], 200, "{ack}");

    let e = from(&app, "http://app.smoo.ai")
        .await
        .request("c", create(SHOP))
        .await;
    assert_eq!(code(&e), "ORIGIN_NOT_ALLOWED", "another scheme: {e}");

    let e = app.client().await.request("c", create(SHOP)).await;
    assert_eq!(code(&e), "ORIGIN_NOT_ALLOWED", "no Origin at all: {e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("without an Origin header"),
        "{e}"
    );
    assert_eq!(store.writes(), 1);
}

#[tokio::test]
async fn an_empty_allowlist_refuses_every_page() {
    let (app, store) = spawn(Config::for_tests(), json!({"allowedOrigins": []})).await;
    for origin in ["https://shop.example", "null"] {
        let e = from(&app, origin).await.request("c", create(SHOP)).await;
        assert_eq!(code(&e), "ORIGIN_NOT_ALLOWED", "{origin}: {e}");
    }
    let e = app.client().await.request("c", create(SHOP)).await;
    assert_eq!(code(&e), "ORIGIN_NOT_ALLOWED");
    assert_eq!(store.writes(), 0);
}

#[tokio::test]
async fn strict_mode_refuses_agents_without_a_policy() {
    let (app, store) = spawn(strict(), json!({"allowedOrigins": ["*"]})).await;
    let mut client = from(&app, "https://anywhere.example").await;
    let e = client.request("c1", create(OPEN)).await;
    assert_eq!(code(&e), "AGENT_NOT_AUTHORIZED", "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains(OPEN));
    assert_eq!(store.writes(), 0);
    // An agent with a policy is still admitted.
    let ack = client.request("c2", create(SHOP)).await;
    assert_eq!(ack["status"], 200, "{ack}");

    // Without strict mode, an agent without a policy may be embedded anywhere.
    let (app, _) = spawn(Config::for_tests(), json!({"allowedOrigins": []})).await;
    let ack = app.client().await.request("c", create(OPEN)).await;
    assert_eq!(ack["status"], 200, "{ack}");
}

#[tokio::test]
async fn an_auth_context_must_be_signed_recently_with_the_policys_key() {
    let (app, store) = spawn(
        Config::for_tests(),
        json!({"allowedOrigins": ["https://shop.example"], "publicKey": KEY}),
    )
    .await;
    let mut client = from(&app, "https://shop.example").await;
    let with = |context: Value| {
        let mut frame = create(SHOP);
        frame["authContext"] = context;
        frame
    };
    let t = now();
    let valid = json!({"userId": "user-7", "signature": sign(KEY, "user-7", t), "timestamp": t});
    let ack = client.request("valid", with(valid)).await;
    assert_eq!(ack["status"], 200, "{ack}");
    // It proves nothing else: the visitor is not identified by it.
    let session = stored_session(&app, &ack).await;
    let participants = app
        .state
        .store()
        .list_participants(session.conversation_id)
        .await
        .unwrap();
    assert!(participants.iter().all(|p| p.external_id.is_none()));

    let old = t - 61;
    let refused = [
        (
            "expired",
            json!({"userId": "user-7", "signature": sign(KEY, "user-7", old), "timestamp": old}),
            "60 seconds",
        ),
        (
            "another user",
            json!({"userId": "user-8", "signature": sign(KEY, "user-7", t), "timestamp": t}),
            "does not match",
        ),
        (
            "another key",
            json!({"userId": "user-7", "signature": sign("guess", "user-7", t), "timestamp": t}),
            "does not match",
        ),
        (
            "not hex",
            json!({"userId": "user-7", "signature": "deadbeef", "timestamp": t}),
            "64 hex",
        ),
    ];
    for (why, context, says) in refused {
        let e = client.request(why, with(context)).await;
        assert_eq!(code(&e), "AUTH_CONTEXT_INVALID", "{why}: {e}");
        let message = e["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{why}: {message}");
        assert!(!message.contains(KEY));
    }
    assert_eq!(store.writes(), 1, "only the valid one was stored");
}

#[tokio::test]
async fn an_auth_context_for_an_agent_without_a_key_is_refused() {
    let (app, _) = spawn(Config::for_tests(), json!({"allowedOrigins": ["*"]})).await;
    let t = now();
    let mut frame = create(SHOP);
    frame["authContext"] = json!({"userId": "u", "signature": sign(KEY, "u", t), "timestamp": t});
    let e = app.client().await.request("c", frame).await;
    assert_eq!(code(&e), "AUTH_CONTEXT_INVALID", "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("no key"));
}

#[tokio::test]
async fn the_policys_organisation_owns_new_conversations() {
    let (app, _) = spawn(
        Config::for_tests(),
        json!({"allowedOrigins": ["https://shop.example"], "organizationId": "acme"}),
    )
    .await;
    let mut shop = from(&app, "https://shop.example").await;
    let ack = shop.request("c1", create(SHOP)).await;
    let session = stored_session(&app, &ack).await;
    assert_eq!(session.org_id.as_str(), "acme");
    let conversation = app
        .state
        .store()
        .get_conversation(session.conversation_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(conversation.org_id.as_str(), "acme");

    // An agent without a policy: the default organisation.
    let ack = shop.request("c2", create(OPEN)).await;
    let other = stored_session(&app, &ack).await;
    assert_eq!(other.org_id.as_str(), "reference-org");

    // Another agent's conversation is not resumed through the widget: a new one
    // starts, in the policy's organisation.
    let mut frame = create(SHOP);
    frame["conversationId"] = json!(other.conversation_id.to_string());
    let ack = shop.request("c3", frame).await;
    assert_ne!(
        ack["data"]["conversationId"],
        other.conversation_id.to_string()
    );
    assert_eq!(stored_session(&app, &ack).await.org_id.as_str(), "acme");
}

#[tokio::test]
async fn a_resume_from_a_foreign_origin_is_refused_and_adds_nothing() {
    let (app, store) = spawn(
        Config::for_tests(),
        json!({"allowedOrigins": ["https://shop.example"]}),
    )
    .await;
    let ack = from(&app, "https://shop.example")
        .await
        .request("c1", create(SHOP))
        .await;
    let conversation = ack["data"]["conversationId"].as_str().unwrap().to_owned();
    let mut frame = create(SHOP);
    frame["conversationId"] = json!(conversation);
    frame["supports"] = json!(["identity_form"]);
    let e = from(&app, "https://evil.example")
        .await
        .request("c2", frame)
        .await;
    assert_eq!(code(&e), "ORIGIN_NOT_ALLOWED", "{e}");
    assert_eq!(store.writes(), 1, "only the first session");
    let id = ConversationId::parse(&conversation).unwrap();
    let stored = app
        .state
        .store()
        .get_conversation(id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        stored.client_supports().is_empty(),
        "supports not rewritten"
    );
}

#[tokio::test]
async fn a_file_policy_that_can_never_match_stops_start_up() {
    let file = AgentFile::from_json(json!({"agents": [{"id": SHOP,
        "widget": {"allowedOrigins": ["https://shop.example/"]}}]}))
    .unwrap();
    let store = Arc::new(switchboard_core::MemoryStore::new());
    let err = match AppState::with_parts(Config::for_tests(), store, file).await {
        Ok(_) => panic!("a pattern with a path was accepted"),
        Err(e) => e.to_string(),
    };
    assert!(err.starts_with("SMOOTH_AGENT_CONFIG"), "{err}");
    assert!(
        err.contains(SHOP) && err.contains("https://shop.example/"),
        "{err}"
    );
}
