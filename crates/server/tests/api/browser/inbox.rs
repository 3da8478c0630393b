//! The operator inbox and the chat page in two real browsers: a visitor asks for
//! a person on the chat page, an operator claims the conversation in the inbox and
//! answers, sees the visitor's next message live, and hands the conversation back
//! to the agent, which answers again.

use super::driver::{Browser, SHADOW};
use super::page_url;
use serde_json::json;
use switchboard_testkit::mock_gateway::{MockGateway, ScriptedReply};
use switchboard_testkit::{config_for, spawn_app_with_agent};

const AGENT: &str = "11111111-1111-1111-1111-111111111111";

/// What the inbox document shows, for waits.
fn inbox(expr: &str) -> String {
    format!("(() => {{ {expr} }})()")
}

#[tokio::test]
async fn an_operator_answers_a_visitor_from_the_inbox_and_hands_back() {
    let gateway = MockGateway::builder()
        .script(vec![ScriptedReply::Text(
            "The agent again: order 7 ships Monday.".into(),
        )])
        .side_reply("Order question")
        .start()
        .await;
    let app = spawn_app_with_agent(
        crate::admin::jwt_config(config_for(&gateway)),
        json!({"agents": [{"id": AGENT, "name": "Support", "handoff": {}}]}),
    )
    .await;
    // Chat page visitors are anonymous: their conversations are the default
    // organisation's, whose operator Olga is.
    let olga = crate::admin::signed(json!({
        "sub": "olga", "org": "reference-org", "role": "curator", "name": "Olga"
    }));

    let visitor = Browser::start(900, 800).await;
    visitor.goto(&page_url(&app)).await;
    visitor.ask("I want to talk to a human").await;
    visitor
        .wait(
            "the handoff notice",
            &format!(
                "{SHADOW}.querySelector('.log').textContent.includes('a person from our team')"
            ),
        )
        .await;
    visitor.screenshot("handoff-1-visitor-asks").await;

    let desk = Browser::start(1200, 800).await;
    desk.goto(&format!("http://{}/inbox", app.addr)).await;
    desk.js(
        "document.getElementById('token').value = arguments[0]; \
         document.getElementById('signin').requestSubmit();",
        json!([olga]),
    )
    .await;
    let queued = desk
        .wait(
            "the conversation in the queue",
            &inbox("const b = document.querySelector('#queue button[data-conversation]'); return b && b.textContent"),
        )
        .await;
    assert!(
        queued
            .as_str()
            .unwrap()
            .contains("The visitor asked for a person."),
        "{queued}"
    );
    desk.wait("the live stream", "document.body.dataset.live === 'true'")
        .await;
    desk.screenshot("handoff-2-inbox-queue").await;
    desk.js(
        "document.querySelector('#queue button[data-conversation]').click()",
        json!([]),
    )
    .await;
    desk.wait(
        "the visitor's message",
        &inbox("return document.getElementById('log').textContent.includes('I want to talk to a human')"),
    )
    .await;
    desk.js("document.getElementById('claim').click()", json!([]))
        .await;
    desk.wait(
        "the claimed conversation",
        &inbox("return !document.getElementById('send').disabled && document.getElementById('thread-title').textContent"),
    )
    .await;
    desk.wait(
        "the conversation among the live ones, no longer waiting",
        &inbox(
            "return document.getElementById('queue-count').textContent === '0' \
                && document.getElementById('live-count').textContent === '1' \
                && document.querySelector('#live button[data-conversation]')",
        ),
    )
    .await;
    desk.js(
        "document.getElementById('reply').value = 'Hi, Olga here. What can I do?'; \
         document.getElementById('compose').requestSubmit();",
        json!([]),
    )
    .await;

    // The visitor's page shows Olga's message, signed.
    let signed = visitor
        .wait(
            "the operator's message",
            &format!("(() => {{ const m = {SHADOW}.querySelector('.msg.agent.human'); return m && m.textContent; }})()"),
        )
        .await;
    let signed = signed.as_str().unwrap();
    assert!(signed.contains("Olga · team"), "{signed}");
    assert!(signed.contains("Hi, Olga here. What can I do?"), "{signed}");
    visitor.screenshot("handoff-3-visitor-hears-olga").await;

    // The visitor answers; the agent stays silent and the inbox shows it live.
    visitor.ask("Where is order 7?").await;
    visitor
        .wait(
            "the note that a person will answer",
            &format!("{SHADOW}.querySelector('.log').textContent.includes('A person from the team will answer here')"),
        )
        .await;
    desk.wait(
        "the visitor's new message, live",
        &inbox("return document.getElementById('log').textContent.includes('Where is order 7?')"),
    )
    .await;
    assert_eq!(gateway.streamed_requests(), 0, "the agent stayed silent");
    desk.screenshot("handoff-4-inbox-live").await;

    // Handed back: the agent answers the visitor's next message.
    desk.js("document.getElementById('handback').click()", json!([]))
        .await;
    desk.wait(
        "the handed-back conversation",
        &inbox("return document.getElementById('thread-title').textContent === 'Handed back to the agent'"),
    )
    .await;
    desk.wait(
        "the conversation back among the agent's, where an operator may step in again",
        &inbox(
            "return document.getElementById('live-count').textContent === '0' \
                && document.querySelector('#recent button[data-conversation]')",
        ),
    )
    .await;
    visitor.ask("Thanks, and when does it ship?").await;
    visitor
        .wait(
            "the agent's answer",
            &format!("{SHADOW}.querySelector('.log').textContent.includes('The agent again: order 7 ships Monday.')"),
        )
        .await;
    let asked = gateway.requests().last().unwrap()["messages"].to_string();
    assert!(asked.contains("Hi, Olga here. What can I do?"), "{asked}");
    visitor.screenshot("handoff-5-agent-again").await;
}
