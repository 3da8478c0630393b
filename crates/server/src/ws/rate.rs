//! A connection's allowance of inbound frames.
//!
//! Every data frame (text or binary, `ping` and `cancel` included) takes a token
//! from a bucket refilled at the sustained rate and holding at most the burst. A
//! frame that finds the bucket empty is refused: answered `RATE_LIMITED` and not
//! acted on. Refusals draw on a second bucket, ten bursts deep and refilled at the
//! same rate, so a client that slows down keeps its socket while one that keeps
//! flooding empties it and is disconnected.
//!
//! `ping` is not exempt: a refusal costs the server what a `pong` would, it echoes
//! the ping's `requestId` (so a client still learns the socket is alive), and
//! honest clients ping every few seconds at most. WebSocket control frames are
//! answered by the WebSocket layer and not counted.

use crate::config::RateLimit;
use std::time::Instant;

/// How many bursts' worth of refused frames a client may send beyond the sustained
/// rate before it counts as flooding.
const FLOOD_BURSTS: f64 = 10.0;

/// What to do with one inbound frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Within the allowance: handle it.
    Allow,
    /// Over the allowance: answer `RATE_LIMITED` without acting on it. `first` is
    /// true for the first refusal after an allowed frame, so a run is logged once.
    Refuse { first: bool },
    /// Flooding: close the connection.
    Close,
}

/// One connection's allowance.
#[derive(Debug)]
pub struct FrameAllowance {
    limit: RateLimit,
    frames: TokenBucket,
    refusals: TokenBucket,
    refusing: bool,
}

impl FrameAllowance {
    pub fn new(limit: RateLimit, now: Instant) -> Self {
        let rate = f64::from(limit.per_sec);
        Self {
            limit,
            frames: TokenBucket::full(f64::from(limit.burst), rate, now),
            refusals: TokenBucket::full(f64::from(limit.burst) * FLOOD_BURSTS, rate, now),
            refusing: false,
        }
    }

    /// The verdict on a frame arriving at `now`.
    pub fn check(&mut self, now: Instant) -> Verdict {
        if self.frames.try_take(now) {
            self.refusing = false;
            return Verdict::Allow;
        }
        if !self.refusals.try_take(now) {
            return Verdict::Close;
        }
        let first = !self.refusing;
        self.refusing = true;
        Verdict::Refuse { first }
    }

    pub fn limit(&self) -> RateLimit {
        self.limit
    }
}

/// Tokens refilled continuously at `per_sec`, never more than `capacity`.
#[derive(Debug)]
struct TokenBucket {
    capacity: f64,
    per_sec: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    fn full(capacity: f64, per_sec: f64, now: Instant) -> Self {
        Self {
            capacity,
            per_sec,
            tokens: capacity,
            last: now,
        }
    }

    fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.capacity);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn allowance(per_sec: u32, burst: u32) -> (FrameAllowance, Instant) {
        let now = Instant::now();
        (FrameAllowance::new(RateLimit { per_sec, burst }, now), now)
    }

    #[test]
    fn a_burst_passes_then_frames_are_refused_until_the_bucket_refills() {
        let (mut a, t0) = allowance(10, 5);
        for _ in 0..5 {
            assert_eq!(a.check(t0), Verdict::Allow);
        }
        assert_eq!(a.check(t0), Verdict::Refuse { first: true });
        assert_eq!(a.check(t0), Verdict::Refuse { first: false });
        // 10 a second: one token every 100 ms.
        let t1 = t0 + Duration::from_millis(100);
        assert_eq!(a.check(t1), Verdict::Allow);
        assert_eq!(a.check(t1), Verdict::Refuse { first: true });
        // A long pause refills the burst, not more.
        let t2 = t1 + Duration::from_secs(60);
        for _ in 0..5 {
            assert_eq!(a.check(t2), Verdict::Allow);
        }
        assert!(matches!(a.check(t2), Verdict::Refuse { .. }));
    }

    #[test]
    fn the_sustained_rate_is_never_refused() {
        let (mut a, t0) = allowance(20, 1);
        for i in 0..1000 {
            assert_eq!(a.check(t0 + Duration::from_millis(50 * i)), Verdict::Allow);
        }
    }

    #[test]
    fn a_flood_is_closed_after_ten_bursts_of_refusals() {
        let (mut a, t0) = allowance(20, 40);
        let mut refused = 0;
        let verdict = loop {
            match a.check(t0) {
                Verdict::Allow => {}
                Verdict::Refuse { .. } => refused += 1,
                close => break close,
            }
        };
        assert_eq!(verdict, Verdict::Close);
        assert_eq!(refused, 400);
    }

    #[test]
    fn the_largest_settings_do_not_overflow() {
        let (mut a, t0) = allowance(u32::MAX, u32::MAX);
        assert_eq!(a.check(t0), Verdict::Allow);
    }

    #[test]
    fn twice_the_rate_is_refused_in_part_but_tolerated() {
        // 40 frames a second against 20/s: half are refused, and the refusals are
        // within what the refusal bucket refills, so the socket is never closed.
        let (mut a, t0) = allowance(20, 40);
        let (mut allowed, mut refused) = (0, 0);
        for i in 0..4000 {
            match a.check(t0 + Duration::from_millis(25 * i)) {
                Verdict::Allow => allowed += 1,
                Verdict::Refuse { .. } => refused += 1,
                Verdict::Close => panic!("closed after {i} frames"),
            }
        }
        assert!(allowed >= 2000 && refused > 1900, "{allowed} / {refused}");
    }
}
