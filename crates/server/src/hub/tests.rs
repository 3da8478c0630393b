use super::*;
use serde_json::json;
use switchboard_core::{BusError, MemoryBus};

fn test_streams() -> Arc<TurnStreams> {
    crate::replay::tests::streams()
}

fn session(id: &str) -> Target {
    Target::Session(id.into())
}

#[tokio::test]
async fn events_reach_the_sockets_of_their_target_only() {
    let hub = Hub::local(Parking::default(), test_streams());
    let (a, mut rx_a) = Outbound::channel(8);
    let (b, mut rx_b) = Outbound::channel(8);
    let (ca, cb) = (hub.attach(a), hub.attach(b));
    hub.associate(ca, session("s1"));
    hub.associate(cb, session("s2"));
    assert_eq!(
        hub.publish(&session("s1"), &json!({"type": "x"}), None)
            .await
            .unwrap(),
        1
    );
    assert_eq!(rx_a.recv().await.unwrap(), r#"{"type":"x"}"#);
    assert!(rx_b.try_recv().is_err());
    assert_eq!(
        hub.publish(&Target::Connection(cb.to_string()), &json!(1), None)
            .await
            .unwrap(),
        1
    );
    hub.detach(cb);
    assert_eq!(
        hub.publish(&session("s2"), &json!(2), None).await.unwrap(),
        0
    );
    assert_eq!(hub.connection_count(), 1);
}

#[tokio::test]
async fn a_full_queue_misses_the_event_without_blocking_others() {
    let hub = Hub::local(Parking::default(), test_streams());
    let (slow, _keep) = Outbound::channel(1);
    let (fast, mut rx) = Outbound::channel(8);
    let (cs, cf) = (hub.attach(slow), hub.attach(fast));
    for c in [cs, cf] {
        hub.associate(c, Target::Agent("a".into()));
    }
    assert_eq!(
        hub.publish(&Target::Agent("a".into()), &json!(1), None)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        hub.publish(&Target::Agent("a".into()), &json!(2), None)
            .await
            .unwrap(),
        1
    );
    assert_eq!(rx.recv().await.unwrap(), "1");
    assert_eq!(rx.recv().await.unwrap(), "2");
}

#[tokio::test]
async fn an_organisations_event_skips_sockets_of_other_organisations() {
    let hub = Hub::local(Parking::default(), test_streams());
    let agent = Target::Agent("shared-agent".into());
    let (x, mut rx_x) = Outbound::channel(8);
    let (y, mut rx_y) = Outbound::channel(8);
    let (cx, cy) = (hub.attach(x), hub.attach(y));
    for (c, org) in [(cx, "org-x"), (cy, "org-y")] {
        hub.associate(c, agent.clone());
        hub.join_org(c, &OrgId::new(org));
    }
    assert_eq!(
        hub.publish(&agent, &json!("x"), Some(&OrgId::new("org-x")))
            .await
            .unwrap(),
        1
    );
    assert_eq!(rx_x.recv().await.unwrap(), r#""x""#);
    assert!(rx_y.try_recv().is_err(), "org-y's socket got org-x's event");
    assert_eq!(
        hub.publish(&agent, &json!("z"), Some(&OrgId::new("org-z")))
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn replicas_deliver_each_others_events_in_order() {
    let bus: Arc<dyn Bus> = Arc::new(MemoryBus::default());
    let stop = CancellationToken::new();
    let one = Hub::joined(
        bus.clone(),
        Parking::default(),
        test_streams(),
        stop.clone(),
    )
    .await
    .unwrap();
    let two = Hub::joined(bus, Parking::default(), test_streams(), stop.clone())
        .await
        .unwrap();
    let (out, mut rx) = Outbound::channel(64);
    let id = two.attach(out);
    two.associate(id, session("s"));
    for i in 0..50 {
        assert_eq!(
            one.publish(&session("s"), &json!(i), None).await.unwrap(),
            0,
            "none on one"
        );
    }
    for i in 0..50 {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(frame, i.to_string());
    }
    // A replica ignores its own messages: one delivery, not two.
    assert_eq!(
        two.publish(&session("s"), &json!("own"), None)
            .await
            .unwrap(),
        1
    );
    assert_eq!(rx.recv().await.unwrap(), r#""own""#);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(rx.try_recv().is_err());
    stop.cancel();
}

/// A bus that holds every publish until it is opened.
struct Gated {
    inner: MemoryBus,
    open: tokio::sync::watch::Receiver<bool>,
}

#[async_trait::async_trait]
impl Bus for Gated {
    fn label(&self) -> &'static str {
        "gated"
    }
    async fn publish(&self, message: Vec<u8>) -> Result<(), BusError> {
        self.open.clone().wait_for(|open| *open).await.ok();
        self.inner.publish(message).await
    }
    async fn subscribe(&self) -> Result<mpsc::Receiver<Vec<u8>>, BusError> {
        self.inner.subscribe().await
    }
}

#[tokio::test]
async fn a_slow_broker_makes_publishers_wait_instead_of_losing_events() {
    let (gate, open) = tokio::sync::watch::channel(false);
    let inner = MemoryBus::default();
    let stop = CancellationToken::new();
    let sender = Hub::joined(
        Arc::new(Gated {
            inner: inner.clone(),
            open,
        }),
        Parking::default(),
        test_streams(),
        stop.clone(),
    )
    .await
    .unwrap();
    let receiver = Hub::joined(
        Arc::new(inner),
        Parking::default(),
        test_streams(),
        stop.clone(),
    )
    .await
    .unwrap();
    let (out, mut rx) = Outbound::channel(8192);
    let id = receiver.attach(out);
    receiver.associate(id, session("s"));
    // More than the queue to the broker holds.
    let count = PUBLISH_QUEUE + 2 * PUBLISH_BATCH;
    let publishing = tokio::spawn(async move {
        for i in 0..count {
            sender
                .publish(&session("s"), &json!(i), None)
                .await
                .unwrap();
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(!publishing.is_finished(), "publishing waits for the broker");
    gate.send(true).unwrap();
    for i in 0..count {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(frame, i.to_string());
    }
    publishing.await.unwrap();
    stop.cancel();
}
