//! Resumable turns: a client whose socket drops mid-turn reopens the conversation,
//! on either replica, and gets the turn's events from the first, in order, once
//! each; other tabs see the same stream; a reopened connection can cancel it; a
//! turn past the replay cap says so; a client that never comes back finds the
//! reply stored and leaves nothing behind.

use crate::replicas::{Broker, Deployment, NATS, REDIS};
use serde_json::{Value, json};
use std::time::Duration;
use switchboard_testkit::TestClient;
use switchboard_testkit::events::{tokens, types};
use switchboard_testkit::mock_gateway::{MockGateway, ScriptedReply};
use switchboard_testkit::{config_for, spawn_app_with};

/// A reply of `words` words, streamed one word per chunk.
fn long_reply(words: usize) -> String {
    (0..words)
        .map(|i| format!("word{i}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Sends `send_message` and reads its 202 acknowledgement and `count` tokens.
async fn start_turn(client: &mut TestClient, request_id: &str, session: &str, count: usize) {
    client
        .send(json!({"action": "send_message", "requestId": request_id,
                     "sessionId": session, "message": "tell me a long story"}))
        .await;
    let mut seen = 0;
    while seen < count {
        let event = client.next().await;
        if event["type"] == "stream_token" {
            seen += 1;
        }
    }
}

/// Opens a session on `conversation` and returns the acknowledgement.
async fn reopen(client: &mut TestClient, conversation: &str) -> Value {
    let ack = client
        .request(
            "reopen",
            json!({"action": "create_conversation_session",
                   "agentId": "11111111-1111-1111-1111-111111111111",
                   "conversationId": conversation}),
        )
        .await;
    assert_eq!(ack["data"]["conversationId"], conversation, "{ack}");
    ack
}

/// What a turn's stream shows a client, minus timestamps: `(type, requestId,
/// token)` in order, then the terminal event's reply.
fn shape(events: &[Value]) -> (Vec<(String, String, String)>, Value) {
    let seq = events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap_or_default().to_owned(),
                e["requestId"].as_str().unwrap_or_default().to_owned(),
                e["token"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let terminal =
        events.last().expect("events")["data"]["data"]["response"]["responseParts"].clone();
    (seq, terminal)
}

fn terminals(events: &[Value]) -> usize {
    events
        .iter()
        .filter(|e| {
            matches!(
                e["type"].as_str(),
                Some("eventual_response" | "cancelled" | "error")
            )
        })
        .count()
}

/// The server keeps no stream (its terminal event frees it just after the reply is
/// stored).
async fn assert_freed(app: &switchboard_testkit::TestApp) {
    for _ in 0..40 {
        if app.state.hub().streams().usage() == (0, 0) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("streams kept: {:?}", app.state.hub().streams().usage());
}

async fn a_dropped_turn_is_replayed_on_the_other_replica(broker: Broker) {
    let reply = long_reply(150);
    let deployment = Deployment::new(
        broker,
        vec![
            ScriptedReply::Text(reply.clone()),
            ScriptedReply::Text(reply.clone()),
        ],
    )
    .await;
    let (a, b) = (deployment.replica().await, deployment.replica().await);
    let alice = crate::admin::token("alice", "acme", "basic");
    let as_alice = |url: &str| format!("{url}?token={alice}");
    let mut on_a = TestClient::connect(&as_alice(a.url())).await;
    let (session, conversation) = on_a.create_session().await;

    // The turn as an uninterrupted client sees it.
    let whole = on_a.turn("r1", &session, "tell me a long story").await;
    assert_eq!(types(&whole)[0], "immediate_response");
    let uninterrupted: Vec<Value> = whole[1..].to_vec();
    assert_eq!(tokens(&uninterrupted), reply);

    // The same turn again; the client's socket drops after a few tokens.
    start_turn(&mut on_a, "r2", &session, 5).await;
    drop(on_a);

    // It reopens the conversation on the other replica, and a second tab opens it
    // on the first: both get the turn from its first event to its end.
    let mut on_b = TestClient::connect(&as_alice(b.url())).await;
    reopen(&mut on_b, &conversation).await;
    let mut tab = TestClient::connect(&as_alice(a.url())).await;
    reopen(&mut tab, &conversation).await;
    // Someone of another organisation naming the conversation gets a new one of
    // their own, and none of the turn.
    let mallory = crate::admin::token("mallory", "globex", "basic");
    let mut stranger = TestClient::connect(&format!("{}?token={mallory}", b.url())).await;
    let theirs = stranger
        .request(
            "reopen",
            json!({"action": "create_conversation_session",
                   "agentId": "11111111-1111-1111-1111-111111111111",
                   "conversationId": conversation}),
        )
        .await;
    assert_ne!(theirs["data"]["conversationId"], conversation.as_str());
    let resumed = on_b.until_terminal("r2").await;
    let in_tab = tab.until_terminal("r2").await;

    let (want, want_reply) = shape(&uninterrupted);
    let want: Vec<_> = want
        .into_iter()
        .map(|(t, _, token)| (t, "r2".to_owned(), token))
        .collect();
    for (who, events) in [("the other replica", &resumed), ("the second tab", &in_tab)] {
        let (got, got_reply) = shape(events);
        assert_eq!(
            got, want,
            "{who} got the turn as an uninterrupted client did"
        );
        assert_eq!(got_reply, want_reply, "{who}: the same reply");
        assert_eq!(terminals(events), 1, "{who}: one terminal event");
        assert_eq!(tokens(events), reply, "{who}: every token once, in order");
    }
    // Nothing follows; the stranger saw nothing at all.
    on_b.expect_silence(Duration::from_millis(300)).await;
    stranger.expect_silence(Duration::from_millis(100)).await;
    // The reply is stored once.
    let page = on_b
        .request(
            "m",
            json!({"action": "get_conversation_messages", "sessionId": session}),
        )
        .await;
    let stored: Vec<&Value> = page["data"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["content"]["text"] == reply.as_str())
        .collect();
    assert_eq!(stored.len(), 2, "both turns' replies are stored, once each");
    a.stop().expect("clean shutdown");
    b.stop().expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_turn_is_replayed_on_the_other_replica_over_redis() {
    a_dropped_turn_is_replayed_on_the_other_replica(REDIS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_turn_is_replayed_on_the_other_replica_over_nats() {
    a_dropped_turn_is_replayed_on_the_other_replica(NATS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_session_on_the_other_replica_replays_and_cancel_there_stops_the_turn() {
    let deployment = Deployment::new(
        REDIS,
        vec![
            ScriptedReply::Text(long_reply(200)),
            ScriptedReply::Text("Fresh answer.".into()),
        ],
    )
    .await;
    let (a, b) = (deployment.replica().await, deployment.replica().await);
    let mut on_a = TestClient::connect(a.url()).await;
    let (session, _) = on_a.create_session().await;
    start_turn(&mut on_a, "r1", &session, 3).await;
    drop(on_a);

    let mut on_b = TestClient::connect(b.url()).await;
    let ack = on_b
        .request("g", json!({"action": "get_session", "sessionId": session}))
        .await;
    assert_eq!(ack["status"], 200);
    // The replay starts at the first token.
    let first = on_b.until("stream_token").await;
    assert_eq!(first.last().unwrap()["token"], "word0 ");
    on_b.send(json!({"action": "cancel", "requestId": "c"}))
        .await;
    let events = on_b.until_terminal("r1").await;
    assert_eq!(events.last().unwrap()["type"], "cancelled", "{events:?}");
    assert!(
        tokens(&events).len() < long_reply(200).len(),
        "the turn stopped before its end"
    );
    on_b.expect_silence(Duration::from_millis(500)).await;
    // The session is free: the next message is answered.
    let next = on_b.turn("r2", &session, "hello again").await;
    assert_eq!(
        next.last().unwrap()["data"]["data"]["response"]["responseParts"][0],
        "Fresh answer."
    );
    a.stop().expect("clean shutdown");
    b.stop().expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_past_the_replay_cap_says_so_and_its_reply_is_stored() {
    let reply = long_reply(150);
    let gateway = MockGateway::builder()
        .script(vec![ScriptedReply::Text(reply.clone())])
        .chunk_delay(Duration::from_millis(15))
        .start()
        .await;
    let mut config = config_for(&gateway);
    config.resume.cap.events = 20;
    let app = spawn_app_with(config).await;
    let mut first = app.client().await;
    let (session, conversation) = first.create_session().await;
    start_turn(&mut first, "r1", &session, 25).await;
    drop(first);

    let mut again = app.client().await;
    reopen(&mut again, &conversation).await;
    let notice = again.next().await;
    assert_eq!(notice["type"], "error", "{notice}");
    assert_eq!(notice["error"]["code"], "REPLAY_UNAVAILABLE");
    assert_eq!(notice["requestId"], "r1");
    again.expect_silence(Duration::from_millis(300)).await;
    // The turn goes on, and its reply is in the message page once it is done.
    let mut found = false;
    for _ in 0..100 {
        let page = again
            .request(
                "m",
                json!({"action": "get_conversation_messages", "sessionId": session}),
            )
            .await;
        if page["data"]["messages"][0]["content"]["text"] == reply.as_str() {
            found = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(found, "the reply was stored");
    assert_freed(&app).await;
    app.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_comes_back_finds_the_reply_stored_and_nothing_kept() {
    let reply = long_reply(30);
    let gateway = MockGateway::builder()
        .script(vec![
            ScriptedReply::Text(reply.clone()),
            ScriptedReply::Text(long_reply(400)),
        ])
        .chunk_delay(Duration::from_millis(20))
        .start()
        .await;
    let mut config = config_for(&gateway);
    config.resume.window = Some(Duration::from_secs(2));
    let app = spawn_app_with(config).await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    start_turn(&mut client, "r1", &session, 3).await;
    drop(client);
    // The turn runs to its end without its client: the reply is stored.
    let mut reader = app.client().await;
    let mut stored = false;
    for _ in 0..100 {
        let page = reader
            .request(
                "m",
                json!({"action": "get_conversation_messages", "sessionId": session}),
            )
            .await;
        if page["data"]["messages"][0]["content"]["text"] == reply.as_str() {
            stored = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(stored, "the reply of a turn whose client left is stored");
    assert_freed(&app).await;

    // A turn longer than the window is stopped when the window ends: nothing is
    // stored for it, its buffer is freed, and its session is free again.
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    start_turn(&mut client, "r2", &session, 3).await;
    drop(client);
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert_freed(&app).await;
    let mut back = app.client().await;
    back.request("g", json!({"action": "get_session", "sessionId": session}))
        .await;
    back.expect_silence(Duration::from_millis(300)).await;
    let page = back
        .request(
            "m",
            json!({"action": "get_conversation_messages", "sessionId": session}),
        )
        .await;
    let texts: Vec<&str> = page["data"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["content"]["text"].as_str())
        .collect();
    assert_eq!(
        texts,
        ["tell me a long story"],
        "no reply stored for the stopped turn"
    );
    app.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_tab_sees_the_same_stream_as_the_first() {
    let reply = long_reply(100);
    let gateway = MockGateway::builder()
        .script(vec![ScriptedReply::Text(reply.clone())])
        .chunk_delay(Duration::from_millis(15))
        .start()
        .await;
    let app = spawn_app_with(config_for(&gateway)).await;
    let mut first = app.client().await;
    let (session, conversation) = first.create_session().await;
    first
        .send(json!({"action": "send_message", "requestId": "r1",
                     "sessionId": session, "message": "tell me a long story"}))
        .await;
    let mut seen = first.until("stream_token").await;
    // Another tab opens the conversation while the first still reads the turn.
    let mut second = app.client().await;
    reopen(&mut second, &conversation).await;
    seen.extend(first.until_terminal("r1").await);
    let in_first: Vec<Value> = seen
        .into_iter()
        .filter(|e| e["type"] != "immediate_response")
        .collect();
    let in_second = second.until_terminal("r1").await;
    assert_eq!(
        shape(&in_second),
        shape(&in_first),
        "the same stream in both tabs"
    );
    assert_eq!(tokens(&in_second), reply);
    assert_eq!(terminals(&in_second), 1);
    // The first tab's own get_session does not send it its own turn again.
    second.expect_silence(Duration::from_millis(200)).await;
    first
        .request("g", json!({"action": "get_session", "sessionId": session}))
        .await;
    first.expect_silence(Duration::from_millis(200)).await;
    app.shutdown().await.unwrap();
}
