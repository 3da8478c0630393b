//! `GET /admin/conversations` and its messages: organisation scoping, ownership for
//! basic users, pages.

use crate::admin::{Admin, token};
use serde_json::Value;
use switchboard_core::Direction;

/// Opens a conversation over the WebSocket as `sub` (a basic user of `org`) and
/// says `text` in it; returns the conversation id.
async fn conversation_of(admin: &Admin, sub: &str, org: &str, text: &str) -> String {
    let mut client = admin.ws(&token(sub, org, "basic")).await;
    let (session, conversation) = client.create_session().await;
    admin
        .app
        .store_message(&session, Direction::Inbound, text)
        .await;
    conversation
}

fn ids(reply: &Value) -> Vec<&str> {
    reply["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn organisations_see_their_own_and_basic_users_only_theirs() {
    let admin = Admin::start().await;
    let alice = conversation_of(&admin, "alice", "acme", "my order is late").await;
    let bob = conversation_of(&admin, "bob", "acme", "where is my invoice").await;
    let carol = conversation_of(&admin, "carol", "globex", "globex secret plans").await;

    for role in ["admin", "curator"] {
        let reply = admin
            .get("/admin/conversations", Some(&token("boss", "acme", role)))
            .await;
        assert_eq!(reply.status, 200);
        assert_eq!(ids(&reply.body), [bob.as_str(), alice.as_str()], "{role}");
        assert_eq!(reply.body["nextCursor"], Value::Null);
        assert_eq!(reply.body["conversations"][0]["platform"], "web");
    }
    let alices = admin
        .get(
            "/admin/conversations",
            Some(&token("alice", "acme", "basic")),
        )
        .await;
    assert_eq!(
        ids(&alices.body),
        [alice.as_str()],
        "a basic user sees their own"
    );
    let strangers = admin
        .get(
            "/admin/conversations",
            Some(&token("erin", "acme", "basic")),
        )
        .await;
    assert!(ids(&strangers.body).is_empty());
    let globex = admin
        .get(
            "/admin/conversations",
            Some(&token("boss", "globex", "admin")),
        )
        .await;
    assert_eq!(ids(&globex.body), [carol.as_str()]);

    // Messages: the owner and the organisation's staff read them...
    for reader in [
        token("alice", "acme", "basic"),
        token("boss", "acme", "curator"),
    ] {
        let page = admin
            .get(
                &format!("/admin/conversations/{alice}/messages"),
                Some(&reader),
            )
            .await;
        assert_eq!(page.status, 200);
        assert_eq!(page.body["conversationId"], alice.as_str());
        assert_eq!(
            page.body["messages"][0]["content"]["text"],
            "my order is late"
        );
        assert_eq!(page.body["messages"][0]["direction"], "inbound");
    }
    // ...nobody else, and a denial reads exactly like an unknown id.
    let unknown = "00000000-0000-4000-8000-000000000000";
    for (reader, id) in [
        (token("bob", "acme", "basic"), alice.as_str()),
        (token("boss", "globex", "admin"), alice.as_str()),
        (token("boss", "acme", "admin"), carol.as_str()),
        (token("boss", "acme", "admin"), unknown),
        (token("boss", "acme", "admin"), "not-a-uuid"),
    ] {
        let reply = admin
            .get(
                &format!("/admin/conversations/{id}/messages"),
                Some(&reader),
            )
            .await;
        assert_eq!((reply.status, reply.code()), (404, "NOT_FOUND"), "{id}");
        assert_eq!(reply.message(), format!("conversation '{id}' not found"));
        assert!(!reply.body.to_string().contains("secret plans"));
    }
}

#[tokio::test]
async fn conversations_and_messages_come_in_pages() {
    let admin = Admin::start().await;
    let mut made = Vec::new();
    for i in 0..3 {
        made.push(conversation_of(&admin, &format!("user-{i}"), "acme", "hello").await);
    }
    let boss = token("boss", "acme", "admin");
    let first = admin.get("/admin/conversations?limit=2", Some(&boss)).await;
    assert_eq!(ids(&first.body), [made[2].as_str(), made[1].as_str()]);
    let cursor = first.body["nextCursor"].as_str().expect("a next page");
    let second = admin
        .get(
            &format!("/admin/conversations?limit=2&cursor={cursor}"),
            Some(&boss),
        )
        .await;
    assert_eq!(ids(&second.body), [made[0].as_str()]);
    assert_eq!(second.body["nextCursor"], Value::Null);
    // A limit of 0 is clamped to 1.
    let one = admin.get("/admin/conversations?limit=0", Some(&boss)).await;
    assert_eq!(ids(&one.body).len(), 1);

    for bad in ["limit=abc", "limit=-1", "cursor=bogus"] {
        let reply = admin
            .get(&format!("/admin/conversations?{bad}"), Some(&boss))
            .await;
        assert_eq!(
            (reply.status, reply.code()),
            (400, "VALIDATION_ERROR"),
            "{bad}"
        );
    }

    // Messages, oldest first.
    let mut client = admin.ws(&token("dana", "acme", "basic")).await;
    let (session, conversation) = client.create_session().await;
    for text in ["one", "two", "three"] {
        admin
            .app
            .store_message(&session, Direction::Inbound, text)
            .await;
    }
    let path = format!("/admin/conversations/{conversation}/messages");
    let first = admin.get(&format!("{path}?limit=2"), Some(&boss)).await;
    let texts = |reply: &Value| -> Vec<String> {
        reply["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["content"]["text"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(texts(&first.body), ["one", "two"]);
    let cursor = first.body["nextCursor"].as_str().unwrap();
    let rest = admin
        .get(&format!("{path}?limit=2&cursor={cursor}"), Some(&boss))
        .await;
    assert_eq!(texts(&rest.body), ["three"]);
    assert_eq!(rest.body["nextCursor"], Value::Null);
    let foreign_cursor = admin
        .get(
            &format!("{path}?cursor=00000000-0000-4000-8000-000000000000"),
            Some(&boss),
        )
        .await;
    assert_eq!(foreign_cursor.code(), "VALIDATION_ERROR");
}
