//! Counters behind the quotas against abuse (sessions an hour, bytes stored a day),
//! kept in the store so every replica counts against the same total.

use chrono::{DateTime, Utc};

/// One charge against a quota counter.
///
/// A counter lives for one window: its `key` names the window (for example
/// `sessions/ip/203.0.113.7/1764748800`), so the next window starts from zero
/// under a new key, and `expires_at` says when the store may forget it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaCharge {
    pub key: String,
    pub amount: u64,
    /// The most the counter may reach.
    pub limit: u64,
    pub expires_at: DateTime<Utc>,
}

/// What a [`QuotaCharge`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaVerdict {
    /// Counted: the counter now holds this much.
    Admitted(u64),
    /// Not counted: it would have gone over the limit.
    Refused,
}
