//! Announcing queued handoffs: the webhook and the email recipients.

use super::*;

#[test]
fn the_handoff_webhook_is_an_http_url_without_credentials() {
    let c = config(&[
        (
            "SMOOTH_AGENT_HANDOFF_WEBHOOK_URL",
            "https://hooks.example.com/handoff",
        ),
        ("SMOOTH_AGENT_HANDOFF_WEBHOOK_SECRET", "s3cret"),
    ])
    .unwrap();
    assert_eq!(
        c.handoff.webhook_url.unwrap().as_str(),
        "https://hooks.example.com/handoff"
    );
    assert_eq!(c.handoff.webhook_secret.unwrap().expose_secret(), "s3cret");
    assert!(
        !c.handoff.webhook_allow_private,
        "public addresses only by default"
    );
    for bad in [
        "ftp://hooks.example.com/x",
        "not a url",
        "https://user:pw@hooks.example.com/x",
        "file:///etc/passwd",
    ] {
        let error = config(&[("SMOOTH_AGENT_HANDOFF_WEBHOOK_URL", bad)]).unwrap_err();
        assert_eq!(error.var, "SMOOTH_AGENT_HANDOFF_WEBHOOK_URL", "{bad}");
    }
    let refused = config(&[("SMOOTH_AGENT_HANDOFF_WEBHOOK_ALLOW_PRIVATE", "maybe")]).unwrap_err();
    assert_eq!(refused.var, "SMOOTH_AGENT_HANDOFF_WEBHOOK_ALLOW_PRIVATE");
}

#[test]
fn handoff_emails_need_an_smtp_server_and_real_addresses() {
    let without = config(&[("SMOOTH_AGENT_HANDOFF_EMAIL_TO", "team@example.com")]).unwrap_err();
    assert_eq!(without.var, "SMOOTH_AGENT_HANDOFF_EMAIL_TO");
    let smtp = [
        ("SMOOTH_AGENT_SMTP_HOST", "127.0.0.1"),
        ("SMOOTH_AGENT_SMTP_FROM", "bot@example.com"),
    ];
    let mut with = smtp.to_vec();
    with.push((
        "SMOOTH_AGENT_HANDOFF_EMAIL_TO",
        "team@example.com, lead@example.com",
    ));
    assert_eq!(
        config(&with).unwrap().handoff.email_to,
        ["team@example.com", "lead@example.com"]
    );
    let mut injected = smtp.to_vec();
    injected.push((
        "SMOOTH_AGENT_HANDOFF_EMAIL_TO",
        "team@example.com>\r\nBcc: x@evil.test",
    ));
    assert_eq!(
        config(&injected).unwrap_err().var,
        "SMOOTH_AGENT_HANDOFF_EMAIL_TO"
    );
}
