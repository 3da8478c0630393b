//! Who is asking: `?token=` on the WebSocket, per-user scoping of sessions and
//! conversations, and what a verified user's groups let a turn see.

use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::{Value, json};
use switchboard_server::Config;
use switchboard_server::config::{AuthConfig, JwtKey};
use switchboard_testkit::events::terminal;
use switchboard_testkit::mock_gateway::{MockGateway, ScriptedReply};
use switchboard_testkit::{TestApp, TestClient, config_for, spawn_app_with, spawn_app_with_agent};

const SECRET: &str = "s3cret-for-tests";
pub(super) const AGENT: &str = "11111111-1111-1111-1111-111111111111";

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

pub(super) fn jwt_config(mut config: Config) -> Config {
    config.auth = AuthConfig::Jwt {
        key: JwtKey::Hs256(SECRET.to_owned().into()),
        issuer: None,
        audience: None,
    };
    config
}

/// A signed token for `sub` in `org`, valid for ten minutes (or expired).
pub(super) fn token(sub: &str, org: &str, groups: &[&str], expired: bool) -> String {
    let exp = if expired { now() - 3600 } else { now() + 600 };
    let claims = json!({"sub": sub, "org": org, "role": "basic", "exp": exp,
                        "groups": groups, "email": format!("{sub}@example.test")});
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

pub(super) async fn connect(app: &TestApp, token: Option<&str>) -> TestClient {
    match token {
        Some(token) => TestClient::connect(&format!("{}?token={token}", app.ws_url())).await,
        None => app.client().await,
    }
}

pub(super) fn code(event: &Value) -> &str {
    event["error"]["code"].as_str().unwrap_or("<not an error>")
}

/// Every action on `session` and `conversation` behaves for `other` exactly as on
/// an unknown id: the same error, the same message; a resume by id starts a new
/// conversation, and the sidebar does not list it.
pub(super) async fn assert_stranger(
    other: &mut TestClient,
    session: &str,
    conversation: &str,
    who: &str,
) {
    let unknown_session = "00000000-0000-4000-8000-000000000000";
    for (action, extra) in [
        ("get_session", json!({})),
        ("get_conversation_messages", json!({})),
        ("send_message", json!({"message": "hi"})),
        ("confirm_tool_action", json!({"approved": true})),
        (
            "submit_interaction",
            json!({"interactionId": "i1", "kind": "choices", "values": {"selected": ["a"]}}),
        ),
        ("verify_otp", json!({"code": "123456"})),
    ] {
        let mut frame = json!({"action": action, "sessionId": session});
        frame
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let theirs = other.request("r", frame.clone()).await;
        frame["sessionId"] = json!(unknown_session);
        let unknown = other.request("r", frame).await;
        assert_eq!(theirs["type"], "error", "{action} by {who}: {theirs}");
        assert_eq!(code(&theirs), code(&unknown), "{action} by {who}");
        assert_eq!(
            theirs["error"]["message"]
                .as_str()
                .map(|m| m.replace(session, "")),
            unknown["error"]["message"]
                .as_str()
                .map(|m| m.replace(unknown_session, "")),
            "{action}: a denial reads like an unknown id"
        );
    }
    let renamed = other
        .request(
            "n",
            json!({"action": "rename_conversation", "conversationId": conversation,
                   "title": "mine now"}),
        )
        .await;
    assert_eq!(code(&renamed), "CONVERSATION_NOT_FOUND", "{who}");

    // Resuming by conversation id starts a new conversation instead.
    let resumed = other
        .request(
            "c",
            json!({"action": "create_conversation_session", "agentId": AGENT,
                   "conversationId": conversation}),
        )
        .await;
    assert_eq!(resumed["status"], 200, "{who}: {resumed}");
    assert_ne!(
        resumed["data"]["conversationId"],
        json!(conversation),
        "{who}"
    );
    let list = other
        .request("l", json!({"action": "list_conversations"}))
        .await;
    assert!(
        !list.to_string().contains(conversation),
        "listed to {who}: {list}"
    );
}

#[tokio::test]
async fn another_users_session_behaves_as_if_it_did_not_exist() {
    let app = spawn_app_with(jwt_config(Config::for_tests())).await;
    let alice = token("alice", "acme", &[], false);
    let mut a = connect(&app, Some(&alice)).await;
    let (session, conversation) = a.create_session().await;
    app.store_message(
        &session,
        switchboard_core::Direction::Inbound,
        "my order is late",
    )
    .await;

    // Bob (same organisation), an anonymous caller, a caller with an expired or forged
    // token: to each, Alice's session is exactly an unknown one.
    let bob = token("bob", "acme", &[], false);
    let expired = token("alice", "acme", &[], true);
    let forged = {
        let mut t = alice.clone();
        t.pop();
        t.push(if alice.ends_with('A') { 'B' } else { 'A' });
        t
    };
    for who in [Some(bob.as_str()), None, Some(&expired), Some(&forged)] {
        let mut other = connect(&app, who).await;
        assert_stranger(&mut other, &session, &conversation, &format!("{who:?}")).await;
    }

    // Alice herself, on another connection (another device), still has it all.
    let mut again = connect(&app, Some(&alice)).await;
    let got = again
        .request("g", json!({"action": "get_session", "sessionId": session}))
        .await;
    assert_eq!(got["data"]["conversationId"], json!(conversation));
    let page = again
        .request(
            "m",
            json!({"action": "get_conversation_messages", "sessionId": session}),
        )
        .await;
    assert_eq!(
        page["data"]["messages"][0]["content"]["text"],
        "my order is late"
    );
    let list = again
        .request("l", json!({"action": "list_conversations"}))
        .await;
    assert_eq!(
        list["data"]["conversations"][0]["conversationId"],
        json!(conversation),
        "a verified user's sidebar lists their conversations from any connection"
    );
    let resumed = again
        .request(
            "c",
            json!({"action": "create_conversation_session", "agentId": AGENT,
                   "conversationId": conversation}),
        )
        .await;
    assert_eq!(resumed["data"]["conversationId"], json!(conversation));
}

#[tokio::test]
async fn a_verified_identity_sets_organisation_owner_and_email() {
    let app = spawn_app_with(jwt_config(Config::for_tests())).await;
    let mut client = connect(&app, Some(&token("carol", "globex", &[], false))).await;
    let (session, conversation) = client
        .create_session_with(json!({"userEmail": "someone-else@example.test"}))
        .await;
    let store = app.state.store();
    let session = store
        .get_session(switchboard_core::SessionId::parse(&session).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.org_id.as_str(), "globex");
    let participants = store
        .list_participants(switchboard_core::ConversationId::parse(&conversation).unwrap())
        .await
        .unwrap();
    let user = &participants[0];
    assert_eq!(user.external_id.as_deref(), Some("carol"));
    assert_eq!(
        user.email.as_deref(),
        Some("carol@example.test"),
        "the verified email wins over the one the client claims"
    );

    // A bad token is not refused: the connection is anonymous, in the default org.
    let mut anonymous = connect(&app, Some("not-a-jwt")).await;
    let pong = anonymous.request("p", json!({"action": "ping"})).await;
    assert_eq!(pong["type"], "pong");
    let (session, _) = anonymous.create_session().await;
    let session = store
        .get_session(switchboard_core::SessionId::parse(&session).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.org_id.as_str(), "reference-org");
}

#[tokio::test]
async fn auth_mode_none_makes_every_token_the_development_administrator() {
    let mut config = Config::for_tests();
    config.auth = AuthConfig::Open {
        dev_org: "dev-org".into(),
    };
    let app = spawn_app_with(config).await;
    let mut with_token = connect(&app, Some("anything")).await;
    let (session, _) = with_token.create_session().await;
    let session = app
        .state
        .store()
        .get_session(switchboard_core::SessionId::parse(&session).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.org_id.as_str(), "dev-org");
}

/// A group-restricted document reaches a turn of a user in that group, and only it.
#[tokio::test]
async fn a_users_groups_open_restricted_documents_to_their_turns_only() {
    const HIDDEN: &str = "staff may waive the restocking fee for VIP customers";
    let knowledge = json!({"knowledge": [
        {"source": "policies/returns.md", "content": "Returns are accepted within 30 days of delivery."},
        {"source": "internal/returns-exceptions.md",
         "content": format!("Return exceptions: {HIDDEN}."),
         "acl": {"visibility": "restricted", "groups": ["staff"]}}
    ]});
    let search = || ScriptedReply::ToolCall {
        name: "knowledge_search".into(),
        arguments: r#"{"query": "return exceptions restocking fee waive", "limit": 10}"#.into(),
    };
    let gateway = MockGateway::start(vec![
        search(),
        ScriptedReply::Text("done".into()),
        search(),
        ScriptedReply::Text("done".into()),
    ])
    .await;
    let app = spawn_app_with_agent(jwt_config(config_for(&gateway)), knowledge).await;
    let result_of = |events: &[Value]| {
        events
            .iter()
            .find_map(|e| {
                e["data"]["state"]["rawResponse"]["toolResult"]["result"]
                    .as_str()
                    .map(str::to_owned)
            })
            .expect("a tool result")
    };
    let question = "Are there return exceptions, like waiving the restocking fee?";

    let mut staff = connect(&app, Some(&token("dana", "acme", &["staff"], false))).await;
    let (session, _) = staff.create_session().await;
    let events = staff.turn("r1", &session, question).await;
    assert_eq!(terminal(&events)["type"], "eventual_response");
    assert!(result_of(&events).contains(HIDDEN), "staff see it");

    let mut visitor = connect(&app, Some(&token("erin", "acme", &["sales"], false))).await;
    let (session, _) = visitor.create_session().await;
    let events = visitor.turn("r2", &session, question).await;
    assert!(!result_of(&events).contains(HIDDEN), "others do not");
    assert!(!serde_json::to_string(&events).unwrap().contains(HIDDEN));
}
