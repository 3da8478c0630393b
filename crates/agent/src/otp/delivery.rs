//! How a code reaches the visitor: the [`Delivery`] seam and the webhook delivery,
//! which hands the code to a service of the operator's (an SMS gateway, a mailer).

use super::{Channel, channel_name};
use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use std::time::Duration;

/// Sends a code to a destination. Implementations must never log the code.
#[async_trait]
pub trait Delivery: Send + Sync {
    /// The channels this delivery can send on.
    fn channels(&self) -> Vec<Channel>;

    /// Sends `code` to `destination` (an email address or a phone number, as the
    /// channel says); `ttl` is how long the code stays valid, for the message.
    async fn deliver(
        &self,
        channel: Channel,
        destination: &str,
        code: &str,
        ttl: Duration,
    ) -> Result<(), DeliveryError>;
}

/// Why a code could not be sent. The texts are for logs: they may quote a
/// server's reply, but never the code.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("this delivery cannot send by {}", channel_name(*.0))]
    Unsupported(Channel),
    /// An address that cannot be used safely (blank, or with spaces, angle
    /// brackets or line breaks that would corrupt the protocol).
    #[error("the {0} address is not usable")]
    InvalidAddress(&'static str),
    #[error("the webhook answered HTTP {0}")]
    Status(u16),
    #[error("the webhook request failed: {0}")]
    Http(String),
    /// The SMTP server answered `stage` with an unexpected reply.
    #[error("the SMTP server refused {stage}: {reply}")]
    Smtp { stage: &'static str, reply: String },
    /// Credentials would cross the network in clear.
    #[error(
        "refusing to log in to the SMTP server without TLS (set SMOOTH_AGENT_SMTP_SECURITY to starttls or tls, or allow it explicitly)"
    )]
    InsecureAuth,
    #[error("the SMTP server did not answer {stage} in time")]
    Timeout { stage: &'static str },
    #[error("the SMTP connection failed during {stage}: {source}")]
    Io {
        stage: &'static str,
        #[source]
        source: std::io::Error,
    },
}

/// Posts each code as JSON `{channel, destination, code, expiresInSeconds}` to an
/// operator's URL, with an optional bearer token; sends email and SMS alike.
#[derive(Debug)]
pub struct WebhookDelivery {
    client: reqwest::Client,
    url: String,
    bearer: Option<SecretString>,
    timeout: Duration,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Payload<'a> {
    channel: Channel,
    destination: &'a str,
    code: &'a str,
    expires_in_seconds: u64,
}

impl WebhookDelivery {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            client: crate::http::client(),
            url: url.into(),
            bearer: None,
            timeout: Duration::from_secs(10),
        }
    }

    /// Sends `Authorization: Bearer <token>` with every request.
    pub fn with_bearer(mut self, token: impl Into<SecretString>) -> Self {
        self.bearer = Some(token.into());
        self
    }
}

#[async_trait]
impl Delivery for WebhookDelivery {
    fn channels(&self) -> Vec<Channel> {
        vec![Channel::Email, Channel::Sms]
    }

    async fn deliver(
        &self,
        channel: Channel,
        destination: &str,
        code: &str,
        ttl: Duration,
    ) -> Result<(), DeliveryError> {
        let payload = Payload {
            channel,
            destination,
            code,
            expires_in_seconds: ttl.as_secs(),
        };
        let mut request = self
            .client
            .post(&self.url)
            .timeout(self.timeout)
            .json(&payload);
        if let Some(token) = &self.bearer {
            request = request.bearer_auth(token.expose_secret());
        }
        // The URL may carry a token of its own: keep it out of error texts.
        let response = request
            .send()
            .await
            .map_err(|e| DeliveryError::Http(e.without_url().to_string()))?;
        if !response.status().is_success() {
            return Err(DeliveryError::Status(response.status().as_u16()));
        }
        Ok(())
    }
}
