//! `create_conversation_session` and `get_session`.

use serde_json::json;
use switchboard_testkit::spawn_app;

const AGENT: &str = "11111111-1111-1111-1111-111111111111";

#[tokio::test]
async fn create_requires_an_agent_and_creates_nothing_without_one() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    for frame in [
        json!({"action": "create_conversation_session"}),
        json!({"action": "create_conversation_session", "agentId": "   "}),
    ] {
        let e = client.request("c", frame).await;
        assert_eq!(e["error"]["code"], "VALIDATION_ERROR");
        assert_eq!(e["error"]["message"], "missing 'agentId'");
    }
}

#[tokio::test]
async fn create_then_read_back() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    let ack = client
        .request(
            "c1",
            json!({"action": "create_conversation_session", "agentId": AGENT,
                   "userName": "Alice", "userEmail": "alice@example.com"}),
        )
        .await;
    assert_eq!(ack["status"], 200);
    assert_eq!(ack["message"], "Session created");
    let d = &ack["data"];
    let ids = [
        "sessionId",
        "conversationId",
        "userParticipantId",
        "agentParticipantId",
    ]
    .map(|k| d[k].as_str().unwrap().to_owned());
    let mut unique = ids.to_vec();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 4, "ids must be distinct: {d}");
    assert_eq!(d["agentId"], AGENT);
    assert_eq!(d["agentName"], "smooth-agent");

    // Read it back on another connection, as a reconnecting client would.
    let mut other = app.client().await;
    let got = other
        .request("g1", json!({"action": "get_session", "sessionId": ids[0]}))
        .await;
    assert_eq!(got["type"], "immediate_response");
    assert_eq!(got["message"], "Session");
    for key in [
        "sessionId",
        "conversationId",
        "userParticipantId",
        "agentParticipantId",
        "agentId",
    ] {
        assert_eq!(got["data"][key], d[key], "{key}");
    }
    assert_eq!(got["data"]["threadId"], d["conversationId"]);
    assert_eq!(got["data"]["status"], "active");

    // Two participants were stored: the user and the agent.
    let conversation = switchboard_core::ConversationId::parse(&ids[1]).unwrap();
    let participants = app
        .state
        .store()
        .list_participants(conversation)
        .await
        .unwrap();
    assert_eq!(participants.len(), 2);
    assert_eq!(participants[0].email.as_deref(), Some("alice@example.com"));
    assert_eq!(participants[0].name, "Alice");
}

#[tokio::test]
async fn unknown_or_malformed_session_ids_are_not_found() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    for id in ["00000000-0000-0000-0000-000000000000", "not-a-uuid"] {
        let e = client
            .request("g", json!({"action": "get_session", "sessionId": id}))
            .await;
        assert_eq!(e["error"]["code"], "SESSION_NOT_FOUND");
        assert_eq!(e["error"]["message"], format!("session '{id}' not found"));
        assert_eq!(e["requestId"], "g");
    }
    let e = client.request("g", json!({"action": "get_session"})).await;
    assert_eq!(e["error"]["message"], "missing 'sessionId'");
}

#[tokio::test]
async fn resume_binds_to_the_same_conversation_and_inherits_supports() {
    let app = spawn_app().await;
    let mut first = app.client().await;
    let (_, conversation) = first
        .create_session_with(json!({"supports": ["identity_form"], "userEmail": "a@example.com"}))
        .await;

    let mut second = app.client().await;
    let ack = second
        .request(
            "c2",
            json!({"action": "create_conversation_session", "agentId": AGENT,
                   "conversationId": conversation, "userEmail": "a@example.com"}),
        )
        .await;
    assert_eq!(ack["data"]["conversationId"], conversation.as_str());
    let session =
        switchboard_core::SessionId::parse(ack["data"]["sessionId"].as_str().unwrap()).unwrap();
    let stored = app
        .state
        .store()
        .get_session(session)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.supports,
        vec!["identity_form".to_owned()],
        "omitted supports are inherited"
    );

    // The same person reconnecting reuses the participants instead of adding a pair.
    let id = switchboard_core::ConversationId::parse(&conversation).unwrap();
    assert_eq!(
        app.state.store().list_participants(id).await.unwrap().len(),
        2
    );

    // An explicit [] opts out and is remembered on the conversation.
    let ack = second
        .request(
            "c3",
            json!({"action": "create_conversation_session", "agentId": AGENT,
                   "conversationId": conversation, "supports": []}),
        )
        .await;
    let session =
        switchboard_core::SessionId::parse(ack["data"]["sessionId"].as_str().unwrap()).unwrap();
    assert!(
        app.state
            .store()
            .get_session(session)
            .await
            .unwrap()
            .unwrap()
            .supports
            .is_empty()
    );
    let stored = app
        .state
        .store()
        .get_conversation(id)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.client_supports().is_empty());
}

#[tokio::test]
async fn resuming_an_unknown_conversation_starts_a_new_one() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    let unknown = "22222222-2222-2222-2222-222222222222";
    let ack = client
        .request(
            "c",
            json!({"action": "create_conversation_session", "agentId": AGENT, "conversationId": unknown}),
        )
        .await;
    assert_eq!(ack["status"], 200);
    assert_ne!(ack["data"]["conversationId"], unknown);
}
