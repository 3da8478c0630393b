//! Rich Interactions over the WebSocket, beyond the conformance scenarios.

use serde_json::{Value, json};
use std::time::Duration;
use switchboard_core::SessionId;
use switchboard_testkit::events::{reply, types};
use switchboard_testkit::mock_gateway::{MockGateway, ScriptedReply};
use switchboard_testkit::{TestApp, TestClient, config_for, spawn_app_with};

const INTAKE: &str = r#"{"fields": [{"key": "name", "required": false}, {"key": "email", "required": true}, {"key": "phone", "required": false}], "reason": "to send you the quote"}"#;

async fn app(after: &str) -> (MockGateway, TestApp) {
    let gateway = MockGateway::start(vec![
        ScriptedReply::ToolCall {
            name: "request_identity_intake".into(),
            arguments: INTAKE.into(),
        },
        ScriptedReply::Text(after.into()),
    ])
    .await;
    let app = spawn_app_with(config_for(&gateway)).await;
    (gateway, app)
}

/// Opens a session that renders identity cards and parks a turn on one.
async fn parked(app: &TestApp) -> (TestClient, String, String) {
    let mut client = app.client().await;
    let (session, _) = client
        .create_session_with(json!({"supports": ["identity_form"]}))
        .await;
    client
        .send(json!({"action": "send_message", "requestId": "r1", "sessionId": session, "message": "quote please"}))
        .await;
    let events = client.until("stream_chunk").await;
    let required = events
        .iter()
        .find(|e| e["type"] == "interaction_required")
        .expect("asked");
    let id = required["data"]["data"]["interactionId"]
        .as_str()
        .unwrap()
        .to_owned();
    (client, session, id)
}

fn submit(session: &str, id: &str, extra: Value) -> Value {
    let mut frame = json!({"action": "submit_interaction", "requestId": "s", "sessionId": session, "interactionId": id});
    frame
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    frame
}

async fn metadata(app: &TestApp, session: &str) -> serde_json::Map<String, Value> {
    let id = SessionId::parse(session).unwrap();
    app.state
        .store()
        .get_session(id)
        .await
        .unwrap()
        .unwrap()
        .metadata
}

#[tokio::test]
async fn valid_identity_values_are_canonical_and_become_the_sessions_contact() {
    let (gateway, app) = app("Thanks!").await;
    let (mut client, session, id) = parked(&app).await;
    client
        .send(submit(&session, &id, json!({"values": {"name": " Alice ", "email": "Alice@EXAMPLE.com", "phone": "(201) 555-0123"}})))
        .await;
    let events = client.until_terminal("r1").await;
    let ack = &events[0];
    assert_eq!(ack["message"], "Interaction submitted");
    assert_eq!(ack["data"]["kind"], "identity_intake");
    assert_eq!(
        ack["data"]["values"],
        json!({"name": "Alice", "email": "Alice@example.com", "phone": "+12015550123"})
    );
    assert_eq!(reply(&events), "Thanks!");
    // The model got the canonical values.
    let told = serde_json::to_string(&gateway.requests()[1]).unwrap();
    assert!(told.contains("+12015550123") && told.contains("submitted"));
    // And the session now has them as its contact (stored).
    let metadata = metadata(&app, &session).await;
    assert_eq!(metadata["contactEmail"], "Alice@example.com");
    assert_eq!(metadata["contactPhone"], "+12015550123");
    assert_eq!(metadata["userName"], "Alice");
}

#[tokio::test]
async fn a_stale_id_or_wrong_kind_is_a_mismatch_and_the_turn_stays_parked() {
    let (_gateway, app) = app("Got it.").await;
    let (mut client, session, id) = parked(&app).await;
    let e = client
        .request(
            "s1",
            submit(
                &session,
                "00000000-0000-0000-0000-000000000001",
                json!({"values": {"email": "a@b.co"}}),
            ),
        )
        .await;
    assert_eq!(e["error"]["code"], "INTERACTION_MISMATCH");
    let e = client
        .request(
            "s2",
            submit(
                &session,
                &id,
                json!({"kind": "choices", "values": {"email": "a@b.co"}}),
            ),
        )
        .await;
    assert_eq!(e["error"]["code"], "INTERACTION_MISMATCH");
    assert_eq!(
        e["error"]["message"],
        "the pending interaction is 'identity_intake', not 'choices'"
    );
    let e = client.request("s3", submit(&session, &id, json!({}))).await;
    assert_eq!(e["error"]["code"], "VALIDATION_ERROR");
    // Still parked: the right answer resumes it.
    client
        .send(submit(
            &session,
            &id,
            json!({"values": {"email": "a@b.co"}}),
        ))
        .await;
    let events = client.until_terminal("r1").await;
    assert_eq!(reply(&events), "Got it.");
}

#[tokio::test]
async fn declining_resumes_without_values() {
    let (gateway, app) = app("No problem.").await;
    let (mut client, session, id) = parked(&app).await;
    client
        .send(submit(&session, &id, json!({"declined": true})))
        .await;
    let events = client.until_terminal("r1").await;
    assert_eq!(events[0]["message"], "Interaction declined");
    assert_eq!(events[0]["data"]["declined"], true);
    let result = &events[1]["data"]["state"]["rawResponse"]["toolResult"];
    assert_eq!(result["isError"], false);
    assert!(result["result"].as_str().unwrap().contains("declined"));
    assert_eq!(reply(&events), "No problem.");
    assert!(
        serde_json::to_string(&gateway.requests()[1])
            .unwrap()
            .contains("declined")
    );
    assert!(!metadata(&app, &session).await.contains_key("contactPhone"));
}

#[tokio::test]
async fn a_client_that_reconnects_can_submit_the_interaction() {
    let (_gateway, app) = app("Welcome back.").await;
    let (client, session, id) = parked(&app).await;
    client.close().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut again = app.client().await;
    again
        .send(json!({"action": "get_session", "requestId": "g", "sessionId": session}))
        .await;
    let events = again.until("interaction_required").await;
    assert_eq!(events[1]["data"]["data"]["interactionId"], id.as_str());
    again
        .send(submit(
            &session,
            &id,
            json!({"values": {"email": "bob@example.org"}}),
        ))
        .await;
    let events = again.until_terminal("r1").await;
    assert_eq!(types(&events)[..2], ["immediate_response", "stream_chunk"]);
    assert_eq!(reply(&events), "Welcome back.");
    assert_eq!(
        metadata(&app, &session).await["contactEmail"],
        "bob@example.org"
    );
}

#[tokio::test]
async fn the_conversational_fallback_validates_and_records_values_given_in_chat() {
    let gateway = MockGateway::start(vec![
        ScriptedReply::ToolCall {
            name: "request_identity_intake".into(),
            arguments: INTAKE.into(),
        },
        ScriptedReply::ToolCall {
            name: "submit_interaction".into(),
            arguments: r#"{"kind": "identity_intake", "values": {"email": "not-an-email"}}"#.into(),
        },
        ScriptedReply::ToolCall {
            name: "submit_interaction".into(),
            arguments: r#"{"kind": "identity_intake", "values": {"email": "carol@example.com"}}"#
                .into(),
        },
        ScriptedReply::Text("Thanks, Carol.".into()),
    ])
    .await;
    let app = spawn_app_with(config_for(&gateway)).await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    let events = client
        .turn("r1", &session, "my email is carol@example.com")
        .await;
    assert!(
        !types(&events).contains(&"interaction_required"),
        "no card for a text-only client"
    );
    let results: Vec<&Value> = events
        .iter()
        .filter_map(|e| e["data"]["state"]["rawResponse"].get("toolResult"))
        .collect();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["isError"], false);
    let told = serde_json::to_string(&gateway.requests()[1]["messages"]).unwrap();
    assert!(
        told.contains("conversational"),
        "the model is told to ask in chat"
    );
    assert_eq!(
        results[1]["isError"], true,
        "bad values are a tool error the model sees"
    );
    assert_eq!(results[2]["isError"], false);
    assert_eq!(reply(&events), "Thanks, Carol.");
    let offered: Vec<String> = gateway.requests()[0]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(offered.contains(&"submit_interaction".to_owned()));
    assert_eq!(
        metadata(&app, &session).await["contactEmail"],
        "carol@example.com"
    );
}
