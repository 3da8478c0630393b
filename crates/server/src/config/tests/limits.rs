//! Connection limits.

use super::*;

#[test]
fn connection_limits_have_defaults_can_be_turned_off_and_name_bad_values() {
    let c = config(&[]).unwrap();
    assert_eq!(
        c.rate_limit,
        Some(RateLimit {
            per_sec: 20,
            burst: 40
        })
    );
    assert_eq!(c.idle_timeout, Some(Duration::from_secs(300)));
    assert_eq!(c.max_connections_per_ip, Some(64));
    assert_eq!(c.max_pending_per_ip, Some(32));
    assert_eq!(c.header_timeout, Duration::from_secs(10));
    assert!(!c.trust_forwarded_for);
    assert_eq!(c.max_frame_bytes, 1 << 20);

    let c = config(&[
        ("SMOOTH_AGENT_RATE_LIMIT_PER_SEC", "5"),
        ("SMOOTH_AGENT_RATE_LIMIT_BURST", "7"),
        ("SMOOTH_AGENT_IDLE_TIMEOUT_SECS", "30"),
        ("SMOOTH_AGENT_MAX_CONNECTIONS_PER_IP", "3"),
        ("SMOOTH_AGENT_MAX_PENDING_PER_IP", "2"),
        ("SMOOTH_AGENT_HEADER_TIMEOUT_SECS", "4"),
        ("SMOOTH_AGENT_TRUST_FORWARDED_FOR", "true"),
    ])
    .unwrap();
    assert_eq!(
        c.rate_limit,
        Some(RateLimit {
            per_sec: 5,
            burst: 7
        })
    );
    assert_eq!(c.idle_timeout, Some(Duration::from_secs(30)));
    assert_eq!(c.max_connections_per_ip, Some(3));
    assert_eq!(c.max_pending_per_ip, Some(2));
    assert_eq!(c.header_timeout, Duration::from_secs(4));
    assert!(c.trust_forwarded_for);

    let off = config(&[
        ("SMOOTH_AGENT_RATE_LIMIT_PER_SEC", "0"),
        ("SMOOTH_AGENT_IDLE_TIMEOUT_SECS", "0"),
        ("SMOOTH_AGENT_MAX_CONNECTIONS_PER_IP", "0"),
        ("SMOOTH_AGENT_MAX_PENDING_PER_IP", "0"),
    ])
    .unwrap();
    assert_eq!(off.rate_limit, None);
    assert_eq!(off.idle_timeout, None);
    assert_eq!(off.max_connections_per_ip, None);
    assert_eq!(off.max_pending_per_ip, None);

    for (var, value) in [
        ("SMOOTH_AGENT_RATE_LIMIT_PER_SEC", "-1"),
        ("SMOOTH_AGENT_RATE_LIMIT_PER_SEC", "fast"),
        ("SMOOTH_AGENT_RATE_LIMIT_BURST", "0"),
        ("SMOOTH_AGENT_RATE_LIMIT_BURST", "lots"),
        ("SMOOTH_AGENT_IDLE_TIMEOUT_SECS", "5m"),
        ("SMOOTH_AGENT_MAX_CONNECTIONS_PER_IP", "-3"),
        ("SMOOTH_AGENT_MAX_CONNECTIONS_PER_IP", "many"),
        ("SMOOTH_AGENT_MAX_PENDING_PER_IP", "some"),
        ("SMOOTH_AGENT_HEADER_TIMEOUT_SECS", "0"),
        ("SMOOTH_AGENT_TRUST_FORWARDED_FOR", "perhaps"),
        ("SMOOTH_AGENT_MAX_FRAME_BYTES", "0"),
    ] {
        let err = config(&[(var, value)]).unwrap_err();
        assert_eq!(err.var, var, "{value}");
        assert!(err.to_string().starts_with(var), "{err}");
    }
}
