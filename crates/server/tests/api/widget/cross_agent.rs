//! A conversation belongs to its agent: another agent's widget policy is no way in.

use super::{OPEN, SHOP, code, create, from};
use serde_json::json;
use switchboard_core::Direction;
use switchboard_server::Config;
use switchboard_testkit::spawn_app_with_agent;

#[tokio::test]
async fn an_agent_open_to_every_page_cannot_open_a_restricted_agents_conversation() {
    let app = spawn_app_with_agent(
        Config::for_tests(),
        json!({"agents": [
            {"id": SHOP, "widget": {"allowedOrigins": ["https://shop.example"]}},
            {"id": OPEN, "widget": {"allowedOrigins": ["*"]}}
        ]}),
    )
    .await;
    let mut shop = from(&app, "https://shop.example").await;
    let ack = shop.request("c1", create(SHOP)).await;
    let session = ack["data"]["sessionId"].as_str().unwrap().to_owned();
    let conversation = ack["data"]["conversationId"].as_str().unwrap().to_owned();
    app.store_message(&session, Direction::Inbound, "my address is ...")
        .await;
    let resume = |agent: &str| {
        let mut frame = create(agent);
        frame["conversationId"] = json!(conversation);
        frame
    };

    // From a page only the open agent admits, its id starts a new conversation.
    let mut evil = from(&app, "https://evil.example").await;
    let ack = evil.request("c2", resume(OPEN)).await;
    assert_eq!(ack["status"], 200, "{ack}");
    assert_ne!(ack["data"]["conversationId"], json!(conversation));
    // And the shop's session reads there like an unknown one.
    for (action, extra) in [
        ("get_session", json!({})),
        ("get_conversation_messages", json!({})),
        ("send_message", json!({"message": "hi"})),
    ] {
        let mut frame = json!({"action": action, "sessionId": session});
        frame
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let e = evil.request("r", frame).await;
        assert_eq!(code(&e), "SESSION_NOT_FOUND", "{action}: {e}");
    }
    let renamed = evil
        .request(
            "n",
            json!({"action": "rename_conversation", "conversationId": conversation,
                   "title": "mine"}),
        )
        .await;
    assert_eq!(code(&renamed), "CONVERSATION_NOT_FOUND", "{renamed}");

    // Even on the shop's own page, another agent's id does not resume it; its own
    // agent's does.
    let other = shop.request("c3", resume(OPEN)).await;
    assert_ne!(other["data"]["conversationId"], json!(conversation));
    let own = shop.request("c4", resume(SHOP)).await;
    assert_eq!(own["data"]["conversationId"], json!(conversation));
}
