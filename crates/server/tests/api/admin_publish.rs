//! `POST /admin/publish`: other services push events to connected clients, only
//! within the caller's organisation.

use crate::admin::{Admin, token};
use serde_json::{Value, json};
use std::time::Duration;

const AGENT: &str = "11111111-1111-1111-1111-111111111111";

/// A protocol event a service might push: a message typed by a human agent.
fn pushed(text: &str) -> Value {
    json!({"type": "stream_token", "requestId": "push-1",
           "data": {"requestId": "push-1", "token": text}})
}

#[tokio::test]
async fn events_reach_the_targets_sockets_in_the_callers_organisation_only() {
    let admin = Admin::start().await;
    let boss = token("root", "acme", "admin");
    let mut visitor = admin.ws(&token("vera", "acme", "basic")).await;
    let (session, _) = visitor.create_session().await;
    let mut bystander = admin.ws(&token("bob", "acme", "basic")).await;
    bystander.create_session().await;
    let mut foreigner = admin.ws(&token("fay", "globex", "basic")).await;
    let (foreign_session, _) = foreigner.create_session().await;

    // A session: its socket gets the event verbatim, nobody else does.
    let reply = admin
        .post(
            "/admin/publish",
            Some(&boss),
            json!({"target": {"type": "session", "id": session}, "event": pushed("Hi, Vera")}),
        )
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body, json!({"delivered": 1}));
    assert_eq!(visitor.next().await, pushed("Hi, Vera"));
    bystander.expect_silence(Duration::from_millis(200)).await;

    // An agent serves every organisation: only acme's visitors of it get acme's event.
    // Any spelling of its UUID names it.
    let reply = admin
        .post(
            "/admin/publish",
            Some(&boss),
            json!({"target": {"type": "AGENT", "id": AGENT.replace('-', "")}, "event": pushed("maintenance at 6pm")}),
        )
        .await;
    assert_eq!(reply.body, json!({"delivered": 2}));
    assert_eq!(visitor.next().await, pushed("maintenance at 6pm"));
    assert_eq!(bystander.next().await, pushed("maintenance at 6pm"));
    foreigner.expect_silence(Duration::from_millis(200)).await;

    // A user, on every socket they have.
    let reply = admin
        .post(
            "/admin/publish",
            Some(&boss),
            json!({"target": {"type": "user", "id": "bob"}, "event": pushed("for Bob")}),
        )
        .await;
    assert_eq!(reply.body, json!({"delivered": 1}));
    assert_eq!(bystander.next().await, pushed("for Bob"));

    // Another organisation's session or the organisation itself: unknown.
    for target in [
        json!({"type": "session", "id": foreign_session}),
        json!({"type": "org", "id": "globex"}),
        json!({"type": "session", "id": "not-a-session"}),
    ] {
        let reply = admin
            .post(
                "/admin/publish",
                Some(&boss),
                json!({"target": target, "event": pushed("x")}),
            )
            .await;
        assert_eq!((reply.status, reply.code()), (404, "NOT_FOUND"), "{target}");
    }
    foreigner.expect_silence(Duration::from_millis(200)).await;
}

#[tokio::test]
async fn bad_requests_are_refused_clearly() {
    let admin = Admin::start().await;
    let boss = token("root", "acme", "admin");
    for (body, needle) in [
        (
            json!({"target": {"type": "room", "id": "r"}, "event": {}}),
            "unknown target type 'room'",
        ),
        (
            json!({"target": {"type": "org", "id": " "}, "event": {}}),
            "must not be empty",
        ),
        (
            json!({"target": {"type": "org", "id": "acme"}, "event": "hello"}),
            "must be a JSON object",
        ),
        (json!({"target": {"type": "org"}, "event": {}}), "id"),
    ] {
        let reply = admin
            .post("/admin/publish", Some(&boss), body.clone())
            .await;
        assert_eq!(
            (reply.status, reply.code()),
            (400, "VALIDATION_ERROR"),
            "{body}"
        );
        assert!(reply.message().contains(needle), "{}", reply.message());
    }
    let huge = json!({"target": {"type": "org", "id": "acme"},
                      "event": {"type": "x", "blob": "a".repeat(300 * 1024)}});
    let reply = admin.post("/admin/publish", Some(&boss), huge).await;
    assert_eq!((reply.status, reply.code()), (413, "PAYLOAD_TOO_LARGE"));
    let curator = token("cora", "acme", "curator");
    let reply = admin
        .post(
            "/admin/publish",
            Some(&curator),
            json!({"target": {"type": "org", "id": "acme"}, "event": {}}),
        )
        .await;
    assert_eq!((reply.status, reply.code()), (403, "FORBIDDEN"));
    // Nobody connected: nothing delivered, not an error.
    let reply = admin
        .post(
            "/admin/publish",
            Some(&boss),
            json!({"target": {"type": "org", "id": "acme"}, "event": {"type": "x"}}),
        )
        .await;
    assert_eq!(reply.body, json!({"delivered": 0}));
}
