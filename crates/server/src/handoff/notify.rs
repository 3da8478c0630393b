//! Announcing a conversation that entered the handoff queue: a webhook
//! (`SMOOTH_AGENT_HANDOFF_WEBHOOK_URL`) and email (`SMOOTH_AGENT_HANDOFF_EMAIL_TO`).
//!
//! Sent in the background by the replica whose escalation queued the
//! conversation (the store's compare-and-set makes that one replica), at most
//! [`MAX_SENDING`] at a time; a notice that finds no room is logged and dropped,
//! as is one whose receiver fails: the queue itself is durable and the inbox
//! shows it either way.

use crate::config::{Config, HandoffConfig, OtpConfig};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use sha2::Sha256;
use std::sync::Arc;
use std::time::Duration;
use switchboard_agent::otp::SmtpDelivery;
use switchboard_core::Handoff;
use tokio::sync::Semaphore;

/// Announcements in flight at once; more are dropped (and logged).
const MAX_SENDING: usize = 32;
/// How long the webhook's receiver has to answer.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends the announcements configured; does nothing when none is.
#[derive(Clone)]
pub struct Notifier {
    inner: Option<Arc<Inner>>,
}

struct Inner {
    webhook: Option<Webhook>,
    email: Option<(SmtpDelivery, Vec<String>)>,
    sending: Arc<Semaphore>,
}

struct Webhook {
    url: reqwest::Url,
    secret: Option<SecretString>,
    allow_private: bool,
    client: reqwest::Client,
}

/// The webhook's JSON body.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Payload<'a> {
    /// Always `handoff.queued`.
    event: &'static str,
    organization_id: &'a str,
    conversation_id: String,
    agent_id: &'a str,
    trigger: switchboard_core::HandoffTrigger,
    reason: &'a str,
    queued_at: String,
}

impl Notifier {
    /// Announces nothing.
    pub fn none() -> Self {
        Self { inner: None }
    }

    /// The announcements `config` asks for.
    pub fn from_config(config: &Config) -> Result<Self, String> {
        let HandoffConfig {
            webhook_url,
            webhook_secret,
            webhook_allow_private,
            email_to,
        } = &config.handoff;
        let webhook = match webhook_url {
            None => None,
            Some(url) => Some(Webhook {
                url: url.clone(),
                secret: webhook_secret.clone(),
                allow_private: *webhook_allow_private,
                client: webhook_client(*webhook_allow_private)?,
            }),
        };
        let email = match (&config.otp, email_to.is_empty()) {
            (
                Some(OtpConfig::Smtp {
                    host,
                    port,
                    from,
                    security,
                    username,
                    password,
                    allow_insecure_auth,
                }),
                false,
            ) => {
                let mut smtp = SmtpDelivery::new(host.clone(), *port, from.clone(), *security)
                    .allow_insecure_auth(*allow_insecure_auth);
                if let (Some(user), Some(password)) = (username, password) {
                    smtp = smtp.with_credentials(user.clone(), password.clone());
                }
                Some((smtp, email_to.clone()))
            }
            _ => None,
        };
        if webhook.is_none() && email.is_none() {
            return Ok(Self::none());
        }
        Ok(Self {
            inner: Some(Arc::new(Inner {
                webhook,
                email,
                sending: Arc::new(Semaphore::new(MAX_SENDING)),
            })),
        })
    }

    /// Announces `handoff` (just queued), in the background.
    pub fn queued(&self, handoff: &Handoff) {
        let Some(inner) = self.inner.clone() else {
            return;
        };
        let Ok(permit) = inner.sending.clone().try_acquire_owned() else {
            tracing::warn!(conversation = %handoff.conversation_id, "too many handoff announcements in flight; one was dropped");
            return;
        };
        let handoff = handoff.clone();
        tokio::spawn(async move {
            let _permit = permit;
            if let Some(webhook) = &inner.webhook {
                webhook.send(&handoff).await;
            }
            if let Some((smtp, to)) = &inner.email {
                email(smtp, to, &handoff).await;
            }
        });
    }
}

/// Outside addresses only (names resolved and redirects checked), like
/// connectors, unless private ones are allowed; then redirects are not followed.
fn webhook_client(allow_private: bool) -> Result<reqwest::Client, String> {
    if allow_private {
        return reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot set up the handoff webhook client: {e}"));
    }
    crate::admin::egress::client()
}

impl Webhook {
    async fn send(&self, handoff: &Handoff) {
        let body = serde_json::to_vec(&Payload {
            event: "handoff.queued",
            organization_id: handoff.org_id.as_str(),
            conversation_id: handoff.conversation_id.to_string(),
            agent_id: handoff.agent_id.as_str(),
            trigger: handoff.trigger,
            reason: &handoff.reason,
            queued_at: handoff
                .queued_at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        })
        .unwrap_or_default();
        if let Err(reason) = crate::admin::egress::check_url(&self.url).or_else(|e| {
            // A literal private address passes only when private ones are allowed,
            // which the client's resolver does not check for literals.
            if self.allows_private() {
                Ok(())
            } else {
                Err(e)
            }
        }) {
            tracing::warn!(%reason, "the handoff webhook was not called");
            return;
        }
        let mut request = self
            .client
            .post(self.url.clone())
            .timeout(WEBHOOK_TIMEOUT)
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        if let Some(secret) = &self.secret {
            request = request.header("x-switchboard-signature", signature(secret, &body));
        }
        match request.body(body).send().await {
            Ok(response) if response.status().is_success() => {}
            Ok(response) => {
                tracing::warn!(
                    status = response.status().as_u16(),
                    "the handoff webhook refused a notice"
                )
            }
            Err(error) => tracing::warn!(%error, "the handoff webhook could not be reached"),
        }
    }

    fn allows_private(&self) -> bool {
        self.allow_private
    }
}

/// `sha256=<hex of HMAC-SHA256(secret, body)>`.
fn signature(secret: &SecretString, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

async fn email(smtp: &SmtpDelivery, to: &[String], handoff: &Handoff) {
    let subject = "A conversation is waiting for a person";
    let text = format!(
        "A visitor's conversation entered the handoff queue.\n\n\
         Organisation: {}\nConversation: {}\nReason: {}\n\n\
         Open the operator inbox (/inbox on the server) to answer.\n",
        handoff.org_id, handoff.conversation_id, handoff.reason
    );
    for address in to {
        if let Err(error) = smtp.send_text(address, subject, text.clone()).await {
            tracing::warn!(%error, "a handoff email was not sent");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hmac_sha256_in_hex() {
        // RFC 4231, test case 2.
        let secret = SecretString::from("Jefe".to_owned());
        assert_eq!(
            signature(&secret, b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
