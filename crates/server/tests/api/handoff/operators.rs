//! Operators take conversations, answer visitors, and give them back.

use super::*;
use switchboard_testkit::events::reply;

#[tokio::test]
async fn an_operator_takes_over_answers_and_hands_back_to_an_agent_that_knows_everything() {
    let (admin, gateway) = start(
        vec![
            ScriptedReply::Text("Your order ships on Monday.".into()),
            ScriptedReply::Text("You're welcome; the refund takes 5 days.".into()),
        ],
        json!({"tool": false, "onRequest": false}),
    )
    .await;
    let (mut client, session, conversation) = visitor(&admin, "vera").await;
    let first = client.turn("t1", &session, "When does order 7 ship?").await;
    assert_eq!(reply(&first), "Your order ships on Monday.");

    // Olga takes the conversation over from the agent.
    let olga = operator("olga", ORG);
    let claimed = admin
        .post(
            &format!("/admin/handoffs/{conversation}/claim"),
            Some(&olga),
            json!({}),
        )
        .await;
    assert_eq!(claimed.status, 200, "{:?}", claimed.body);
    assert_eq!(claimed.body["trigger"], "takeover");
    assert_eq!(claimed.body["status"], "claimed");
    assert_eq!(claimed.body["operator"]["name"], "Operator olga");
    // Claiming again is harmless; a colleague is refused.
    let again = admin
        .post(
            &format!("/admin/handoffs/{conversation}/claim"),
            Some(&olga),
            json!({}),
        )
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["version"], claimed.body["version"]);
    let colleague = admin
        .post(
            &format!("/admin/handoffs/{conversation}/claim"),
            Some(&operator("oscar", ORG)),
            json!({}),
        )
        .await;
    assert_eq!(colleague.status, 409, "{:?}", colleague.body);
    assert!(
        colleague.message().contains("Operator olga"),
        "{}",
        colleague.message()
    );
    // Nor may Oscar reply or hand it back.
    let meddling = admin
        .post(
            &format!("/admin/handoffs/{conversation}/reply"),
            Some(&operator("oscar", ORG)),
            json!({"text": "Hi, Oscar here"}),
        )
        .await;
    assert_eq!(meddling.status, 409);

    // The visitor writes: stored, not answered by the agent.
    let held = client.turn("t2", &session, "I'd rather cancel it").await;
    assert_eq!(outcome(&held)["needsEscalation"], true);
    assert_eq!(outcome(&held)["response"]["responseParts"], json!([]));
    assert_eq!(model_calls(&gateway), 1);

    // Olga's reply reaches the visitor's socket as an eventual_response from her.
    let replied = admin
        .post(
            &format!("/admin/handoffs/{conversation}/reply"),
            Some(&olga),
            json!({"text": "Cancelled. Refund is on its way."}),
        )
        .await;
    assert_eq!(replied.status, 201, "{:?}", replied.body);
    assert_eq!(replied.body["message"]["from"]["type"], "human-agent");
    let pushed = operator_message(&mut client).await;
    let data = &pushed["data"]["data"];
    assert_eq!(
        data["response"]["responseParts"],
        json!(["Cancelled. Refund is on its way."])
    );
    assert_eq!(data["response"]["from"]["type"], "human-agent");
    assert_eq!(data["response"]["from"]["name"], "Operator olga");
    assert_eq!(data["messageId"], replied.body["message"]["id"]);

    // The history shows who wrote what.
    let history = client
        .request(
            "h1",
            json!({"action": "get_conversation_messages", "sessionId": session, "limit": 10}),
        )
        .await;
    let newest = &history["data"]["messages"][0];
    assert_eq!(
        newest["content"]["text"],
        "Cancelled. Refund is on its way."
    );
    assert_eq!(newest["from"]["type"], "human-agent");
    assert_eq!(newest["from"]["name"], "Operator olga");

    // Handed back: the agent answers again, with Olga's part in its history.
    let back = admin
        .post(
            &format!("/admin/handoffs/{conversation}/return"),
            Some(&olga),
            json!({}),
        )
        .await;
    assert_eq!(back.status, 200, "{:?}", back.body);
    assert_eq!(back.body["status"], "returned");
    let late = admin
        .post(
            &format!("/admin/handoffs/{conversation}/reply"),
            Some(&olga),
            json!({"text": "One more thing"}),
        )
        .await;
    assert_eq!(late.status, 409, "a reply after hand-back is refused");
    let answered = client
        .turn("t3", &session, "Thanks! How long for the refund?")
        .await;
    assert_eq!(reply(&answered), "You're welcome; the refund takes 5 days.");
    assert_eq!(outcome(&answered)["needsEscalation"], false);
    let asked = gateway.requests().last().cloned().unwrap();
    let transcript = asked["messages"].to_string();
    for said in [
        "When does order 7 ship?",
        "Your order ships on Monday.",
        "I'd rather cancel it",
        "Cancelled. Refund is on its way.",
        "Thanks! How long for the refund?",
    ] {
        assert!(
            transcript.contains(said),
            "{said} missing from {transcript}"
        );
    }
    assert!(
        transcript.contains("a person from the team"),
        "{transcript}"
    );
}

#[tokio::test]
async fn of_many_operators_claiming_at_once_exactly_one_wins() {
    let (admin, _gateway) = start(Vec::new(), json!({})).await;
    let (mut client, session, conversation) = visitor(&admin, "vera").await;
    client.turn("t1", &session, "I want a real person").await;
    let claims = (0..8).map(|i| {
        let admin = &admin;
        let conversation = &conversation;
        async move {
            admin
                .post(
                    &format!("/admin/handoffs/{conversation}/claim"),
                    Some(&operator(&format!("op{i}"), ORG)),
                    json!({}),
                )
                .await
        }
    });
    let results = futures_util::future::join_all(claims).await;
    let statuses: Vec<u16> = results.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        7,
        "{statuses:?}"
    );
    let winner = results.iter().find(|r| r.status == 200).unwrap();
    let stored = admin
        .get(
            &format!("/admin/handoffs/{conversation}"),
            Some(&operator("op0", ORG)),
        )
        .await;
    assert_eq!(stored.body["handoff"]["operator"], winner.body["operator"]);
    let live = admin
        .get(
            "/admin/handoffs?status=claimed",
            Some(&operator("op0", ORG)),
        )
        .await;
    assert_eq!(live.body["handoffs"].as_array().unwrap().len(), 1);
    assert_eq!(
        admin
            .get("/admin/handoffs", Some(&operator("op0", ORG)))
            .await
            .body["handoffs"],
        json!([]),
        "no longer queued"
    );
}

#[tokio::test]
async fn operators_act_only_in_their_organisation_and_closed_handoffs_take_no_replies() {
    let (admin, _gateway) =
        start(vec![ScriptedReply::Text("Hello again.".into())], json!({})).await;
    let (mut client, session, conversation) = visitor(&admin, "vera").await;
    client.turn("t1", &session, "operator please").await;
    let otto = operator("otto", "globex");
    for action in ["claim", "reply", "return", "close"] {
        let refused = admin
            .post(
                &format!("/admin/handoffs/{conversation}/{action}"),
                Some(&otto),
                json!({"text": "hi"}),
            )
            .await;
        // `claim`, `return` and `close` take no body; one is ignored.
        assert_eq!(refused.status, 404, "{action}: {:?}", refused.body);
    }
    // A basic user (a visitor) is no operator.
    let visitor_token = token("vera", ORG, "basic");
    let forbidden = admin.get("/admin/handoffs", Some(&visitor_token)).await;
    assert_eq!(forbidden.status, 403);

    let olga = operator("olga", ORG);
    let path = |action: &str| format!("/admin/handoffs/{conversation}/{action}");
    assert_eq!(
        admin
            .post(&path("claim"), Some(&olga), json!({}))
            .await
            .status,
        200
    );
    let closed = admin.post(&path("close"), Some(&olga), json!({})).await;
    assert_eq!(closed.status, 200);
    assert_eq!(closed.body["status"], "closed");
    let late = admin
        .post(&path("reply"), Some(&olga), json!({"text": "Still there?"}))
        .await;
    assert_eq!(late.status, 409);
    assert_eq!(
        admin
            .post(&path("close"), Some(&olga), json!({}))
            .await
            .status,
        409
    );
    // A closed conversation is the agent's again.
    let answered = client.turn("t2", &session, "hi again").await;
    assert_eq!(reply(&answered), "Hello again.");
}
