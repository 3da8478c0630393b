//! One-time codes: delivery, limits and the shared key.

use super::*;

#[test]
fn smtp_credentials_without_tls_need_an_explicit_allowance() {
    let smtp = [
        ("SMOOTH_AGENT_SMTP_HOST", "127.0.0.1"),
        ("SMOOTH_AGENT_SMTP_FROM", "a@b.c"),
        ("SMOOTH_AGENT_SMTP_SECURITY", "none"),
        ("SMOOTH_AGENT_SMTP_USERNAME", "mailer"),
        ("SMOOTH_AGENT_SMTP_PASSWORD", "pw"),
    ];
    assert_eq!(config(&smtp).unwrap_err().var, "SMOOTH_AGENT_SMTP_SECURITY");
    let mut allowed = smtp.to_vec();
    allowed.push(("SMOOTH_AGENT_SMTP_ALLOW_INSECURE_AUTH", "true"));
    let c = config(&allowed).unwrap();
    assert!(matches!(
        c.otp,
        Some(OtpConfig::Smtp {
            port: 25,
            security: SmtpSecurity::Plain,
            allow_insecure_auth: true,
            ..
        })
    ));
    let implicit = config(&[
        ("SMOOTH_AGENT_SMTP_HOST", "mail"),
        ("SMOOTH_AGENT_SMTP_FROM", "a@b.c"),
        ("SMOOTH_AGENT_SMTP_SECURITY", "tls"),
    ])
    .unwrap();
    assert!(matches!(
        implicit.otp,
        Some(OtpConfig::Smtp { port: 465, .. })
    ));
    let bad = config(&[
        ("SMOOTH_AGENT_SMTP_HOST", "mail"),
        ("SMOOTH_AGENT_SMTP_FROM", "a@b.c"),
        ("SMOOTH_AGENT_SMTP_SECURITY", "sometimes"),
    ]);
    assert_eq!(bad.unwrap_err().var, "SMOOTH_AGENT_SMTP_SECURITY");
}

#[test]
fn otp_limits_and_phone_region_are_read() {
    let c = config(&[]).unwrap();
    assert_eq!(c.otp_options.settings.per_destination.max, 5);
    assert_eq!(c.otp_options.settings.per_destination.window.as_secs(), 900);
    assert_eq!(c.otp_options.settings.per_client.max, 20);
    assert_eq!(c.otp_options.phone_region, "US");
    assert!(matches!(c.otp_options.key, OtpKeySource::Random));
    let c = config(&[
        ("SMOOTH_AGENT_OTP_MAX_PER_DESTINATION", "3"),
        ("SMOOTH_AGENT_OTP_CLIENT_WINDOW_SECS", "60"),
        ("SMOOTH_AGENT_PHONE_DEFAULT_REGION", "in"),
    ])
    .unwrap();
    assert_eq!(c.otp_options.settings.per_destination.max, 3);
    assert_eq!(c.otp_options.settings.per_client.window.as_secs(), 60);
    assert_eq!(c.otp_options.phone_region, "IN");
    let bad = config(&[("SMOOTH_AGENT_PHONE_DEFAULT_REGION", "Narnia")]);
    assert_eq!(bad.unwrap_err().var, "SMOOTH_AGENT_PHONE_DEFAULT_REGION");
}

/// Replicas must share the code key and it must survive restarts: with a
/// database store and codes on, a key must be configured.
#[test]
fn a_shared_store_with_codes_needs_a_configured_key() {
    let shared = [
        ("SMOOTH_AGENT_STORAGE", "postgres"),
        ("SMOOTH_AGENT_DATABASE_URL", "postgres://127.0.0.1/x"),
        ("SMOOTH_AGENT_OTP_WEBHOOK_URL", "http://127.0.0.1:9/hook"),
    ];
    assert_eq!(config(&shared).unwrap_err().var, "SMOOTH_AGENT_OTP_SECRET");
    let mut keyed = shared.to_vec();
    keyed.push((
        "SMOOTH_AGENT_OTP_SECRET",
        "0123456789abcdef0123456789abcdef",
    ));
    assert!(matches!(
        config(&keyed).unwrap().otp_options.key,
        OtpKeySource::Secret(_)
    ));
    let mut short = shared.to_vec();
    short.push(("SMOOTH_AGENT_OTP_SECRET", "short"));
    assert_eq!(config(&short).unwrap_err().var, "SMOOTH_AGENT_OTP_SECRET");
    // One process per SQLite file: a random key is shared with no one (codes sent
    // before a restart stop verifying; docs/sqlite.md).
    let sqlite = config(&[("SMOOTH_AGENT_OTP_WEBHOOK_URL", "http://127.0.0.1:9/hook")]);
    assert!(matches!(
        sqlite.unwrap().otp_options.key,
        OtpKeySource::Random
    ));
}
