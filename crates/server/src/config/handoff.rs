//! Human handoff: who hears of a conversation entering the queue
//! (`SMOOTH_AGENT_HANDOFF_*`).

use super::env::Env;
use super::{ConfigError, OtpConfig};
use secrecy::SecretString;

/// Where a conversation entering the handoff queue is announced.
#[derive(Debug, Clone, Default)]
pub struct HandoffConfig {
    /// `SMOOTH_AGENT_HANDOFF_WEBHOOK_URL`: receives a JSON POST per queued
    /// conversation.
    pub webhook_url: Option<reqwest::Url>,
    /// `SMOOTH_AGENT_HANDOFF_WEBHOOK_SECRET`: signs each POST (HMAC-SHA256 of the
    /// body, `X-Switchboard-Signature: sha256=<hex>`).
    pub webhook_secret: Option<SecretString>,
    /// `SMOOTH_AGENT_HANDOFF_WEBHOOK_ALLOW_PRIVATE`: let the webhook reach
    /// private and loopback addresses (a service beside the server, tests).
    /// Off: like connectors, it reaches public addresses only.
    pub webhook_allow_private: bool,
    /// `SMOOTH_AGENT_HANDOFF_EMAIL_TO`: addresses (comma-separated) emailed through
    /// the one-time codes' SMTP settings (`SMOOTH_AGENT_SMTP_*`).
    pub email_to: Vec<String>,
}

pub(super) fn handoff<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
    otp: Option<&OtpConfig>,
) -> Result<HandoffConfig, ConfigError> {
    let webhook_url = match env.get("SMOOTH_AGENT_HANDOFF_WEBHOOK_URL") {
        None => None,
        Some(raw) => {
            let bad = |problem: String| ConfigError {
                var: "SMOOTH_AGENT_HANDOFF_WEBHOOK_URL",
                problem,
            };
            let url = reqwest::Url::parse(&raw).map_err(|e| bad(format!("'{raw}': {e}")))?;
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return Err(bad(format!("'{raw}' is not an http(s) URL")));
            }
            if !url.username().is_empty() || url.password().is_some() {
                return Err(bad(
                    "must not carry credentials (use SMOOTH_AGENT_HANDOFF_WEBHOOK_SECRET)".into(),
                ));
            }
            Some(url)
        }
    };
    let email_to = env.list("SMOOTH_AGENT_HANDOFF_EMAIL_TO");
    if !email_to.is_empty() && !matches!(otp, Some(OtpConfig::Smtp { .. })) {
        return Err(ConfigError {
            var: "SMOOTH_AGENT_HANDOFF_EMAIL_TO",
            problem: "needs an SMTP server: set SMOOTH_AGENT_SMTP_HOST and SMOOTH_AGENT_SMTP_FROM"
                .into(),
        });
    }
    if let Some(bad) = email_to
        .iter()
        .find(|a| !a.contains('@') || a.chars().any(|c| c.is_whitespace() || "<>,;".contains(c)))
    {
        return Err(ConfigError {
            var: "SMOOTH_AGENT_HANDOFF_EMAIL_TO",
            problem: format!("'{bad}' is not an email address"),
        });
    }
    Ok(HandoffConfig {
        webhook_url,
        webhook_secret: env
            .get("SMOOTH_AGENT_HANDOFF_WEBHOOK_SECRET")
            .map(SecretString::from),
        webhook_allow_private: env.flag("SMOOTH_AGENT_HANDOFF_WEBHOOK_ALLOW_PRIVATE")?,
        email_to,
    })
}
