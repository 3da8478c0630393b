//! `get_conversation_messages`: newest first, `limit`, opaque cursors.

use serde_json::{Value, json};
use switchboard_core::{Direction, Message};
use switchboard_testkit::{TestApp, TestClient, spawn_app};

/// Stores `n` alternating user/agent messages in the session's conversation.
async fn seed(app: &TestApp, session_id: &str, n: usize) -> Vec<Message> {
    let mut out = Vec::new();
    for i in 0..n {
        let direction = if i % 2 == 0 {
            Direction::Inbound
        } else {
            Direction::Outbound
        };
        out.push(
            app.store_message(session_id, direction, &format!("message {i}"))
                .await,
        );
    }
    out
}

async fn page(client: &mut TestClient, session_id: &str, extra: Value) -> Value {
    let mut frame = json!({"action": "get_conversation_messages", "sessionId": session_id});
    frame
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let ack = client.request("m", frame).await;
    assert_eq!(ack["type"], "immediate_response", "{ack}");
    ack
}

fn texts(ack: &Value) -> Vec<String> {
    ack["data"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"]["text"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn pages_newest_first_with_a_cursor() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    seed(&app, &session, 6).await;

    let first = page(&mut client, &session, json!({"limit": 4})).await;
    assert_eq!(first["message"], "ConversationMessages");
    assert_eq!(
        texts(&first),
        ["message 5", "message 4", "message 3", "message 2"]
    );
    assert_eq!(first["data"]["hasMore"], true);
    let cursor = first["data"]["nextCursor"].as_str().unwrap().to_owned();

    let second = page(&mut client, &session, json!({"limit": 4, "cursor": cursor})).await;
    assert_eq!(texts(&second), ["message 1", "message 0"]);
    assert_eq!(second["data"]["hasMore"], false);
    assert_eq!(second["data"]["nextCursor"], Value::Null);

    let m = &second["data"]["messages"][1];
    assert_eq!(m["direction"], "inbound");
    assert_eq!(second["data"]["messages"][0]["direction"], "outbound");
    assert!(m["createdAt"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn an_empty_conversation_has_an_empty_page() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    let ack = page(&mut client, &session, json!({})).await;
    assert_eq!(
        ack["data"],
        json!({"messages": [], "nextCursor": null, "hasMore": false})
    );
}

#[tokio::test]
async fn default_limit_is_fifty_and_large_limits_are_clamped() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    seed(&app, &session, 120).await;
    assert_eq!(
        texts(&page(&mut client, &session, json!({})).await).len(),
        50
    );
    assert_eq!(
        texts(&page(&mut client, &session, json!({"limit": 1000})).await).len(),
        100
    );
}

#[tokio::test]
async fn bad_limits_and_cursors_are_refused_clearly() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    let (other, _) = client.create_session().await;
    let foreign = seed(&app, &other, 1).await;
    for extra in [
        json!({"limit": 0}),
        json!({"limit": "ten"}),
        json!({"cursor": "garbage"}),
        json!({"cursor": foreign[0].id.to_string()}),
    ] {
        let mut frame = json!({"action": "get_conversation_messages", "sessionId": session});
        frame
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let e = client.request("m", frame).await;
        assert_eq!(e["error"]["code"], "VALIDATION_ERROR", "{extra}: {e}");
    }
}

#[tokio::test]
async fn unknown_session_is_not_found() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    let e = client
        .request(
            "m",
            json!({"action": "get_conversation_messages", "sessionId": "00000000-0000-0000-0000-000000000000"}),
        )
        .await;
    assert_eq!(e["error"]["code"], "SESSION_NOT_FOUND");
}

#[tokio::test]
async fn before_is_another_name_for_cursor() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    seed(&app, &session, 6).await;
    let first = page(&mut client, &session, json!({"limit": 4})).await;
    let cursor = first["data"]["nextCursor"].as_str().unwrap().to_owned();

    let by_before = page(&mut client, &session, json!({"limit": 4, "before": cursor})).await;
    assert_eq!(texts(&by_before), ["message 1", "message 0"]);
    let both = page(
        &mut client,
        &session,
        json!({"limit": 4, "before": cursor, "cursor": cursor}),
    )
    .await;
    assert_eq!(texts(&both), ["message 1", "message 0"]);

    let newest = first["data"]["messages"][0]["id"].as_str().unwrap();
    let e = client
        .request(
            "m",
            json!({"action": "get_conversation_messages", "sessionId": session,
                   "before": cursor, "cursor": newest}),
        )
        .await;
    assert_eq!(e["error"]["code"], "VALIDATION_ERROR");
    assert_eq!(
        e["error"]["message"],
        "'cursor' and 'before' name different pages; send one of them"
    );
    let e = client
        .request(
            "m",
            json!({"action": "get_conversation_messages", "sessionId": session, "before": "garbage"}),
        )
        .await;
    assert_eq!(
        e["error"]["code"], "VALIDATION_ERROR",
        "never the newest page again"
    );
}
