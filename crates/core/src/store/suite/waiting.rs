//! Turns waiting for a person: parked turns, one-time-code attempts.

use super::*;

fn parked(session: SessionId) -> ParkedTurn {
    ParkedTurn {
        id: uuid::Uuid::new_v4(),
        session_id: session,
        request_id: "r1".into(),
        created_at: Utc::now(),
        expires_at: Utc::now() + Duration::minutes(5),
        state: serde_json::json!({"transcript": ["…"], "iteration": 2}),
    }
}

pub async fn a_parked_turn_is_taken_exactly_once(store: Arc<dyn Store>) {
    let session = SessionId::random();
    let first = parked(session);
    store.put_parked_turn(&first).await.unwrap();
    let newer = parked(session);
    store.put_parked_turn(&newer).await.unwrap();
    assert_eq!(
        store.get_parked_turn(session).await.unwrap(),
        Some(newer.clone()),
        "newest wins"
    );
    // A stale park id takes nothing and leaves the park in place.
    assert_eq!(
        store
            .take_parked_turn(session, Some(first.id))
            .await
            .unwrap(),
        None
    );
    assert!(store.get_parked_turn(session).await.unwrap().is_some());
    // Concurrent takers: exactly one wins.
    let takers: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            async move {
                store
                    .take_parked_turn(session, Some(newer.id))
                    .await
                    .unwrap()
            }
        })
        .collect();
    let won = futures_free_join(takers)
        .await
        .into_iter()
        .flatten()
        .count();
    assert_eq!(won, 1);
    assert_eq!(store.get_parked_turn(session).await.unwrap(), None);
    assert_eq!(store.take_parked_turn(session, None).await.unwrap(), None);
}

pub async fn otp_attempts_are_spent_atomically(store: Arc<dyn Store>) {
    let session = SessionId::random();
    assert_eq!(store.spend_otp_attempt(session).await.unwrap(), None);
    let challenge = OtpChallenge {
        session_id: session,
        code_hash: "h".into(),
        salt: "s".into(),
        channel: "email".into(),
        destination: "a@example.com".into(),
        attempts_left: 3,
        created_at: Utc::now(),
        expires_at: Utc::now() + Duration::minutes(10),
    };
    store.put_otp_challenge(&challenge).await.unwrap();
    let spenders: Vec<_> = (0..5)
        .map(|_| {
            let store = store.clone();
            async move { store.spend_otp_attempt(session).await.unwrap().unwrap() }
        })
        .collect();
    let mut before: Vec<u32> = futures_free_join(spenders).await;
    before.sort();
    assert_eq!(
        before,
        [0, 0, 1, 2, 3],
        "each attempt sees a distinct count"
    );
    assert_eq!(
        store
            .get_otp_challenge(session)
            .await
            .unwrap()
            .unwrap()
            .attempts_left,
        0
    );
    store.delete_otp_challenge(session).await.unwrap();
    assert_eq!(store.get_otp_challenge(session).await.unwrap(), None);
}

/// Concurrent hits on one key each see a distinct count (the throttle's gate is
/// atomic on every store), and keys do not share counts.
pub async fn otp_throttle_counts_every_hit_once_per_key(store: Arc<dyn Store>) {
    let key = format!("dest:{}:1", uuid::Uuid::new_v4());
    let until = Utc::now() + Duration::minutes(15);
    let hits: Vec<_> = (0..12)
        .map(|_| {
            let (store, key) = (store.clone(), key.clone());
            async move { store.otp_throttle_hit(&key, until).await.unwrap() }
        })
        .collect();
    let mut counts: Vec<u64> = futures_free_join(hits).await;
    counts.sort();
    assert_eq!(counts, (1..=12).collect::<Vec<u64>>());
    let other = format!("ip:{}:1", uuid::Uuid::new_v4());
    assert_eq!(store.otp_throttle_hit(&other, until).await.unwrap(), 1);
    assert_eq!(store.otp_throttle_hit(&key, until).await.unwrap(), 13);
}

/// A counter whose time is up counts from 1 again.
pub async fn otp_throttle_starts_again_after_expiry(store: Arc<dyn Store>) {
    let key = format!("dest:{}:2", uuid::Uuid::new_v4());
    let past = Utc::now() - Duration::seconds(5);
    assert_eq!(store.otp_throttle_hit(&key, past).await.unwrap(), 1);
    assert_eq!(store.otp_throttle_hit(&key, past).await.unwrap(), 1);
    let until = Utc::now() + Duration::minutes(15);
    assert_eq!(store.otp_throttle_hit(&key, until).await.unwrap(), 1);
    assert_eq!(store.otp_throttle_hit(&key, until).await.unwrap(), 2);
}
