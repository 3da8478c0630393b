//! The one retry policy for every call to the LLM gateway: chat completions (in the
//! agent crate), embeddings and rerank (here). It decides which answers deserve
//! another attempt, how long to wait first (what the gateway asks for, in seconds or
//! as an HTTP date, else exponential backoff with jitter, never above a cap), and how
//! many attempts to make.

use reqwest::header::HeaderMap;
use std::future::Future;
use std::time::{Duration, SystemTime};

/// Headers in which a gateway says how long to wait, most precise first. LiteLLM
/// forwards the provider's own `Retry-After` as `llm_provider-retry-after`.
const RETRY_AFTER_HEADERS: [&str; 3] =
    ["retry-after-ms", "retry-after", "llm_provider-retry-after"];

/// How often and how patiently to retry a gateway call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The first backoff; each further one doubles (before jitter).
    pub base: Duration,
    /// No wait is longer than this, whatever the gateway asks for.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    /// Three retries from half a second, never waiting more than 30 s at a time.
    fn default() -> Self {
        Self {
            max_retries: 3,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The backoff before retry number `retry + 1`, without jitter: doubling from
    /// the base, up to the cap.
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The wait before retry number `retry + 1`: what the gateway asked for (capped),
    /// or the backoff with "equal jitter" (between half of it and all of it), so
    /// replicas that failed together do not come back together.
    pub fn delay(&self, retry: u32, asked: Option<Duration>) -> Duration {
        if let Some(asked) = asked {
            return asked.min(self.cap);
        }
        let backoff = self.backoff(retry);
        let half = backoff / 2;
        let spread = u64::try_from((backoff - half).as_micros()).unwrap_or(u64::MAX);
        let jitter = if spread == 0 {
            0
        } else {
            getrandom::u64().unwrap_or(0) % (spread + 1)
        };
        half + Duration::from_micros(jitter)
    }

    /// Runs `attempt` until it succeeds, fails for good, or the retries are spent,
    /// sleeping [`RetryPolicy::delay`] between attempts. `what` names the call in logs.
    pub async fn run<T, E, F, Fut>(&self, what: &str, mut attempt: F) -> Result<T, E>
    where
        E: std::fmt::Display,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Failure<E>>>,
    {
        let mut retries = 0;
        loop {
            let failure = match attempt().await {
                Ok(value) => return Ok(value),
                Err(failure) => failure,
            };
            if !failure.retryable || retries >= self.max_retries {
                return Err(failure.error);
            }
            let delay = self.delay(retries, failure.retry_after);
            retries += 1;
            tracing::warn!(
                call = what,
                retry = retries,
                max_retries = self.max_retries,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                error = %failure.error,
                "retrying a gateway call"
            );
            tokio::time::sleep(delay).await;
        }
    }
}

/// Why one attempt failed, and whether (and when) another is worth making.
#[derive(Debug)]
pub struct Failure<E> {
    pub error: E,
    pub retryable: bool,
    /// The wait the gateway asked for, if it did.
    pub retry_after: Option<Duration>,
}

impl<E> Failure<E> {
    /// A failure another attempt would not cure.
    pub fn fatal(error: E) -> Self {
        Self {
            error,
            retryable: false,
            retry_after: None,
        }
    }

    /// A failure worth another attempt after the usual backoff.
    pub fn transient(error: E) -> Self {
        Self {
            error,
            retryable: true,
            retry_after: None,
        }
    }

    /// A failed HTTP answer: retried when its status says so, after the wait its
    /// headers ask for.
    pub fn from_response(error: E, status: u16, headers: &HeaderMap) -> Self {
        let retryable = is_retryable_status(status);
        Self {
            error,
            retryable,
            retry_after: retryable
                .then(|| retry_after(headers, SystemTime::now()))
                .flatten(),
        }
    }
}

/// Statuses that say "not now" rather than "never": rate limits, a gateway or
/// provider briefly down or overloaded (529 is Anthropic's "overloaded"; 520–527
/// are Cloudflare's origin failures).
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504 | 520..=527 | 529)
}

/// The wait a response asks for: `retry-after-ms`, `Retry-After` (seconds or an
/// HTTP date) or LiteLLM's `llm_provider-retry-after`, the first that reads.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    RETRY_AFTER_HEADERS.iter().find_map(|name| {
        let value = headers.get(*name)?.to_str().ok()?.trim();
        if *name == "retry-after-ms" {
            let millis: f64 = value.parse().ok()?;
            return Duration::try_from_secs_f64(millis / 1000.0).ok();
        }
        parse_wait(value, now)
    })
}

/// A `Retry-After` value: a number of seconds, or an HTTP date (a date already
/// past means "now").
fn parse_wait(value: &str, now: SystemTime) -> Option<Duration> {
    if let Ok(seconds) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).ok();
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn backoff_doubles_from_the_base_up_to_the_cap() {
        let policy = RetryPolicy {
            max_retries: 3,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(3),
        };
        let waits: Vec<_> = (0..5).map(|a| policy.backoff(a).as_millis()).collect();
        assert_eq!(waits, vec![500, 1000, 2000, 3000, 3000]);
        assert_eq!(policy.backoff(40), Duration::from_secs(3));
    }

    #[test]
    fn jittered_delays_stay_between_half_and_all_of_the_backoff_and_vary() {
        let policy = RetryPolicy::default();
        let delays: Vec<_> = (0..50).map(|_| policy.delay(2, None)).collect();
        for delay in &delays {
            assert!(
                *delay >= Duration::from_secs(1) && *delay <= Duration::from_secs(2),
                "{delay:?}"
            );
        }
        assert!(delays.iter().any(|d| *d != delays[0]), "no jitter");
    }

    #[test]
    fn an_asked_wait_is_honoured_up_to_the_cap() {
        let policy = RetryPolicy::default();
        assert_eq!(
            policy.delay(0, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        assert_eq!(
            policy.delay(0, Some(Duration::from_secs(99_999))),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn retry_after_reads_seconds_dates_milliseconds_and_litellm_s_header() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let at = |h: &[(&'static str, &str)]| retry_after(&headers(h), now);
        assert_eq!(at(&[("retry-after", "2")]), Some(Duration::from_secs(2)));
        assert_eq!(
            at(&[("retry-after", "0.5")]),
            Some(Duration::from_millis(500))
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(5));
        assert_eq!(at(&[("retry-after", &later)]), Some(Duration::from_secs(5)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(5));
        assert_eq!(at(&[("retry-after", &past)]), Some(Duration::ZERO));
        assert_eq!(
            at(&[("llm_provider-retry-after", "3")]),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            at(&[("retry-after-ms", "250"), ("retry-after", "9")]),
            Some(Duration::from_millis(250))
        );
        assert_eq!(at(&[("retry-after", "soon")]), None);
        assert_eq!(at(&[("retry-after", "-1")]), None);
        assert_eq!(at(&[]), None);
    }

    #[test]
    fn statuses_that_mean_not_now_are_retried() {
        for status in [429, 500, 502, 503, 504, 520, 527, 529] {
            assert!(is_retryable_status(status), "{status}");
        }
        for status in [400, 401, 403, 404, 413, 422, 501, 505] {
            assert!(!is_retryable_status(status), "{status}");
        }
    }

    #[test]
    fn only_retryable_answers_carry_their_asked_wait() {
        let asked = headers(&[("retry-after", "4")]);
        let failure = Failure::from_response("x", 529, &asked);
        assert!(failure.retryable);
        assert_eq!(failure.retry_after, Some(Duration::from_secs(4)));
        let failure = Failure::from_response("x", 400, &asked);
        assert!(!failure.retryable);
        assert_eq!(failure.retry_after, None);
    }

    #[tokio::test]
    async fn run_retries_until_success_and_gives_up_after_the_last_retry() {
        let policy = RetryPolicy {
            max_retries: 2,
            base: Duration::from_millis(1),
            cap: Duration::from_millis(5),
        };
        let mut calls = 0;
        let result: Result<u32, &str> = policy
            .run("test", || {
                calls += 1;
                let n = calls;
                async move {
                    if n < 3 {
                        Err(Failure::transient("busy"))
                    } else {
                        Ok(n)
                    }
                }
            })
            .await;
        assert_eq!(result, Ok(3));

        let mut calls = 0;
        let result: Result<(), &str> = policy
            .run("test", || {
                calls += 1;
                async { Err(Failure::transient("busy")) }
            })
            .await;
        assert_eq!((result, calls), (Err("busy"), 3));

        let mut calls = 0;
        let result: Result<(), &str> = policy
            .run("test", || {
                calls += 1;
                async { Err(Failure::fatal("bad key")) }
            })
            .await;
        assert_eq!((result, calls), (Err("bad key"), 1));
    }
}
