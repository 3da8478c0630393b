//! How many codes may go out: per destination and per client address, counted in
//! fixed windows through the [`Store`](switchboard_core::Store), so every replica
//! sees the same counts. Keys hold an HMAC of the destination, never the address
//! itself.

use super::{BuiltinOtp, Channel, OtpError, channel_name};
use chrono::{DateTime, TimeZone, Utc};
use std::net::IpAddr;
use std::time::Duration;

/// At most `max` codes per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendLimit {
    pub max: u32,
    pub window: Duration,
}

impl SendLimit {
    pub const fn new(max: u32, window: Duration) -> Self {
        Self { max, window }
    }

    pub(super) fn validate(&self, what: &str) -> Result<(), String> {
        if self.max == 0 {
            return Err(format!("the OTP limit {what} must allow at least 1 code"));
        }
        let secs = self.window.as_secs();
        if !(1..=24 * 60 * 60).contains(&secs) {
            return Err(format!("the OTP window {what} must be 1 second to a day"));
        }
        Ok(())
    }

    /// The window `now` falls in, and when it ends.
    fn window(&self, now: DateTime<Utc>) -> (i64, DateTime<Utc>) {
        let secs = i64::try_from(self.window.as_secs().max(1)).unwrap_or(i64::MAX);
        let index = now.timestamp().div_euclid(secs);
        let end = Utc
            .timestamp_opt(index.saturating_add(1).saturating_mul(secs), 0)
            .single()
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        (index, end)
    }
}

impl BuiltinOtp {
    /// Counts this send against the client's address (when known), then its
    /// destination; refuses it when either is over its limit. A refused send
    /// still counts, so hammering does not reopen the window.
    pub(super) async fn throttle(
        &self,
        channel: Channel,
        destination: &str,
        client: Option<IpAddr>,
        now: DateTime<Utc>,
    ) -> Result<(), OtpError> {
        if let Some(ip) = client {
            let who = self.key.tag(&["otp-throttle-client", &ip.to_string()]);
            self.hit("client", &who, self.settings.per_client, now)
                .await?;
        }
        // Addresses differ only by case in practice; numbers are E.164 already.
        let normal = destination.trim().to_lowercase();
        let to = self
            .key
            .tag(&["otp-throttle-destination", channel_name(channel), &normal]);
        self.hit("destination", &to, self.settings.per_destination, now)
            .await
    }

    async fn hit(
        &self,
        which: &'static str,
        tag: &str,
        limit: SendLimit,
        now: DateTime<Utc>,
    ) -> Result<(), OtpError> {
        let (index, end) = limit.window(now);
        let key = format!("{which}:{}:{}:{index}", &tag[..32], limit.window.as_secs());
        let count = self.store.otp_throttle_hit(&key, end).await?;
        if count <= u64::from(limit.max) {
            return Ok(());
        }
        let retry_after = (end - now).to_std().unwrap_or(Duration::ZERO);
        tracing::warn!(
            limit = which,
            count,
            max = limit.max,
            "refusing a one-time code: over the send limit"
        );
        Err(OtpError::Throttled { which, retry_after })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_aligned_and_end_after_now() {
        let limit = SendLimit::new(5, Duration::from_secs(900));
        let now = Utc.timestamp_opt(1_800_000_123, 0).unwrap();
        let (index, end) = limit.window(now);
        assert_eq!(index, 1_800_000_123 / 900);
        assert!(end > now && (end - now).num_seconds() <= 900);
        assert_eq!(end.timestamp() % 900, 0);
    }

    #[test]
    fn limits_are_checked() {
        assert!(
            SendLimit::new(5, Duration::from_secs(900))
                .validate("x")
                .is_ok()
        );
        assert!(
            SendLimit::new(0, Duration::from_secs(900))
                .validate("x")
                .is_err()
        );
        assert!(SendLimit::new(5, Duration::ZERO).validate("x").is_err());
        assert!(
            SendLimit::new(5, Duration::from_secs(2 * 86_400))
                .validate("x")
                .is_err()
        );
    }
}
