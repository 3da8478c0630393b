//! One-time codes that prove a visitor controls an email address or phone number,
//! before tools that act on their identity run.
//!
//! [`OtpService`] is the seam the server talks to; [`BuiltinOtp`] implements it
//! over the [`Store`] and a [`Delivery`]. Codes are never kept in clear: the store
//! holds an HMAC of each under the server's [`CodeKey`], so a challenge survives
//! restarts and can be answered on any replica (which share the key), and the
//! verified mark lives in the session's metadata for the same reason. Sends are
//! throttled per destination and per client address through counters in the
//! store, so the limits hold across replicas.

mod code;
mod delivery;
mod mask;
mod smtp;
mod throttle;

pub use code::CodeKey;
pub use delivery::{Delivery, DeliveryError, WebhookDelivery};
pub use mask::{mask, mask_email, mask_phone};
pub use smtp::{SmtpDelivery, SmtpSecurity};
pub use switchboard_protocol::{OtpChannel as Channel, OtpFailure};
pub use throttle::SendLimit;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde_json::Value;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use switchboard_core::{Metadata, OtpChallenge, SessionId, SessionUpdate, Store, StoreError};

/// Session metadata key: `true` once the visitor entered a correct code.
pub const VERIFIED_KEY: &str = "otpVerified";
/// Session metadata key: when they did, as RFC 3339.
pub const VERIFIED_AT_KEY: &str = "otpVerifiedAt";
/// Session metadata keys the visitor's contact is read from.
pub const CONTACT_EMAIL_KEY: &str = "contactEmail";
pub const CONTACT_PHONE_KEY: &str = "contactPhone";

/// Where a code can be sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contact {
    pub email: Option<String>,
    pub phone: Option<String>,
}

impl Contact {
    /// The contact a session's metadata records (`contactEmail`, `contactPhone`).
    pub fn from_metadata(metadata: &Metadata) -> Self {
        let text = |key| metadata.get(key).and_then(Value::as_str).map(str::to_owned);
        Self {
            email: text(CONTACT_EMAIL_KEY),
            phone: text(CONTACT_PHONE_KEY),
        }
    }

    /// The destination for `channel`, when there is a usable one: an email
    /// address needs text on both sides of an `@`; a phone number must be valid,
    /// and is given in E.164 (a national number read in the default region, see
    /// [`crate::phone`]).
    pub fn destination(&self, channel: Channel) -> Option<String> {
        match channel {
            Channel::Email => self
                .email
                .as_deref()
                .map(str::trim)
                .filter(|e| {
                    e.split_once('@')
                        .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
                })
                .map(str::to_owned),
            Channel::Sms => self.phone.as_deref().and_then(crate::phone::to_e164),
        }
    }
}

/// What `send` reports back, for the `otp_sent` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub channel: Channel,
    pub masked_destination: String,
}

/// The outcome of a code the visitor entered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Verified,
    /// Rejected; the fields are those of the `otp_invalid` event.
    Invalid {
        error: OtpFailure,
        attempts_remaining: u32,
        message: String,
    },
}

impl Verdict {
    /// Nothing to verify against: no code was sent, or it was used up.
    pub fn not_found() -> Self {
        Self::invalid(
            OtpFailure::NotFound,
            0,
            "No verification is in progress for this session.",
        )
    }

    fn invalid(error: OtpFailure, attempts_remaining: u32, message: impl Into<String>) -> Self {
        Self::Invalid {
            error,
            attempts_remaining,
            message: message.into(),
        }
    }
}

/// Why sending or checking a code failed.
#[derive(Debug, thiserror::Error)]
pub enum OtpError {
    /// The contact has no destination on a channel the delivery supports.
    #[error("no delivery channel reaches this contact")]
    NoChannel,
    /// A code went out less than `resend_after` ago.
    #[error("a code was sent moments ago; another can be sent in {} s", ceil_secs(*.retry_after))]
    TooSoon { retry_after: Duration },
    /// Too many codes went to this destination, or were asked for from this
    /// client address, within the window.
    #[error("too many codes were requested ({which}); another can be sent in {} s", ceil_secs(*.retry_after))]
    Throttled {
        which: &'static str,
        retry_after: Duration,
    },
    #[error("the code could not be delivered: {0}")]
    Delivery(#[from] DeliveryError),
    /// The code was right but the session is gone.
    #[error("the session does not exist")]
    SessionNotFound,
    #[error("the system has no randomness to make a code: {0}")]
    Randomness(getrandom::Error),
    #[error(transparent)]
    Storage(#[from] StoreError),
}

impl OtpError {
    /// A message safe to show the visitor; the error itself is for logs.
    pub fn client_message(&self) -> String {
        match self {
            Self::NoChannel => {
                "There is no email address or phone number to send a code to.".to_owned()
            }
            Self::TooSoon { retry_after } => format!(
                "A code was sent moments ago. Please wait {} seconds before asking for another.",
                ceil_secs(*retry_after)
            ),
            // The same words whichever limit was hit, and whether or not the
            // destination is known: the refusal tells nothing about it.
            Self::Throttled { .. } => {
                "Too many verification codes were requested. Please try again later.".to_owned()
            }
            _ => "The verification code could not be sent. Please try again later.".to_owned(),
        }
    }
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// Sends and checks one-time codes for sessions.
#[async_trait]
pub trait OtpService: Send + Sync {
    /// Channels a code can reach this contact on, email first.
    fn channels(&self, contact: &Contact) -> Vec<Channel>;

    /// Sends a fresh code on the first available channel, replacing any earlier one,
    /// for a visitor at `client` (their address, when known: per-address limits).
    async fn send(
        &self,
        session: SessionId,
        contact: &Contact,
        client: Option<IpAddr>,
    ) -> Result<Sent, OtpError>;

    /// Checks a code the visitor entered; a correct one marks the session verified.
    async fn verify(&self, session: SessionId, code: &str) -> Result<Verdict, OtpError>;

    /// Whether the session has been verified (kept in the session, so it survives
    /// reconnects and restarts).
    async fn is_verified(&self, session: SessionId) -> Result<bool, OtpError>;
}

/// How codes are made and how long they last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtpSettings {
    /// Digits per code, 4 to 12.
    pub code_length: usize,
    /// How long a code stays valid.
    pub ttl: Duration,
    /// Wrong codes allowed before the challenge locks.
    pub max_attempts: u32,
    /// A second code for the same session is refused until this has passed.
    pub resend_after: Duration,
    /// Codes to one email address or phone number, whatever the session.
    pub per_destination: SendLimit,
    /// Codes asked for from one client address.
    pub per_client: SendLimit,
}

impl Default for OtpSettings {
    fn default() -> Self {
        Self {
            code_length: 6,
            ttl: Duration::from_secs(10 * 60),
            max_attempts: 5,
            resend_after: Duration::from_secs(30),
            per_destination: SendLimit::new(5, Duration::from_secs(15 * 60)),
            per_client: SendLimit::new(20, Duration::from_secs(15 * 60)),
        }
    }
}

impl OtpSettings {
    /// Why these settings cannot work, if they cannot.
    pub fn validate(&self) -> Result<(), String> {
        if !(4..=12).contains(&self.code_length) {
            return Err(format!(
                "OTP codes need 4 to 12 digits, not {}",
                self.code_length
            ));
        }
        if self.max_attempts == 0 {
            return Err("OTP max_attempts must be at least 1".to_owned());
        }
        let day = Duration::from_secs(24 * 60 * 60);
        if self.ttl > day || self.resend_after > day {
            return Err("OTP ttl and resend_after must be at most a day".to_owned());
        }
        self.per_destination.validate("per destination")?;
        self.per_client.validate("per client address")
    }
}

/// The built-in [`OtpService`]: codes kept as salted hashes in the [`Store`],
/// sent through a [`Delivery`].
pub struct BuiltinOtp {
    store: Arc<dyn Store>,
    delivery: Arc<dyn Delivery>,
    settings: OtpSettings,
    key: CodeKey,
}

impl BuiltinOtp {
    /// # Panics
    /// When `settings` fail [`OtpSettings::validate`]; config loading checks first.
    pub fn new(store: Arc<dyn Store>, delivery: Arc<dyn Delivery>, settings: OtpSettings) -> Self {
        if let Err(problem) = settings.validate() {
            panic!("invalid OTP settings: {problem}");
        }
        Self {
            store,
            delivery,
            settings,
            key: CodeKey::random().expect("the system has randomness for a key"),
        }
    }

    /// Hashes codes and throttle keys under `key` (every replica must share it;
    /// without one, a random key lives as long as the process).
    pub fn with_key(mut self, key: CodeKey) -> Self {
        self.key = key;
        self
    }

    /// The first channel (email first) the delivery supports and the contact has.
    fn route(&self, contact: &Contact) -> Option<(Channel, String)> {
        let supported = self.delivery.channels();
        [Channel::Email, Channel::Sms]
            .into_iter()
            .filter(|c| supported.contains(c))
            .find_map(|c| contact.destination(c).map(|d| (c, d)))
    }

    async fn refuse_if_too_soon(
        &self,
        session: SessionId,
        now: DateTime<Utc>,
    ) -> Result<(), OtpError> {
        let Some(earlier) = self.store.get_otp_challenge(session).await? else {
            return Ok(());
        };
        let ready_at = earlier.created_at + delta(self.settings.resend_after);
        match (ready_at - now).to_std() {
            Ok(retry_after) if !retry_after.is_zero() => Err(OtpError::TooSoon { retry_after }),
            _ => Ok(()),
        }
    }

    /// Records the verification in the session's metadata, keeping its other keys.
    async fn mark_verified(&self, id: SessionId) -> Result<(), OtpError> {
        let session = self
            .store
            .get_session(id)
            .await?
            .ok_or(OtpError::SessionNotFound)?;
        let mut metadata = session.metadata;
        metadata.insert(VERIFIED_KEY.to_owned(), Value::Bool(true));
        metadata.insert(
            VERIFIED_AT_KEY.to_owned(),
            Value::String(Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)),
        );
        let update = SessionUpdate {
            metadata: Some(metadata),
            ..SessionUpdate::default()
        };
        match self.store.update_session(id, update).await? {
            Some(_) => Ok(()),
            None => Err(OtpError::SessionNotFound),
        }
    }
}

/// Settings are validated to at most a day, so this cannot saturate in practice.
fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

fn channel_name(channel: Channel) -> &'static str {
    match channel {
        Channel::Email => "email",
        Channel::Sms => "sms",
    }
}

#[async_trait]
impl OtpService for BuiltinOtp {
    fn channels(&self, contact: &Contact) -> Vec<Channel> {
        let supported = self.delivery.channels();
        [Channel::Email, Channel::Sms]
            .into_iter()
            .filter(|c| supported.contains(c) && contact.destination(*c).is_some())
            .collect()
    }

    async fn send(
        &self,
        session: SessionId,
        contact: &Contact,
        client: Option<IpAddr>,
    ) -> Result<Sent, OtpError> {
        let (channel, destination) = self.route(contact).ok_or(OtpError::NoChannel)?;
        let destination = destination.as_str();
        let now = Utc::now();
        self.refuse_if_too_soon(session, now).await?;
        self.throttle(channel, destination, client, now).await?;
        let code = code::generate(self.settings.code_length).map_err(OtpError::Randomness)?;
        let salt = code::salt().map_err(OtpError::Randomness)?;
        let challenge = OtpChallenge {
            session_id: session,
            code_hash: code::hash(&self.key, &salt, &code),
            salt,
            channel: channel_name(channel).to_owned(),
            destination: destination.to_owned(),
            attempts_left: self.settings.max_attempts,
            created_at: now,
            expires_at: now + delta(self.settings.ttl),
        };
        self.store.put_otp_challenge(&challenge).await?;
        let delivered = self
            .delivery
            .deliver(channel, destination, &code, self.settings.ttl)
            .await;
        if let Err(error) = delivered {
            // Never leave a code behind that nobody received.
            if let Err(cleanup) = self.store.delete_otp_challenge(session).await {
                tracing::error!(%session, error = %cleanup, "could not remove an undelivered OTP challenge");
            }
            tracing::warn!(%session, channel = channel_name(channel), %error, "could not deliver a one-time code");
            return Err(error.into());
        }
        tracing::info!(%session, channel = channel_name(channel), "one-time code sent");
        Ok(Sent {
            channel,
            masked_destination: mask(channel, destination),
        })
    }

    async fn verify(&self, session: SessionId, code: &str) -> Result<Verdict, OtpError> {
        // Spending first makes the attempt count the gate: of concurrent guesses,
        // no more than the allowed number are ever compared.
        let Some(left) = self.store.spend_otp_attempt(session).await? else {
            return Ok(Verdict::not_found());
        };
        let Some(challenge) = self.store.get_otp_challenge(session).await? else {
            return Ok(Verdict::not_found());
        };
        if Utc::now() >= challenge.expires_at {
            self.store.delete_otp_challenge(session).await?;
            return Ok(Verdict::invalid(
                OtpFailure::Expired,
                0,
                "This code has expired. Please request a new one.",
            ));
        }
        if left == 0 {
            self.store.delete_otp_challenge(session).await?;
            return Ok(Verdict::invalid(
                OtpFailure::MaxAttempts,
                0,
                "Too many incorrect attempts. Please request a new code.",
            ));
        }
        if !code::matches(
            &self.key,
            &challenge.salt,
            &challenge.code_hash,
            code.trim(),
        ) {
            let remaining = left - 1;
            tracing::info!(%session, remaining, "wrong one-time code");
            return Ok(Verdict::invalid(
                OtpFailure::InvalidCode,
                remaining,
                wrong_code_message(remaining),
            ));
        }
        // Mark first: if the store fails here, the code still works on a retry.
        self.mark_verified(session).await?;
        self.store.delete_otp_challenge(session).await?;
        tracing::info!(%session, "session verified by one-time code");
        Ok(Verdict::Verified)
    }

    async fn is_verified(&self, session: SessionId) -> Result<bool, OtpError> {
        Ok(self
            .store
            .get_session(session)
            .await?
            .is_some_and(|s| s.metadata.get(VERIFIED_KEY) == Some(&Value::Bool(true))))
    }
}

fn wrong_code_message(remaining: u32) -> String {
    match remaining {
        0 => "That code is not correct, and no attempts are left. Please request a new code."
            .to_owned(),
        1 => "That code is not correct. You have 1 attempt left.".to_owned(),
        n => format!("That code is not correct. You have {n} attempts left."),
    }
}
