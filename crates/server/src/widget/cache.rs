//! A bounded cache of answers with a time to live, where concurrent misses for one
//! key share a single load.
//!
//! Keys come from visitors (any `agentId`), so the cache is `moka`'s: it holds at
//! most about `capacity` entries, evicts in constant time per insertion (no scan
//! under a lock), and admits a new key only when it is asked for more often than
//! the entry it would replace, so a flood of one-off keys does not push out the
//! agents in use. A load that fails is shared with whoever waited on it but never
//! remembered.

use std::future::Future;
use std::time::Duration;

pub struct Cache<V> {
    /// `None` when the time to live is zero: every call loads.
    entries: Option<moka::future::Cache<String, V>>,
}

impl<V: Clone + Send + Sync + 'static> Cache<V> {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        let entries = (!ttl.is_zero()).then(|| {
            moka::future::Cache::builder()
                .max_capacity(capacity.max(1) as u64)
                .time_to_live(ttl)
                .build()
        });
        Self { entries }
    }

    /// The fresh value for `key`, else the result of `load` (`None` when it failed:
    /// nothing is remembered and the next call loads again). Callers that miss
    /// while a load of `key` is running wait for it instead of starting another;
    /// if the caller running it goes away, a waiter runs its own.
    pub async fn get_or_load<F, Fut>(&self, key: &str, load: F) -> Option<V>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Option<V>>,
    {
        match &self.entries {
            Some(entries) => entries.optionally_get_with(key.to_owned(), load()).await,
            None => load().await,
        }
    }

    /// How many keys are held, once pending evictions have run.
    #[cfg(test)]
    pub async fn len(&self) -> u64 {
        match &self.entries {
            Some(entries) => {
                entries.run_pending_tasks().await;
                entries.entry_count()
            }
            None => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const TTL: Duration = Duration::from_secs(60);

    /// A load that counts its calls and answers `answer`.
    async fn counted(calls: &AtomicUsize, answer: Option<&'static str>) -> Option<&'static str> {
        calls.fetch_add(1, Ordering::SeqCst);
        answer
    }

    #[tokio::test]
    async fn a_value_is_reused_until_it_expires() {
        let ttl = Duration::from_secs(2);
        let cache = Cache::new(ttl, 10);
        let calls = AtomicUsize::new(0);
        for _ in 0..3 {
            let got = cache.get_or_load("a", || counted(&calls, Some("A"))).await;
            assert_eq!(got, Some("A"));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        tokio::time::sleep(ttl + Duration::from_secs(1)).await;
        cache.get_or_load("a", || counted(&calls, Some("A"))).await;
        assert_eq!(calls.load(Ordering::SeqCst), 2, "expired, loaded again");
    }

    #[tokio::test]
    async fn a_failure_is_not_remembered() {
        let cache = Cache::<&str>::new(TTL, 10);
        let calls = AtomicUsize::new(0);
        assert_eq!(cache.get_or_load("a", || counted(&calls, None)).await, None);
        assert_eq!(cache.len().await, 0);
        assert_eq!(
            cache.get_or_load("a", || counted(&calls, Some("A"))).await,
            Some("A")
        );
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_zero_ttl_loads_every_time() {
        let cache = Cache::new(Duration::ZERO, 10);
        let calls = AtomicUsize::new(0);
        for _ in 0..3 {
            cache.get_or_load("a", || counted(&calls, Some("A"))).await;
        }
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn concurrent_misses_share_one_load() {
        let cache = Cache::new(TTL, 10);
        let calls = AtomicUsize::new(0);
        let slow = || async {
            calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(500)).await;
            Some("A")
        };
        let (a, b, c) = tokio::join!(
            cache.get_or_load("a", slow),
            cache.get_or_load("a", slow),
            cache.get_or_load("a", slow),
        );
        assert_eq!((a, b, c), (Some("A"), Some("A"), Some("A")));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn an_abandoned_load_is_taken_over() {
        let cache = Cache::new(TTL, 10);
        let never = cache.get_or_load("a", std::future::pending::<Option<&str>>);
        assert!(
            tokio::time::timeout(Duration::from_millis(200), never)
                .await
                .is_err()
        );
        assert_eq!(
            cache.get_or_load("a", || async { Some("A") }).await,
            Some("A")
        );
    }

    /// Visitors naming a new agent id at every request neither grow the cache past
    /// its capacity nor push out an agent in steady use.
    #[tokio::test]
    async fn a_flood_of_new_keys_is_bounded_and_keeps_the_keys_in_use() {
        let cache = Cache::new(TTL, 100);
        let hot = AtomicUsize::new(0);
        let cold = AtomicUsize::new(0);
        for i in 0..5_000 {
            if i % 10 == 0 {
                cache.get_or_load("hot", || counted(&hot, Some("v"))).await;
            }
            let key = format!("attacker-{i}");
            cache.get_or_load(&key, || counted(&cold, Some("v"))).await;
            if i % 500 == 0 {
                assert!(cache.len().await <= 100);
            }
        }
        assert!(cache.len().await <= 100);
        assert_eq!(cold.load(Ordering::SeqCst), 5_000);
        assert_eq!(hot.load(Ordering::SeqCst), 1, "the agent in use was kept");
    }
}
