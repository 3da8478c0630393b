//! What callers can make the store keep, seen from a client: metadata caps,
//! quotas per address and per organisation, wrong-typed `send_message` fields, and
//! parked turns that expire from the store.

use super::approval::{gated_app_with, park};
use super::tool_endpoint::ToolEndpoint;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use switchboard_core::{OrgConversationQuery, OrgId, SessionId};
use switchboard_server::Config;
use switchboard_testkit::events::terminal;
use switchboard_testkit::{TestApp, TestClient, spawn_app, spawn_app_with};

const AGENT: &str = "11111111-1111-1111-1111-111111111111";

fn create(extra: Value) -> Value {
    let mut frame = json!({"action": "create_conversation_session", "agentId": AGENT});
    if let (Some(f), Some(e)) = (frame.as_object_mut(), extra.as_object()) {
        f.extend(e.clone());
    }
    frame
}

/// The conversations stored for the default organisation of anonymous callers.
async fn stored_conversations(app: &TestApp) -> usize {
    app.state
        .store()
        .list_org_conversations(OrgConversationQuery {
            org_id: OrgId::default_org(),
            owner: None,
            limit: 1000,
            after: None,
        })
        .await
        .unwrap()
        .conversations
        .len()
}

async fn assert_still_open(client: &mut TestClient) {
    let pong = client
        .request("still-open", json!({"action": "ping"}))
        .await;
    assert_eq!(pong["type"], "pong", "{pong}");
}

fn refused<'a>(event: &'a Value, code: &str) -> &'a str {
    assert_eq!(event["type"], "error", "{event}");
    assert_eq!(event["error"]["code"], code, "{event}");
    event["error"]["message"].as_str().unwrap()
}

#[tokio::test]
async fn oversized_or_too_deep_metadata_is_refused_naming_it_and_nothing_is_stored() {
    let app = spawn_app().await;
    let mut client = app.client().await;

    // 1 MB of metadata fits in a frame (1 MiB) but not under the 16 KiB cap.
    let big = create(json!({"metadata": {"blob": "x".repeat(1_000_000)}}));
    let e = client.request("big", big).await;
    let message = refused(&e, "VALIDATION_ERROR");
    assert!(
        message.contains("'metadata'") && message.contains("at most 16384 bytes"),
        "{message}"
    );
    assert_eq!(e["requestId"], "big");

    let mut deep = json!("leaf");
    for _ in 0..20 {
        deep = json!({ "k": deep });
    }
    let e = client
        .request("deep", create(json!({"metadata": deep})))
        .await;
    let message = refused(&e, "VALIDATION_ERROR");
    assert!(
        message.contains("'metadata'") && message.contains("at most 8"),
        "{message}"
    );

    assert_still_open(&mut client).await;
    assert_eq!(stored_conversations(&app).await, 0, "nothing was stored");
    // Metadata within the caps is still welcome.
    client
        .create_session_with(json!({"metadata": {"plan": "pro", "tags": [{"a": [1, 2]}]}}))
        .await;
    assert_eq!(stored_conversations(&app).await, 1);
}

#[tokio::test]
async fn the_per_address_session_quota_refuses_the_next_session_within_the_hour() {
    let mut config = Config::for_tests();
    config.storage_limits.sessions_per_hour_per_ip = Some(3);
    let app = spawn_app_with(config).await;
    // Counted per address, not per socket.
    let mut first = app.client().await;
    first.create_session().await;
    first.create_session().await;
    let mut second = app.client().await;
    second.create_session().await;

    let e = second.request("fourth", create(json!({}))).await;
    let message = refused(&e, "QUOTA_EXCEEDED");
    assert!(
        message.contains("at most 3 new sessions from one address an hour"),
        "{message}"
    );
    assert_eq!(e["requestId"], "fourth");
    assert_still_open(&mut second).await;
    assert_eq!(
        stored_conversations(&app).await,
        3,
        "the refused one is not stored"
    );
    // The first socket shares the address, so it is refused too.
    let e = first.request("again", create(json!({}))).await;
    refused(&e, "QUOTA_EXCEEDED");
}

#[tokio::test]
async fn the_organisation_quotas_count_sessions_and_stored_bytes() {
    let mut config = Config::for_tests();
    config.storage_limits.sessions_per_hour_per_ip = None;
    config.storage_limits.sessions_per_hour_per_org = Some(2);
    config.storage_limits.stored_bytes_per_day_per_org = Some(2_000);
    let app = spawn_app_with(config).await;
    let mut client = app.client().await;
    // About 1,000 bytes of metadata: half the day's bytes.
    let (session, _) = client
        .create_session_with(json!({"metadata": {"note": "n".repeat(990)}}))
        .await;

    // A message over what is left of the day's bytes is refused and not stored.
    let e = client
        .request(
            "long",
            json!({"action": "send_message", "sessionId": session, "message": "m".repeat(1_500)}),
        )
        .await;
    let message = refused(&e, "QUOTA_EXCEEDED");
    assert!(message.contains("at most 2000 bytes"), "{message}");
    let page = client
        .request(
            "history",
            json!({"action": "get_conversation_messages", "sessionId": session}),
        )
        .await;
    assert_eq!(page["data"]["messages"], json!([]), "{page}");

    // One that fits still runs.
    let events = client.turn("short", &session, "hello").await;
    assert_eq!(terminal(&events)["type"], "eventual_response");

    client.create_session().await;
    let e = client.request("third", create(json!({}))).await;
    let message = refused(&e, "QUOTA_EXCEEDED");
    assert!(
        message.contains("at most 2 new sessions for this organisation an hour"),
        "{message}"
    );
    assert_eq!(stored_conversations(&app).await, 2);
}

#[tokio::test]
async fn wrong_typed_send_message_fields_are_named_and_nothing_runs() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    for (field, value) in [
        ("model", json!(5)),
        ("images", json!("https://example.com/a.png")),
        ("stream", json!("no")),
    ] {
        let mut frame = json!({"action": "send_message", "sessionId": session, "message": "hello"});
        frame[field] = value;
        let e = client.request(field, frame).await;
        let message = refused(&e, "VALIDATION_ERROR");
        assert!(message.contains(&format!("'{field}'")), "{message}");
        assert_eq!(e["requestId"], field);
    }
    client.expect_silence(Duration::from_millis(300)).await;
    let page = client
        .request(
            "history",
            json!({"action": "get_conversation_messages", "sessionId": session}),
        )
        .await;
    assert_eq!(page["data"]["messages"], json!([]), "no turn ran: {page}");
}

async fn stored_park(app: &TestApp, session: &str) -> bool {
    let id = SessionId::parse(session).unwrap();
    app.state
        .store()
        .get_parked_turn(id)
        .await
        .unwrap()
        .is_some()
}

#[tokio::test]
async fn the_park_of_a_client_that_went_away_is_removed_once_it_expires() {
    let endpoint = ToolEndpoint::start(200, "deleted", Duration::ZERO).await;
    let (_gateway, app) = gated_app_with(&endpoint, "Done.", |config| {
        config.park_timeout = Duration::from_secs(1);
    })
    .await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    park(&mut client, &session).await;
    client.close().await;
    assert!(stored_park(&app, &session).await, "stored while it waits");

    let deadline = Instant::now() + Duration::from_secs(20);
    while stored_park(&app, &session).await {
        assert!(
            Instant::now() < deadline,
            "the expired park is still stored"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(endpoint.calls().is_empty(), "nothing was done");
}

#[tokio::test]
async fn a_turn_whose_park_was_swept_away_still_ends_as_expired() {
    let endpoint = ToolEndpoint::start(200, "deleted", Duration::ZERO).await;
    let (_gateway, app) = gated_app_with(&endpoint, "Done.", |config| {
        config.park_timeout = Duration::from_secs(1);
    })
    .await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    park(&mut client, &session).await;
    // Another replica's sweeper (or a clock ahead of this one) removes the park
    // while this turn still waits on it.
    let later = chrono::Utc::now() + chrono::Duration::hours(1);
    app.state.store().expire_parked_turns(later).await.unwrap();

    let last = client
        .next_within(Duration::from_secs(30))
        .await
        .expect("the turn ends instead of waiting forever");
    refused(&last, "TURN_EXPIRED");
    assert_eq!(last["requestId"], "r1");
    assert!(endpoint.calls().is_empty());
}
