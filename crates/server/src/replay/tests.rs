use super::*;
use crate::hub::Hub;
use switchboard_agent::turn::Parking;
use switchboard_core::MemoryStore;

/// Streams with small caps, for unit tests.
pub(crate) fn streams() -> Arc<TurnStreams> {
    TurnStreams::new(
        ResumeConfig {
            window: Some(Duration::from_secs(120)),
            cap: Cap {
                bytes: 8192,
                events: 64,
            },
        },
        Duration::from_secs(600),
        Arc::new(MemoryStore::default()),
    )
}

fn key(conversation: ConversationId) -> TurnKey {
    TurnKey {
        stream: Uuid::new_v4(),
        org: OrgId::new("org"),
        conversation,
        request_id: "r1".into(),
    }
}

async fn next(rx: &mut tokio::sync::mpsc::Receiver<String>) -> String {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("a frame within 5 s")
        .expect("open")
}

#[tokio::test]
async fn a_watcher_gets_every_event_once_in_order_however_it_races_the_turn() {
    let hub = Hub::local(Parking::default(), streams());
    let conversation = ConversationId::random();
    let stream = hub.streams().open(key(conversation));
    let (origin, _origin_rx) = Outbound::channel(1024);
    let sink = StreamSink::new(stream, hub.clone(), origin);
    let producing = tokio::spawn({
        let sink = sink.clone();
        async move {
            for i in 0..40 {
                sink.emit(Event::token("r1", &i.to_string())).await.unwrap();
                tokio::task::yield_now().await;
            }
            sink.emit(Event::cancelled(Some("r1".into())))
                .await
                .unwrap();
        }
    });
    // Reopens while the turn is producing.
    tokio::task::yield_now().await;
    let (out, mut rx) = Outbound::channel(4);
    let watching = hub.streams().attach(
        Uuid::new_v4(),
        &out,
        &OrgId::new("org"),
        conversation,
        |_| false,
    );
    assert_eq!(watching.len(), 1);
    assert_eq!(watching[0].1, "r1");
    for i in 0..40 {
        let frame: serde_json::Value = serde_json::from_str(&next(&mut rx).await).unwrap();
        assert_eq!(frame["data"]["token"], i.to_string(), "event {i}");
    }
    let last: serde_json::Value = serde_json::from_str(&next(&mut rx).await).unwrap();
    assert_eq!(last["type"], "cancelled");
    producing.await.unwrap();
    // Nothing follows the terminal event, and the stream is forgotten.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(rx.try_recv().is_err());
    assert_eq!(hub.streams().usage(), (0, 0));
}

#[tokio::test]
async fn a_turn_over_the_cap_is_announced_as_unreplayable() {
    let hub = Hub::local(Parking::default(), streams());
    let conversation = ConversationId::random();
    let stream = hub.streams().open(key(conversation));
    let (origin, mut origin_rx) = Outbound::channel(1024);
    let sink = StreamSink::new(stream, hub.clone(), origin);
    let big = "x".repeat(1000);
    for _ in 0..10 {
        sink.emit(Event::token("r1", &big)).await.unwrap();
    }
    // The starting socket still has everything.
    for _ in 0..10 {
        assert!(next(&mut origin_rx).await.contains(&big));
    }
    assert_eq!(hub.streams().usage(), (1, 0), "the buffer is freed at once");
    let (out, mut rx) = Outbound::channel(8);
    hub.streams().attach(
        Uuid::new_v4(),
        &out,
        &OrgId::new("org"),
        conversation,
        |_| false,
    );
    let notice: serde_json::Value = serde_json::from_str(&next(&mut rx).await).unwrap();
    assert_eq!(notice["error"]["code"], "REPLAY_UNAVAILABLE");
    assert_eq!(notice["requestId"], "r1");
}

#[tokio::test]
async fn other_organisations_and_conversations_see_nothing() {
    let hub = Hub::local(Parking::default(), streams());
    let conversation = ConversationId::random();
    hub.streams().open(key(conversation));
    let (out, _rx) = Outbound::channel(8);
    let elsewhere = hub.streams().attach(
        Uuid::new_v4(),
        &out,
        &OrgId::new("other-org"),
        conversation,
        |_| false,
    );
    assert!(elsewhere.is_empty());
    let other = hub.streams().attach(
        Uuid::new_v4(),
        &out,
        &OrgId::new("org"),
        ConversationId::random(),
        |_| false,
    );
    assert!(other.is_empty());
}

#[tokio::test]
async fn a_replica_replays_what_it_heard_and_one_that_joined_late_says_it_cannot() {
    let streams = streams();
    let conversation = ConversationId::random();
    let heard = key(conversation);
    for (seq, token) in ["a", "b"].iter().enumerate() {
        streams.apply_remote(TurnMessage {
            key: heard.clone(),
            seq: seq as u64,
            body: TurnBody::Event {
                frame: Event::token("r1", token).to_json(),
                terminal: false,
            },
        });
    }
    let mut late = key(conversation);
    late.request_id = "r2".into();
    streams.apply_remote(TurnMessage {
        key: late.clone(),
        seq: 3,
        body: TurnBody::Event {
            frame: Event::token("r2", "d").to_json(),
            terminal: false,
        },
    });
    let (out, mut rx) = Outbound::channel(8);
    let watching = streams.attach(
        Uuid::new_v4(),
        &out,
        &OrgId::new("org"),
        conversation,
        |_| false,
    );
    assert_eq!(watching.len(), 2);
    let mut frames = Vec::new();
    for _ in 0..3 {
        frames.push(serde_json::from_str::<serde_json::Value>(&next(&mut rx).await).unwrap());
    }
    let of = |id: &str| -> Vec<serde_json::Value> {
        frames
            .iter()
            .filter(|f| f["requestId"] == id)
            .cloned()
            .collect()
    };
    let r1 = of("r1");
    assert_eq!(r1.len(), 2);
    assert_eq!(
        (r1[0]["token"].as_str(), r1[1]["token"].as_str()),
        (Some("a"), Some("b"))
    );
    assert_eq!(of("r2")[0]["error"]["code"], "REPLAY_UNAVAILABLE");
    // The end frees both.
    for k in [heard, late] {
        streams.apply_remote(TurnMessage {
            key: k,
            seq: 9,
            body: TurnBody::End,
        });
    }
    assert_eq!(streams.usage(), (0, 0));
}

#[test]
fn an_address_may_leave_only_so_many_turns_running() {
    let streams = streams();
    let ip: Option<IpAddr> = Some("127.0.0.1".parse().unwrap());
    let held: Vec<_> = (0..MAX_DETACHED_PER_ADDRESS)
        .map(|_| streams.hold_detached(ip).expect("a place"))
        .collect();
    assert!(
        streams.hold_detached(ip).is_none(),
        "over the per-address cap"
    );
    assert!(
        streams
            .hold_detached(Some("127.0.0.2".parse().unwrap()))
            .is_some(),
        "another address has its own"
    );
    drop(held);
    assert!(streams.hold_detached(ip).is_some(), "places are given back");
}

#[tokio::test(start_paused = true)]
async fn a_client_that_stops_reading_does_not_stall_the_turn_for_the_others() {
    let hub = Hub::local(Parking::default(), streams());
    let conversation = ConversationId::random();
    let stream = hub.streams().open(key(conversation));
    // The starting socket's queue holds one event and nobody reads it.
    let (origin, _unread) = Outbound::channel(1);
    let sink = StreamSink::new(stream, hub.clone(), origin);
    let (out, mut rx) = Outbound::channel(64);
    hub.streams().attach(
        Uuid::new_v4(),
        &out,
        &OrgId::new("org"),
        conversation,
        |_| false,
    );
    let started = tokio::time::Instant::now();
    for i in 0..5 {
        sink.emit(Event::token("r1", &i.to_string())).await.unwrap();
    }
    sink.emit(Event::cancelled(Some("r1".into())))
        .await
        .unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= sink::ORIGIN_STALL && waited < 2 * sink::ORIGIN_STALL,
        "one stall, then the turn goes on: {waited:?}"
    );
    for i in 0..5 {
        let frame: serde_json::Value = serde_json::from_str(&next(&mut rx).await).unwrap();
        assert_eq!(frame["data"]["token"], i.to_string());
    }
    let last: serde_json::Value = serde_json::from_str(&next(&mut rx).await).unwrap();
    assert_eq!(last["type"], "cancelled");
}
