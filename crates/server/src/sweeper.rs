//! The background task that removes what nobody will come back for: parked turns
//! past their expiry (their client went away and nobody answered), and quota
//! counters past their window. Every replica runs one; their deletes overlap
//! harmlessly.

use chrono::Utc;
use std::sync::Arc;
use std::time::Duration;
use switchboard_core::Store;
use tokio_util::sync::CancellationToken;

/// How often the sweeper runs: a quarter of the park timeout, between 250 ms and a
/// minute. A park is removed within two periods of its expiry.
pub fn period(park_timeout: Duration) -> Duration {
    (park_timeout / 4).clamp(Duration::from_millis(250), Duration::from_secs(60))
}

/// Sweeps every [`period`] until `stop` is cancelled.
pub fn spawn(store: Arc<dyn Store>, park_timeout: Duration, stop: CancellationToken) {
    let period = period(park_timeout);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = ticks.tick() => sweep(&*store, period).await,
            }
        }
    });
}

/// One pass. A park is left for one more period after its expiry, so a turn still
/// waiting on it (its timer fires at the expiry) ends itself as expired first.
async fn sweep(store: &dyn Store, grace: Duration) {
    let now = Utc::now();
    let cutoff = now - chrono::Duration::from_std(grace).unwrap_or_default();
    match store.expire_parked_turns(cutoff).await {
        Ok(0) => {}
        Ok(removed) => tracing::info!(removed, "removed expired parked turns"),
        Err(e) => tracing::warn!(error = %e, "could not remove expired parked turns"),
    }
    if let Err(e) = store.quota_expire(now).await {
        tracing::warn!(error = %e, "could not remove expired quota counters");
    }
}
