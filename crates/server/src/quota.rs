//! Bounds on what callers can make the store keep: the size and depth of a new
//! session's metadata, and quotas on sessions created per hour (per client address
//! and per organisation) and on bytes stored per day (per organisation).
//!
//! Quotas are counted in the store ([`Store::quota_charge`]), so every replica
//! counts against the same totals. Windows are fixed (the clock hour, the UTC day):
//! a counter's key names its window, so each window starts from zero.

use crate::actions::ActionError;
use crate::config::StorageLimits;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::net::IpAddr;
use switchboard_core::{OrgId, QuotaCharge, QuotaVerdict, Store};

/// Refuses metadata over the size or depth cap, naming `metadata` and the limit.
pub fn check_metadata(
    metadata: &Map<String, Value>,
    limits: &StorageLimits,
) -> Result<(), ActionError> {
    let Shape { depth, text_bytes } = shape(metadata);
    if depth > limits.max_metadata_depth {
        return Err(ActionError::Validation(format!(
            "'metadata' nests {depth} levels deep; this server accepts at most {}",
            limits.max_metadata_depth
        )));
    }
    // The text it holds is a lower bound of its JSON length, known without
    // reading it: metadata far over the cap is refused at no cost.
    let size = if text_bytes > limits.max_metadata_bytes {
        text_bytes
    } else {
        json_len(metadata)
    };
    if size > limits.max_metadata_bytes {
        return Err(ActionError::Validation(format!(
            "'metadata' is too large: at least {size} bytes as JSON; this server accepts at most {} bytes",
            limits.max_metadata_bytes
        )));
    }
    Ok(())
}

/// How deeply a metadata object nests (the object itself is 1, a value inside it
/// 2, ...) and the bytes of its keys and strings.
struct Shape {
    depth: usize,
    text_bytes: usize,
}

/// Walks `metadata` without recursion.
fn shape(metadata: &Map<String, Value>) -> Shape {
    let mut shape = Shape {
        depth: 1,
        text_bytes: metadata.keys().map(String::len).sum(),
    };
    let mut stack: Vec<(&Value, usize)> = metadata.values().map(|v| (v, 2)).collect();
    while let Some((value, level)) = stack.pop() {
        match value {
            Value::String(text) => shape.text_bytes += text.len(),
            Value::Array(items) => {
                shape.depth = shape.depth.max(level);
                stack.extend(items.iter().map(|child| (child, level + 1)));
            }
            Value::Object(map) => {
                shape.depth = shape.depth.max(level);
                shape.text_bytes += map.keys().map(String::len).sum::<usize>();
                stack.extend(map.values().map(|child| (child, level + 1)));
            }
            _ => {}
        }
    }
    shape
}

/// The length of `value` as compact JSON, without building the text.
fn json_len(value: &impl serde::Serialize) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Writing to a counter cannot fail, and a JSON map always serializes.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

/// The bytes a new session asks the store to keep on the caller's behalf.
pub fn session_bytes(req: &switchboard_protocol::CreateSession) -> u64 {
    let text = |s: &Option<String>| s.as_deref().map_or(0, str::len);
    let supports = req.supports.as_ref().map_or(0, json_len);
    (json_len(&req.metadata)
        + text(&req.user_name)
        + text(&req.user_email)
        + text(&req.browser_fingerprint)
        + supports) as u64
}

/// A fixed counting window.
#[derive(Clone, Copy)]
struct Window {
    seconds: i64,
    name: &'static str,
}

const HOUR: Window = Window {
    seconds: 3600,
    name: "an hour",
};
const DAY: Window = Window {
    seconds: 86_400,
    name: "a day",
};

impl Window {
    /// The start and end of the window holding `now`.
    fn around(self, now: DateTime<Utc>) -> (i64, DateTime<Utc>) {
        let start = now.timestamp().div_euclid(self.seconds) * self.seconds;
        let end = DateTime::from_timestamp(start + self.seconds, 0).unwrap_or(now);
        (start, end)
    }
}

/// What a client address counts as: an IPv4 address itself, an IPv6 address its
/// /64 (one subscriber's network, which its owner can fill with addresses).
fn address_subject(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let network = u128::from(v6) & !((1u128 << 64) - 1);
            format!("{}/64", std::net::Ipv6Addr::from(network))
        }
    }
}

/// One quota to charge.
struct Quota<'a> {
    /// The counter's name: what is counted and for whom.
    counter: String,
    limit: u64,
    window: Window,
    /// The variable that sets the limit, for the log.
    variable: &'static str,
    /// What the client is told is used up, e.g. "new sessions from one address".
    what: &'a str,
}

async fn charge(store: &dyn Store, quota: Quota<'_>, amount: u64) -> Result<(), ActionError> {
    let (start, end) = quota.window.around(Utc::now());
    let verdict = store
        .quota_charge(&QuotaCharge {
            key: format!("{}/{start}", quota.counter),
            amount,
            limit: quota.limit,
            expires_at: end,
        })
        .await?;
    match verdict {
        QuotaVerdict::Admitted(_) => Ok(()),
        QuotaVerdict::Refused => {
            tracing::warn!(
                limit = quota.variable,
                max = quota.limit,
                counter = %quota.counter,
                "refusing a write over its quota"
            );
            Err(ActionError::QuotaExceeded(format!(
                "quota exceeded: at most {} {} {}; nothing was stored, try again after {} UTC",
                quota.limit,
                quota.what,
                quota.window.name,
                end.format("%Y-%m-%d %H:%M")
            )))
        }
    }
}

/// Counts a new session against the address's and the organisation's hourly
/// quotas and the organisation's daily bytes. A refused session is still counted
/// by the quotas charged before the one that refused it.
pub async fn charge_new_session(
    store: &dyn Store,
    limits: &StorageLimits,
    ip: Option<IpAddr>,
    org: &OrgId,
    bytes: u64,
) -> Result<(), ActionError> {
    if let (Some(limit), Some(ip)) = (limits.sessions_per_hour_per_ip, ip) {
        let quota = Quota {
            counter: format!("sessions/ip/{}", address_subject(ip)),
            limit,
            window: HOUR,
            variable: "SMOOTH_AGENT_SESSIONS_PER_HOUR_PER_IP",
            what: "new sessions from one address",
        };
        charge(store, quota, 1).await?;
    }
    if let Some(limit) = limits.sessions_per_hour_per_org {
        let quota = Quota {
            counter: format!("sessions/org/{org}"),
            limit,
            window: HOUR,
            variable: "SMOOTH_AGENT_SESSIONS_PER_HOUR_PER_ORG",
            what: "new sessions for this organisation",
        };
        charge(store, quota, 1).await?;
    }
    charge_stored_bytes(store, limits, org, bytes).await
}

/// Counts bytes a caller asks the store to keep against the organisation's daily
/// quota.
pub async fn charge_stored_bytes(
    store: &dyn Store,
    limits: &StorageLimits,
    org: &OrgId,
    bytes: u64,
) -> Result<(), ActionError> {
    let Some(limit) = limits.stored_bytes_per_day_per_org else {
        return Ok(());
    };
    let quota = Quota {
        counter: format!("bytes/org/{org}"),
        limit,
        window: DAY,
        variable: "SMOOTH_AGENT_STORED_BYTES_PER_DAY_PER_ORG",
        what: "bytes of session data and messages stored for this organisation",
    };
    charge(store, quota, bytes).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn limits() -> StorageLimits {
        crate::Config::for_tests().storage_limits
    }

    #[test]
    fn depth_counts_the_object_as_one_level() {
        let map = |v: Value| v.as_object().unwrap().clone();
        let depth = |v: Value| shape(&map(v)).depth;
        assert_eq!(shape(&Map::new()).depth, 1);
        assert_eq!(depth(json!({"a": 1, "b": "x"})), 1);
        assert_eq!(depth(json!({"a": [1]})), 2);
        assert_eq!(depth(json!({"a": {"b": [{"c": 1}]}})), 4);
        assert_eq!(depth(json!({"a": [], "b": {}})), 2);
        assert_eq!(shape(&map(json!({"ab": ["cd", {"e": "f"}]}))).text_bytes, 6);
    }

    #[test]
    fn metadata_over_a_cap_is_refused_naming_it() {
        let nest = |levels: usize| {
            let mut value = json!(1);
            for _ in 0..levels {
                value = json!({ "k": value });
            }
            value.as_object().unwrap().clone()
        };
        assert!(check_metadata(&nest(8), &limits()).is_ok());
        let e = check_metadata(&nest(9), &limits()).unwrap_err().to_string();
        assert!(e.contains("'metadata'") && e.contains("at most 8"), "{e}");
        let big: Map<String, Value> = [("k".to_owned(), Value::String("x".repeat(16_384)))]
            .into_iter()
            .collect();
        let e = check_metadata(&big, &limits()).unwrap_err().to_string();
        assert!(e.contains("'metadata'") && e.contains("16384 bytes"), "{e}");
        let fits: Map<String, Value> = [("k".to_owned(), Value::String("x".repeat(16_000)))]
            .into_iter()
            .collect();
        assert!(check_metadata(&fits, &limits()).is_ok());
        // Escapes count as written: short text can be long JSON.
        let escaped: Map<String, Value> = [("k".to_owned(), Value::String("\n".repeat(16_000)))]
            .into_iter()
            .collect();
        let e = check_metadata(&escaped, &limits()).unwrap_err().to_string();
        assert!(e.contains("at least 32008 bytes"), "{e}");
    }

    #[test]
    fn an_ipv6_address_counts_as_its_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(address_subject(a), "2001:db8:1:2::/64");
        assert_eq!(address_subject(a), address_subject(b));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(address_subject(mapped), "192.0.2.7");
    }

    #[test]
    fn windows_are_aligned_to_the_clock() {
        let at = DateTime::from_timestamp(7_200 + 1_234, 0).unwrap();
        let (start, end) = HOUR.around(at);
        assert_eq!(start, 7_200);
        assert_eq!(end.timestamp(), 10_800);
    }
}
