//! What keeps anonymous callers from growing the store without bound: parked turns
//! that expire, and the quota counters.

use super::*;

fn park(session: SessionId, expires_in: Duration) -> ParkedTurn {
    let now = Utc::now();
    ParkedTurn {
        id: uuid::Uuid::new_v4(),
        session_id: session,
        request_id: "r-park".into(),
        created_at: now,
        expires_at: now + expires_in,
        state: serde_json::json!({"transcript": ["…"], "iteration": 1}),
    }
}

pub async fn expired_parked_turns_are_removed_and_live_ones_kept(store: Arc<dyn Store>) {
    let expired: Vec<SessionId> = (0..3).map(|_| SessionId::random()).collect();
    for session in &expired {
        store
            .put_parked_turn(&park(*session, -Duration::minutes(1)))
            .await
            .unwrap();
    }
    let live = park(SessionId::random(), Duration::minutes(5));
    store.put_parked_turn(&live).await.unwrap();
    // An expired park replaced by a live one: the live one stays.
    let replaced = SessionId::random();
    store
        .put_parked_turn(&park(replaced, -Duration::minutes(2)))
        .await
        .unwrap();
    let newer = park(replaced, Duration::minutes(5));
    store.put_parked_turn(&newer).await.unwrap();

    let removed = store.expire_parked_turns(Utc::now()).await.unwrap();
    assert_eq!(removed, 3, "the three expired parks, not the replaced one");
    for session in &expired {
        assert_eq!(store.get_parked_turn(*session).await.unwrap(), None);
        assert_eq!(store.take_parked_turn(*session, None).await.unwrap(), None);
    }
    assert_eq!(
        store.get_parked_turn(live.session_id).await.unwrap(),
        Some(live.clone())
    );
    assert_eq!(
        store.get_parked_turn(replaced).await.unwrap(),
        Some(newer.clone())
    );
    assert_eq!(store.expire_parked_turns(Utc::now()).await.unwrap(), 0);
    // A live park is still taken exactly once after a sweep.
    assert!(
        store
            .take_parked_turn(live.session_id, Some(live.id))
            .await
            .unwrap()
            .is_some()
    );
    // Once its time has come, the replacement goes too.
    let later = newer.expires_at + Duration::seconds(1);
    assert_eq!(store.expire_parked_turns(later).await.unwrap(), 1);
    assert_eq!(store.get_parked_turn(replaced).await.unwrap(), None);
}

fn charge(key: &str, amount: u64, limit: u64) -> QuotaCharge {
    QuotaCharge {
        key: key.into(),
        amount,
        limit,
        expires_at: Utc::now() + Duration::hours(1),
    }
}

pub async fn quota_charges_stop_at_the_limit(store: Arc<dyn Store>) {
    let key = format!("sessions/ip/192.0.2.1/{}", uuid::Uuid::new_v4());
    for expected in 1..=3 {
        assert_eq!(
            store.quota_charge(&charge(&key, 1, 3)).await.unwrap(),
            QuotaVerdict::Admitted(expected)
        );
    }
    assert_eq!(
        store.quota_charge(&charge(&key, 1, 3)).await.unwrap(),
        QuotaVerdict::Refused
    );
    // Another counter is independent.
    let bytes = format!("bytes/org/o-1/{}", uuid::Uuid::new_v4());
    assert_eq!(
        store.quota_charge(&charge(&bytes, 7, 10)).await.unwrap(),
        QuotaVerdict::Admitted(7)
    );
    // A refused charge counts nothing: a smaller one still fits.
    assert_eq!(
        store.quota_charge(&charge(&bytes, 4, 10)).await.unwrap(),
        QuotaVerdict::Refused
    );
    assert_eq!(
        store.quota_charge(&charge(&bytes, 3, 10)).await.unwrap(),
        QuotaVerdict::Admitted(10)
    );
    // More than the whole limit at once is refused on a fresh counter too.
    let fresh = format!("bytes/org/o-2/{}", uuid::Uuid::new_v4());
    assert_eq!(
        store.quota_charge(&charge(&fresh, 11, 10)).await.unwrap(),
        QuotaVerdict::Refused
    );
}

pub async fn concurrent_quota_charges_never_pass_the_limit(store: Arc<dyn Store>) {
    let key = format!("sessions/org/o-1/{}", uuid::Uuid::new_v4());
    let chargers: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            let key = key.clone();
            async move { store.quota_charge(&charge(&key, 1, 5)).await.unwrap() }
        })
        .collect();
    let verdicts = futures_free_join(chargers).await;
    let mut admitted: Vec<u64> = verdicts
        .iter()
        .filter_map(|v| match v {
            QuotaVerdict::Admitted(n) => Some(*n),
            QuotaVerdict::Refused => None,
        })
        .collect();
    admitted.sort();
    assert_eq!(admitted, [1, 2, 3, 4, 5], "{verdicts:?}");
}

pub async fn quota_expiry_keeps_live_counters(store: Arc<dyn Store>) {
    let live = format!("sessions/ip/192.0.2.2/{}", uuid::Uuid::new_v4());
    assert_eq!(
        store.quota_charge(&charge(&live, 2, 3)).await.unwrap(),
        QuotaVerdict::Admitted(2)
    );
    let old = QuotaCharge {
        expires_at: Utc::now() - Duration::minutes(1),
        ..charge(
            &format!("sessions/ip/192.0.2.3/{}", uuid::Uuid::new_v4()),
            1,
            3,
        )
    };
    store.quota_charge(&old).await.unwrap();
    store.quota_expire(Utc::now()).await.unwrap();
    assert_eq!(
        store.quota_charge(&charge(&live, 1, 3)).await.unwrap(),
        QuotaVerdict::Admitted(3),
        "a live counter keeps its count"
    );
    assert_eq!(
        store.quota_charge(&charge(&live, 1, 3)).await.unwrap(),
        QuotaVerdict::Refused
    );
}
