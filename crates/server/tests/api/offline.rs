//! With no gateway configured, the offline responder answers from the knowledge base.

use serde_json::json;
use switchboard_testkit::events::{reply, terminal, tokens};
use switchboard_testkit::{spawn_app, spawn_app_with};

#[tokio::test]
async fn the_seeded_knowledge_base_answers_the_return_window_question() {
    let mut config = switchboard_server::Config::for_tests();
    config.seed_kb = true;
    let app = spawn_app_with(config).await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    let events = client
        .turn("r1", &session, "How long is the return window?")
        .await;
    let answer = reply(&events);
    assert!(answer.contains("17 days"), "{answer}");
    assert!(answer.contains("policies/returns.md"), "{answer}");
    assert_eq!(tokens(&events), answer, "streamed like any turn");
    assert!(
        events
            .iter()
            .filter(|e| e["type"] == "stream_token")
            .count()
            > 3
    );
    let data = &terminal(&events)["data"]["data"];
    assert_eq!(data["citations"][0]["id"], "policies/returns.md");
    assert_eq!(data["citations"][0]["title"], "policies/returns.md");
    assert!(data.get("usage").is_none(), "no model, no usage");
}

#[tokio::test]
async fn says_plainly_when_nothing_is_known() {
    let app = spawn_app().await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    let events = client
        .turn("r1", &session, "What is the capital of Mongolia?")
        .await;
    let answer = reply(&events);
    assert!(answer.contains("couldn't find anything"), "{answer}");
    assert!(terminal(&events)["data"]["data"].get("citations").is_none());
    // The exchange is stored like any other.
    let page = client
        .request(
            "m",
            json!({"action": "get_conversation_messages", "sessionId": session}),
        )
        .await;
    assert_eq!(page["data"]["messages"].as_array().unwrap().len(), 2);
}
