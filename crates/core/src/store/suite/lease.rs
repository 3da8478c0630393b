//! Leases: one holder at a time, across every server sharing the store.

use super::*;

fn lease_name() -> String {
    format!("indexing:test:{}", uuid::Uuid::new_v4())
}

const MINUTE: std::time::Duration = std::time::Duration::from_secs(60);

pub async fn a_lease_has_one_holder_until_released(store: Arc<dyn Store>) {
    let name = lease_name();
    let held_by = |holder: &str| LeaseVerdict::Held {
        holder: holder.into(),
    };
    assert_eq!(
        store.acquire_lease(&name, "run-a", MINUTE).await.unwrap(),
        LeaseVerdict::Granted
    );
    assert_eq!(
        store.acquire_lease(&name, "run-b", MINUTE).await.unwrap(),
        held_by("run-a")
    );
    // The holder renews it.
    assert_eq!(
        store.acquire_lease(&name, "run-a", MINUTE).await.unwrap(),
        LeaseVerdict::Granted
    );
    // Another lease is another matter.
    assert_eq!(
        store
            .acquire_lease(&lease_name(), "run-b", MINUTE)
            .await
            .unwrap(),
        LeaseVerdict::Granted
    );
    // Only the holder can give it up.
    store.release_lease(&name, "run-b").await.unwrap();
    assert_eq!(
        store.acquire_lease(&name, "run-c", MINUTE).await.unwrap(),
        held_by("run-a")
    );
    store.release_lease(&name, "run-a").await.unwrap();
    assert_eq!(
        store.acquire_lease(&name, "run-b", MINUTE).await.unwrap(),
        LeaseVerdict::Granted
    );
    assert_eq!(
        store.acquire_lease(&name, "run-a", MINUTE).await.unwrap(),
        held_by("run-b")
    );
    // Releasing what nobody holds is harmless.
    store.release_lease(&lease_name(), "run-a").await.unwrap();
}

pub async fn a_lapsed_lease_goes_to_the_next_asker(store: Arc<dyn Store>) {
    let name = lease_name();
    let short = std::time::Duration::from_millis(1500);
    assert_eq!(
        store.acquire_lease(&name, "run-a", short).await.unwrap(),
        LeaseVerdict::Granted
    );
    assert!(matches!(
        store.acquire_lease(&name, "run-b", MINUTE).await.unwrap(),
        LeaseVerdict::Held { .. }
    ));
    // Its holder stopped renewing (it died): the lease lapses.
    std::thread::sleep(std::time::Duration::from_millis(2000));
    assert_eq!(
        store.acquire_lease(&name, "run-b", MINUTE).await.unwrap(),
        LeaseVerdict::Granted
    );
    assert_eq!(
        store.acquire_lease(&name, "run-a", short).await.unwrap(),
        LeaseVerdict::Held {
            holder: "run-b".into()
        }
    );
}

pub async fn concurrent_lease_requests_grant_exactly_one(store: Arc<dyn Store>) {
    let name = lease_name();
    let holders: Vec<String> = (0..8).map(|i| format!("run-{i}")).collect();
    let verdicts = futures_free_join(
        holders
            .iter()
            .map(|holder| store.acquire_lease(&name, holder, MINUTE))
            .collect(),
    )
    .await;
    let verdicts: Vec<LeaseVerdict> = verdicts.into_iter().map(Result::unwrap).collect();
    let granted: Vec<&String> = holders
        .iter()
        .zip(&verdicts)
        .filter(|(_, v)| **v == LeaseVerdict::Granted)
        .map(|(h, _)| h)
        .collect();
    assert_eq!(granted.len(), 1, "{verdicts:?}");
    for verdict in &verdicts {
        if let LeaseVerdict::Held { holder } = verdict {
            assert_eq!(holder, granted[0]);
        }
    }
}
