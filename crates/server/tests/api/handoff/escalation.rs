//! The agent hands a conversation to a person: by the `handoff_to_human` tool, when
//! the visitor asks for a person, and after too many answers without knowledge;
//! from then on it stays silent.

use super::*;
use switchboard_testkit::events::{reply, types};

#[tokio::test]
async fn the_model_hands_over_with_its_tool_and_the_agent_then_stays_silent() {
    let (admin, gateway) = start(
        vec![ScriptedReply::ToolCall {
            name: "handoff_to_human".into(),
            arguments: r#"{"reason":"Refund above the 500 EUR the agent may grant."}"#.into(),
        }],
        json!({"tool": true, "onRequest": false}),
    )
    .await;
    let (mut client, session, conversation) = visitor(&admin, "vera").await;

    let events = client.turn("t1", &session, "Refund my 900 EUR order").await;
    assert_eq!(
        types(&events),
        [
            "immediate_response",
            "stream_chunk",
            "stream_chunk",
            "stream_token",
            "eventual_response"
        ],
        "{events:#?}"
    );
    let done = outcome(&events);
    assert_eq!(done["needsEscalation"], true, "{done}");
    assert_eq!(
        done["escalationReason"],
        "Refund above the 500 EUR the agent may grant."
    );
    assert!(
        reply(&events).contains("a person from our team"),
        "the visitor is told: {}",
        reply(&events)
    );
    assert_eq!(done["response"]["resolutionStatus"], "requires_escalation");
    // The model was offered the tool.
    let offered = &gateway.requests()[0]["tools"];
    assert!(
        offered.to_string().contains("handoff_to_human"),
        "{offered}"
    );

    // The queue has it, for the operators of the visitor's organisation only.
    let queue = admin
        .get("/admin/handoffs", Some(&operator("olga", ORG)))
        .await;
    assert_eq!(queue.status, 200, "{:?}", queue.body);
    let rows = queue.body["handoffs"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["conversationId"], conversation);
    assert_eq!(rows[0]["trigger"], "tool");
    assert_eq!(rows[0]["status"], "queued");
    let elsewhere = admin
        .get("/admin/handoffs", Some(&operator("otto", "globex")))
        .await;
    assert_eq!(elsewhere.body["handoffs"], json!([]));

    // While a person owns the conversation the agent does not answer: the message
    // is stored and the turn ends with no agent text.
    let calls = model_calls(&gateway);
    let events = client.turn("t2", &session, "Hello? Anyone?").await;
    assert_eq!(
        types(&events),
        ["immediate_response", "eventual_response"],
        "{events:#?}"
    );
    let held = outcome(&events);
    assert_eq!(held["needsEscalation"], true);
    assert_eq!(held["response"]["responseParts"], json!([]));
    assert_eq!(model_calls(&gateway), calls, "the model was not asked");
    let messages = admin
        .get(
            &format!("/admin/conversations/{conversation}/messages"),
            Some(&operator("olga", ORG)),
        )
        .await;
    let texts: Vec<&str> = messages.body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts.last(), Some(&"Hello? Anyone?"), "{texts:?}");
}

#[tokio::test]
async fn a_visitor_who_asks_for_a_person_is_queued_without_asking_the_model() {
    let (admin, gateway) = start(vec![ScriptedReply::Text("unused".into())], json!({})).await;
    let (mut client, session, conversation) = visitor(&admin, "vera").await;
    let events = client
        .turn("t1", &session, "Can I talk to a human, please?")
        .await;
    let done = outcome(&events);
    assert_eq!(done["needsEscalation"], true, "{done}");
    assert_eq!(done["escalationReason"], "The visitor asked for a person.");
    assert!(reply(&events).contains("a person"), "{}", reply(&events));
    assert_eq!(model_calls(&gateway), 0, "no model call");
    let one = admin
        .get(
            &format!("/admin/handoffs/{conversation}"),
            Some(&operator("olga", ORG)),
        )
        .await;
    assert_eq!(one.status, 200, "{:?}", one.body);
    assert_eq!(one.body["handoff"]["trigger"], "request");
    assert_eq!(one.body["handoff"]["status"], "queued");
    // Another organisation's operator cannot even see it.
    let foreign = admin
        .get(
            &format!("/admin/handoffs/{conversation}"),
            Some(&operator("otto", "globex")),
        )
        .await;
    assert_eq!(foreign.status, 404);
}

#[tokio::test]
async fn answers_in_a_row_without_knowledge_hand_over_by_policy() {
    let (admin, gateway) = start(
        vec![
            ScriptedReply::Text("I am not sure.".into()),
            ScriptedReply::Text("I still do not know.".into()),
        ],
        json!({"tool": false, "onRequest": false, "afterUnanswered": 2}),
    )
    .await;
    let (mut client, session, _) = visitor(&admin, "vera").await;
    let first = client
        .turn("t1", &session, "What is the warranty on X9?")
        .await;
    assert_eq!(outcome(&first)["needsEscalation"], false);
    let second = client.turn("t2", &session, "And on X10?").await;
    let done = outcome(&second);
    assert_eq!(done["needsEscalation"], true, "{done}");
    assert_eq!(
        done["escalationReason"],
        "2 answers in a row found nothing in the knowledge base."
    );
    let text = reply(&second);
    assert!(
        text.starts_with("I still do not know.") && text.contains("a person"),
        "{text}"
    );
    assert_eq!(model_calls(&gateway), 2);
    let queue = admin
        .get("/admin/handoffs", Some(&operator("olga", ORG)))
        .await;
    assert_eq!(queue.body["handoffs"][0]["trigger"], "unanswered");
}
