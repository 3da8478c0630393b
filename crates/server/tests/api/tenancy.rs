//! Tenancy over real WebSockets with real tokens: ownership is the pair
//! (organisation, user), and a conversation's owner is fixed at its creation.

use super::approval::park;
use super::auth::{AGENT, assert_stranger, code, connect, jwt_config, token};
use super::tool_endpoint::ToolEndpoint;
use serde_json::{Value, json};
use std::time::Duration;
use switchboard_core::{ConversationId, Direction};
use switchboard_server::Config;
use switchboard_testkit::mock_gateway::{MockGateway, ScriptedReply};
use switchboard_testkit::{TestApp, TestClient, config_for, spawn_app_with, spawn_app_with_agent};

/// An agent whose widget, open to every page, puts its conversations in `acme`.
const ACME_WIDGET: &str = "acacacac-0000-4000-8000-000000000001";
const INTAKE: &str =
    r#"{"fields": [{"key": "email", "required": true}], "reason": "to send you the quote"}"#;

/// A server with JWT auth, a gated `delete_record` tool and `ACME_WIDGET`.
async fn app(gateway: &MockGateway, endpoint: &ToolEndpoint) -> TestApp {
    spawn_app_with_agent(
        jwt_config(config_for(gateway)),
        json!({
            "tools": [{"name": "delete_record", "description": "Delete a record", "url": endpoint.url,
                       "parameters": {"type": "object", "properties": {"id": {"type": "string"}}}}],
            "confirmTools": ["delete_*"],
            "agents": [{"id": ACME_WIDGET,
                        "widget": {"allowedOrigins": ["*"], "organizationId": "acme"}}]
        }),
    )
    .await
}

fn list() -> Value {
    json!({"action": "list_conversations"})
}

fn resume(agent: &str, conversation: &str) -> Value {
    json!({"action": "create_conversation_session", "agentId": agent,
           "conversationId": conversation})
}

#[tokio::test]
async fn the_same_sub_in_another_organisation_is_a_stranger() {
    let endpoint = ToolEndpoint::start(200, "Record 42 deleted.", Duration::ZERO).await;
    let gateway = MockGateway::start(vec![
        ScriptedReply::ToolCall {
            name: "delete_record".into(),
            arguments: r#"{"id": "42"}"#.into(),
        },
        ScriptedReply::Text("Done.".into()),
    ])
    .await;
    let app = app(&gateway, &endpoint).await;
    let acme_alice = token("alice", "acme", &[], false);
    let mut alice = connect(&app, Some(&acme_alice)).await;
    let (session, conversation) = alice.create_session().await;
    // Her turn waits for her approval of a tool call.
    park(&mut alice, &session).await;

    let globex_alice = token("alice", "globex", &[], false);
    let mut stranger = connect(&app, Some(&globex_alice)).await;
    assert_stranger(&mut stranger, &session, &conversation, "globex/alice").await;

    // Through a widget that puts its conversations in acme, she is still nobody
    // there: her sidebar lists only what her connection opened.
    let mut widget = TestClient::connect_with_origin(
        &format!("{}?token={globex_alice}", app.ws_url()),
        "https://any.example",
    )
    .await;
    let ack = widget
        .request(
            "w",
            json!({"action": "create_conversation_session", "agentId": ACME_WIDGET}),
        )
        .await;
    assert_eq!(ack["status"], 200, "{ack}");
    let listed = widget.request("l", list()).await;
    assert!(
        !listed.to_string().contains(&conversation),
        "acme/alice's conversation listed to globex/alice: {listed}"
    );
    assert_stranger(&mut widget, &session, &conversation, "globex/alice in acme").await;

    // Nothing ran; acme/alice still lists, reads and approves her own.
    assert!(endpoint.calls().is_empty());
    let mut again = connect(&app, Some(&acme_alice)).await;
    let listed = again.request("l", list()).await;
    assert_eq!(
        listed["data"]["conversations"][0]["conversationId"],
        json!(conversation)
    );
    alice
        .send(json!({"action": "confirm_tool_action", "requestId": "c1",
                     "sessionId": session, "approved": true}))
        .await;
    let events = alice.until_terminal("r1").await;
    assert_eq!(events[0]["message"], "Tool action approved", "{events:?}");
    assert_eq!(endpoint.calls(), [json!({"id": "42"})]);
}

#[tokio::test]
async fn the_same_sub_in_another_organisation_cannot_answer_her_interaction() {
    let gateway = MockGateway::start(vec![
        ScriptedReply::ToolCall {
            name: "request_identity_intake".into(),
            arguments: INTAKE.into(),
        },
        ScriptedReply::Text("Thanks!".into()),
    ])
    .await;
    let app = spawn_app_with(jwt_config(config_for(&gateway))).await;
    let mut alice = connect(&app, Some(&token("alice", "acme", &[], false))).await;
    let (session, conversation) = alice
        .create_session_with(json!({"supports": ["identity_form"]}))
        .await;
    alice
        .send(
            json!({"action": "send_message", "requestId": "r1", "sessionId": session,
                     "message": "quote please"}),
        )
        .await;
    let events = alice.until("stream_chunk").await;
    let interaction = events
        .iter()
        .find(|e| e["type"] == "interaction_required")
        .expect("asked")["data"]["data"]["interactionId"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut stranger = connect(&app, Some(&token("alice", "globex", &[], false))).await;
    let submit = |session: &str| {
        json!({"action": "submit_interaction", "sessionId": session,
               "interactionId": interaction, "values": {"email": "mallory@example.test"}})
    };
    let theirs = stranger.request("s", submit(&session)).await;
    let unknown = stranger
        .request("s", submit("00000000-0000-4000-8000-000000000000"))
        .await;
    assert_eq!(code(&theirs), "NO_PENDING_INTERACTION", "{theirs}");
    assert_eq!(code(&theirs), code(&unknown));
    assert_stranger(&mut stranger, &session, &conversation, "globex/alice").await;

    // Her interaction is still waiting for her.
    alice
        .send(
            json!({"action": "submit_interaction", "requestId": "s1", "sessionId": session,
                     "interactionId": interaction, "values": {"email": "alice@example.test"}}),
        )
        .await;
    let events = alice.until_terminal("r1").await;
    assert_eq!(events[0]["message"], "Interaction submitted", "{events:?}");
}

#[tokio::test]
async fn an_anonymous_creator_keeps_access_after_a_verified_user_resumes() {
    let app = spawn_app_with(jwt_config(Config::for_tests())).await;
    let mut visitor = app.client().await;
    let (session, conversation) = visitor.create_session().await;
    app.store_message(&session, Direction::Inbound, "where is my parcel")
        .await;
    let sidebar_before = visitor.request("l", list()).await["data"].clone();

    // A verified user who holds the id joins the conversation, as anonymous.
    let mut bob = connect(&app, Some(&token("bob", "acme", &[], false))).await;
    let joined = bob.request("c", resume(AGENT, &conversation)).await;
    assert_eq!(joined["data"]["conversationId"], json!(conversation));

    // Its creator, on their connection and on a new one, keeps it all.
    let mut later = app.client().await;
    for client in [&mut visitor, &mut later] {
        let got = client
            .request("g", json!({"action": "get_session", "sessionId": session}))
            .await;
        assert_eq!(got["data"]["conversationId"], json!(conversation), "{got}");
        let page = client
            .request(
                "m",
                json!({"action": "get_conversation_messages", "sessionId": session}),
            )
            .await;
        assert_eq!(
            page["data"]["messages"][0]["content"]["text"],
            "where is my parcel"
        );
        let again = client.request("c", resume(AGENT, &conversation)).await;
        assert_eq!(again["data"]["conversationId"], json!(conversation));
    }
    assert_eq!(
        visitor.request("l", list()).await["data"],
        sidebar_before,
        "the creator's sidebar is unchanged"
    );

    // Joining never made Bob an owner: no participant carries an identity.
    let id = ConversationId::parse(&conversation).unwrap();
    let participants = app.state.store().list_participants(id).await.unwrap();
    assert_eq!(participants.len(), 3, "the visitor, the agent and Bob");
    assert!(participants.iter().all(|p| p.external_id.is_none()));
}
