//! A bounded cache of answers with a time to live, where concurrent misses for one
//! key share a single load.
//!
//! Keys come from visitors (any `agentId`), so the cache holds at most `capacity`
//! entries: when full, expired entries go first, then the one closest to expiry.
//! A load that fails is shared with whoever waited on it but never remembered.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::OnceCell;
use tokio::time::Instant;

/// The load in progress for one key; `None` inside means it failed.
type Loading<V> = Arc<OnceCell<Option<V>>>;

pub struct Cache<V> {
    entries: Mutex<HashMap<String, Entry<V>>>,
    ttl: Duration,
    capacity: usize,
}

enum Entry<V> {
    Ready { value: V, expires: Instant },
    Loading(Loading<V>),
}

/// What a lookup found.
enum Slot<V> {
    Hit(V),
    /// Wait on (or run) this load.
    Load(Loading<V>),
    /// Full of loads in progress: load without remembering.
    Bypass,
}

impl<V: Clone> Cache<V> {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            ttl,
            capacity: capacity.max(1),
        }
    }

    /// The fresh value for `key`, else the result of `load` (`None` when it failed:
    /// nothing is remembered and the next call loads again). Callers that miss
    /// while a load of `key` is running wait for it instead of starting another.
    pub async fn get_or_load<F, Fut>(&self, key: &str, load: F) -> Option<V>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Option<V>>,
    {
        let cell = match self.slot(key) {
            Slot::Hit(value) => return Some(value),
            Slot::Bypass => return load().await,
            Slot::Load(cell) => cell,
        };
        // If the caller running the load goes away, the next waiter runs its own.
        let loaded = cell.get_or_init(load).await.clone();
        self.settle(key, &cell, loaded.clone());
        loaded
    }

    /// How many keys are held (fresh, stale or loading).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    fn slot(&self, key: &str) -> Slot<V> {
        let now = Instant::now();
        let mut entries = self.lock();
        match entries.get(key) {
            Some(Entry::Ready { value, expires }) if *expires > now => {
                return Slot::Hit(value.clone());
            }
            Some(Entry::Loading(cell)) => return Slot::Load(cell.clone()),
            Some(Entry::Ready { .. }) => {}
            None => {
                if !make_room(&mut entries, self.capacity, now) {
                    return Slot::Bypass;
                }
            }
        }
        let cell = Loading::default();
        entries.insert(key.to_owned(), Entry::Loading(cell.clone()));
        Slot::Load(cell)
    }

    /// Records the outcome of `cell`'s load once, for whichever waiter gets here
    /// first: a value is kept until it expires, a failure is forgotten.
    fn settle(&self, key: &str, cell: &Loading<V>, loaded: Option<V>) {
        let mut entries = self.lock();
        let current = matches!(entries.get(key), Some(Entry::Loading(c)) if Arc::ptr_eq(c, cell));
        if !current {
            return;
        }
        match loaded {
            Some(value) => {
                let expires = Instant::now() + self.ttl;
                entries.insert(key.to_owned(), Entry::Ready { value, expires });
            }
            None => {
                entries.remove(key);
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry<V>>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Frees a place for one more key, if it can: drops expired entries and loads
/// nobody waits on any more, then, if still full, the entry closest to expiry.
fn make_room<V>(entries: &mut HashMap<String, Entry<V>>, capacity: usize, now: Instant) -> bool {
    if entries.len() < capacity {
        return true;
    }
    entries.retain(|_, entry| match entry {
        Entry::Ready { expires, .. } => *expires > now,
        Entry::Loading(cell) => Arc::strong_count(cell) > 1,
    });
    if entries.len() < capacity {
        return true;
    }
    let oldest = entries
        .iter()
        .filter_map(|(key, entry)| match entry {
            Entry::Ready { expires, .. } => Some((*expires, key)),
            Entry::Loading(_) => None,
        })
        .min()
        .map(|(_, key)| key.clone());
    match oldest {
        Some(key) => {
            entries.remove(&key);
            true
        }
        None => false,
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

    #[tokio::test(start_paused = true)]
    async fn a_value_is_reused_until_it_expires() {
        let cache = Cache::new(TTL, 10);
        let calls = AtomicUsize::new(0);
        for _ in 0..3 {
            let got = cache.get_or_load("a", || counted(&calls, Some("A"))).await;
            assert_eq!(got, Some("A"));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        tokio::time::advance(TTL - Duration::from_millis(1)).await;
        cache.get_or_load("a", || counted(&calls, Some("A"))).await;
        assert_eq!(calls.load(Ordering::SeqCst), 1, "still fresh");
        tokio::time::advance(Duration::from_millis(1)).await;
        cache.get_or_load("a", || counted(&calls, Some("A"))).await;
        assert_eq!(calls.load(Ordering::SeqCst), 2, "expired, loaded again");
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_is_not_remembered() {
        let cache = Cache::<&str>::new(TTL, 10);
        let calls = AtomicUsize::new(0);
        assert_eq!(cache.get_or_load("a", || counted(&calls, None)).await, None);
        assert_eq!(cache.len(), 0);
        assert_eq!(
            cache.get_or_load("a", || counted(&calls, Some("A"))).await,
            Some("A")
        );
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_zero_ttl_loads_every_time() {
        let cache = Cache::new(Duration::ZERO, 10);
        let calls = AtomicUsize::new(0);
        for _ in 0..3 {
            cache.get_or_load("a", || counted(&calls, Some("A"))).await;
        }
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_misses_share_one_load() {
        let cache = Cache::new(TTL, 10);
        let calls = AtomicUsize::new(0);
        let slow = || async {
            calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_secs(1)).await;
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

    #[tokio::test(start_paused = true)]
    async fn an_abandoned_load_is_taken_over() {
        let cache = Cache::new(TTL, 10);
        let never = cache.get_or_load("a", std::future::pending::<Option<&str>>);
        assert!(
            tokio::time::timeout(Duration::from_secs(1), never)
                .await
                .is_err()
        );
        assert_eq!(
            cache.get_or_load("a", || async { Some("A") }).await,
            Some("A")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_cache_never_holds_more_than_its_capacity() {
        let cache = Cache::new(TTL, 3);
        let calls = AtomicUsize::new(0);
        for key in ["a", "b", "c"] {
            cache.get_or_load(key, || counted(&calls, Some("v"))).await;
            tokio::time::advance(Duration::from_secs(1)).await;
        }
        for i in 0..100 {
            let key = format!("attacker-{i}");
            cache.get_or_load(&key, || counted(&calls, Some("v"))).await;
            assert!(cache.len() <= 3);
        }
        // The oldest went first; the newest attacker keys are what is left.
        let before = calls.load(Ordering::SeqCst);
        cache
            .get_or_load("attacker-99", || counted(&calls, Some("v")))
            .await;
        assert_eq!(calls.load(Ordering::SeqCst), before);
        cache.get_or_load("a", || counted(&calls, Some("v"))).await;
        assert_eq!(calls.load(Ordering::SeqCst), before + 1);
    }

    #[tokio::test(start_paused = true)]
    async fn expired_entries_make_room_before_fresh_ones() {
        let cache = Cache::new(TTL, 2);
        let calls = AtomicUsize::new(0);
        cache
            .get_or_load("old", || counted(&calls, Some("v")))
            .await;
        tokio::time::advance(TTL).await;
        cache
            .get_or_load("fresh", || counted(&calls, Some("v")))
            .await;
        cache
            .get_or_load("new", || counted(&calls, Some("v")))
            .await;
        let before = calls.load(Ordering::SeqCst);
        cache
            .get_or_load("fresh", || counted(&calls, Some("v")))
            .await;
        assert_eq!(calls.load(Ordering::SeqCst), before, "'fresh' was kept");
    }
}
