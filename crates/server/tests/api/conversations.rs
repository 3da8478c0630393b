//! `list_conversations` and `rename_conversation`.

use serde_json::json;
use switchboard_core::Direction;
use switchboard_testkit::{TestApp, spawn_app};

async fn say(app: &TestApp, session_id: &str, text: &str) {
    app.store_message(session_id, Direction::Inbound, text)
        .await;
}

#[tokio::test]
async fn list_shows_this_callers_conversations_with_messages() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    let (empty_session, _) = client.create_session().await;
    let (s1, c1) = client.create_session().await;
    let (s2, c2) = client.create_session().await;
    say(&app, &s1, "where is my order?").await;
    say(&app, &s2, &"a very long question ".repeat(10)).await;
    let _ = empty_session;

    // Someone else's conversation never shows up.
    let mut stranger = app.client().await;
    let (s3, _) = stranger.create_session().await;
    say(&app, &s3, "stranger's secret").await;

    let list = client
        .request("l", json!({"action": "list_conversations"}))
        .await;
    assert_eq!(list["message"], "Conversations");
    let rows = list["data"]["conversations"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{list}");
    assert_eq!(rows[0]["conversationId"], c2.as_str(), "most recent first");
    assert_eq!(rows[1]["conversationId"], c1.as_str());
    assert_eq!(rows[1]["title"], "where is my order?");
    assert_eq!(rows[1]["messageCount"], 1);
    assert!(rows[0]["title"].as_str().unwrap().ends_with('…'));
    assert_eq!(rows[0]["title"].as_str().unwrap().chars().count(), 61);

    let one = client
        .request("l", json!({"action": "list_conversations", "limit": 1}))
        .await;
    assert_eq!(one["data"]["conversations"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn rename_sanitizes_and_moves_the_conversation_to_the_top() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    let (s1, c1) = client.create_session().await;
    let (s2, _) = client.create_session().await;
    say(&app, &s1, "first").await;
    say(&app, &s2, "second").await;

    let ack = client
        .request("n", json!({"action": "rename_conversation", "conversationId": c1, "title": "  **Billing**  "}))
        .await;
    assert_eq!(ack["message"], "Conversation renamed");
    assert_eq!(
        ack["data"],
        json!({"conversationId": c1, "title": "Billing"})
    );

    let list = client
        .request("l", json!({"action": "list_conversations"}))
        .await;
    let first = &list["data"]["conversations"][0];
    assert_eq!(first["conversationId"], c1.as_str());
    assert_eq!(first["title"], "Billing");
}

#[tokio::test]
async fn rename_errors() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    let (_, c1) = client.create_session().await;
    let cases = [
        (
            json!({"title": "x"}),
            "VALIDATION_ERROR",
            "rename_conversation requires a 'conversationId'",
        ),
        (
            json!({"conversationId": c1, "title": " ** "}),
            "VALIDATION_ERROR",
            "rename_conversation requires a non-empty 'title'",
        ),
        (
            json!({"conversationId": "33333333-3333-3333-3333-333333333333", "title": "x"}),
            "CONVERSATION_NOT_FOUND",
            "conversation '33333333-3333-3333-3333-333333333333' not found",
        ),
    ];
    for (mut frame, code, message) in cases {
        frame["action"] = json!("rename_conversation");
        let e = client.request("n", frame).await;
        assert_eq!(e["error"]["code"], code);
        assert_eq!(e["error"]["message"], message);
    }
}
