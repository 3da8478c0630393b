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

/// Every row of every page of `list_conversations` for `query`, following
/// `nextCursor` while `hasMore` says more remain.
async fn every_page(
    client: &mut switchboard_testkit::TestClient,
    limit: u32,
    query: &str,
) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..20 {
        let mut frame = json!({"action": "list_conversations", "limit": limit, "query": query});
        if let Some(cursor) = &cursor {
            frame["cursor"] = json!(cursor);
        }
        let ack = client.request("l", frame).await;
        assert_eq!(ack["message"], "Conversations", "{ack}");
        let data = &ack["data"];
        pages.push(
            data["conversations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["conversationId"].as_str().unwrap().to_owned())
                .collect(),
        );
        assert_eq!(data["hasMore"], data["nextCursor"].is_string(), "{data}");
        match data["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return pages,
        }
    }
    panic!("list_conversations kept answering hasMore");
}

#[tokio::test]
async fn limit_one_pages_through_every_conversation() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    let mut made = Vec::new();
    for text in ["first", "second", "third"] {
        let (session, conversation) = client.create_session().await;
        say(&app, &session, text).await;
        made.push(conversation);
    }
    made.reverse();
    let pages = every_page(&mut client, 1, "").await;
    assert_eq!(
        pages,
        made.iter().map(|c| vec![c.clone()]).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn query_finds_titles_and_first_messages_ignoring_case() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    let (s1, renamed) = client.create_session().await;
    say(&app, &s1, "hello").await;
    client
        .request("n", json!({"action": "rename_conversation", "conversationId": renamed, "title": "Billing question"}))
        .await;
    let (s2, asked) = client.create_session().await;
    say(&app, &s2, "My REFUND is late").await;
    say(&app, &s2, "billing, by the way").await;
    let (s3, _) = client.create_session().await;
    say(&app, &s3, "nothing to see").await;

    assert_eq!(
        every_page(&mut client, 50, "billing").await,
        [vec![renamed.clone()]]
    );
    assert_eq!(
        every_page(&mut client, 50, " Refund ").await,
        [vec![asked.clone()]]
    );
    assert_eq!(
        every_page(&mut client, 50, "%").await,
        [Vec::<String>::new()]
    );
    let all_e = every_page(&mut client, 1, "E").await.concat();
    assert_eq!(
        all_e.len(),
        3,
        "'hello', 'late', 'see' a page at a time: {all_e:?}"
    );

    // A search never widens what the caller may see.
    let mut stranger = app.client().await;
    assert_eq!(
        every_page(&mut stranger, 50, "billing").await,
        [Vec::<String>::new()]
    );
    let e = client
        .request(
            "l",
            json!({"action": "list_conversations", "query": "x".repeat(201)}),
        )
        .await;
    assert_eq!(e["error"]["code"], "VALIDATION_ERROR");
    assert_eq!(
        e["error"]["message"],
        "'query' is too long: a search is at most 200 characters"
    );
}

#[tokio::test]
async fn list_refuses_cursors_it_did_not_issue() {
    use base64::Engine;
    let app = spawn_app().await;
    let mut client = app.client().await;
    for text in ["one", "two"] {
        let (session, _) = client.create_session().await;
        say(&app, &session, text).await;
    }
    let first = client
        .request("l", json!({"action": "list_conversations", "limit": 1}))
        .await;
    let issued = first["data"]["nextCursor"].as_str().unwrap().to_owned();

    // Someone else's conversation as the position: another caller's cursor.
    let mut stranger = app.client().await;
    for text in ["mine", "also mine"] {
        let (session, _) = stranger.create_session().await;
        say(&app, &session, text).await;
    }
    let theirs = stranger
        .request("l", json!({"action": "list_conversations", "limit": 1}))
        .await["data"]["nextCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let random = engine.encode(format!(
        "2026-01-01T00:00:00.000000000Z|{}|",
        uuid::Uuid::new_v4()
    ));
    for (cursor, query, message) in [
        (
            "garbage".to_owned(),
            "",
            "'cursor' is not a cursor this server issued",
        ),
        (random, "", "'cursor' is not a cursor this server issued"),
        (theirs, "", "'cursor' is not a cursor this server issued"),
        (
            issued.clone(),
            "one",
            "'cursor' was issued for another 'query'; send the same 'query' to page on",
        ),
    ] {
        let e = client
            .request(
                "l",
                json!({"action": "list_conversations", "cursor": cursor, "query": query}),
            )
            .await;
        assert_eq!(e["type"], "error", "{cursor}: {e}");
        assert_eq!(e["error"]["code"], "VALIDATION_ERROR");
        assert_eq!(e["error"]["message"], message);
    }
    // The issued one still works, and an empty cursor is the first page.
    let second = client
        .request(
            "l",
            json!({"action": "list_conversations", "limit": 1, "cursor": issued}),
        )
        .await;
    assert_eq!(second["data"]["hasMore"], false);
    let again = client
        .request(
            "l",
            json!({"action": "list_conversations", "limit": 1, "cursor": ""}),
        )
        .await;
    assert_eq!(
        again["data"]["conversations"],
        first["data"]["conversations"]
    );
}
