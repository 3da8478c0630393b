//! One-time-code limits, the code key and the phone region
//! (`SMOOTH_AGENT_OTP_*`, `SMOOTH_AGENT_PHONE_DEFAULT_REGION`).
//!
//! The code key hashes stored codes and throttle keys, so every replica must hold
//! the same one, and it must outlive restarts while codes are pending. It is, in
//! order: `SMOOTH_AGENT_OTP_SECRET`; else derived from `AUTH_JWT_HS256_SECRET`
//! under its own label; else, with the memory store and no backplane (one
//! process, whose codes die with it anyway), a random key made at start. With a
//! database store or a backplane and neither secret, start-up is refused.

use super::env::Env;
use super::{AuthConfig, BackplaneConfig, ConfigError, JwtKey, StorageConfig};
use secrecy::SecretString;
use std::time::Duration;
use switchboard_agent::otp::{CodeKey, OtpSettings, SendLimit};

/// Domain label for keys derived from another secret.
const KEY_LABEL: &str = "switchboard one-time-code key v1";

/// Where the code key comes from.
#[derive(Debug, Clone)]
pub enum OtpKeySource {
    /// `SMOOTH_AGENT_OTP_SECRET`.
    Secret(SecretString),
    /// `AUTH_JWT_HS256_SECRET`, under another label.
    JwtSecret(SecretString),
    /// Made at start; only for one in-memory process.
    Random,
}

impl OtpKeySource {
    pub fn key(&self) -> CodeKey {
        use secrecy::ExposeSecret;
        match self {
            Self::Secret(s) | Self::JwtSecret(s) => {
                CodeKey::derive(s.expose_secret().as_bytes(), KEY_LABEL)
            }
            Self::Random => CodeKey::random().expect("the system has randomness for a key"),
        }
    }
}

/// How codes are made, limited and hashed, and how phone numbers are read.
#[derive(Debug, Clone)]
pub struct OtpOptions {
    pub settings: OtpSettings,
    pub key: OtpKeySource,
    /// ISO 3166 alpha-2 region national phone numbers are read in.
    pub phone_region: String,
}

pub(super) fn options<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
    storage: &StorageConfig,
    backplane: &BackplaneConfig,
    auth: &AuthConfig,
) -> Result<OtpOptions, ConfigError> {
    let limit = |max_var, window_var, max| -> Result<SendLimit, ConfigError> {
        Ok(SendLimit::new(
            env.positive(max_var, max)?,
            Duration::from_secs(u64::from(env.positive(window_var, 900)?)),
        ))
    };
    let settings = OtpSettings {
        per_destination: limit(
            "SMOOTH_AGENT_OTP_MAX_PER_DESTINATION",
            "SMOOTH_AGENT_OTP_DESTINATION_WINDOW_SECS",
            5,
        )?,
        per_client: limit(
            "SMOOTH_AGENT_OTP_MAX_PER_CLIENT",
            "SMOOTH_AGENT_OTP_CLIENT_WINDOW_SECS",
            20,
        )?,
        ..OtpSettings::default()
    };
    settings.validate().map_err(|problem| ConfigError {
        var: "SMOOTH_AGENT_OTP_MAX_PER_DESTINATION",
        problem,
    })?;
    let phone_region = env
        .get("SMOOTH_AGENT_PHONE_DEFAULT_REGION")
        .unwrap_or_else(|| "US".into());
    if switchboard_agent::phone::region(&phone_region).is_none() {
        return Err(ConfigError {
            var: "SMOOTH_AGENT_PHONE_DEFAULT_REGION",
            problem: format!("'{phone_region}' is not an ISO 3166 region code such as US or IN"),
        });
    }
    Ok(OtpOptions {
        settings,
        key: key_source(env, storage, backplane, auth)?,
        phone_region: phone_region.trim().to_ascii_uppercase(),
    })
}

fn key_source<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
    storage: &StorageConfig,
    backplane: &BackplaneConfig,
    auth: &AuthConfig,
) -> Result<OtpKeySource, ConfigError> {
    if let Some(secret) = env.get("SMOOTH_AGENT_OTP_SECRET") {
        if secret.len() < 32 {
            return Err(ConfigError {
                var: "SMOOTH_AGENT_OTP_SECRET",
                problem: "needs at least 32 characters of random text".into(),
            });
        }
        return Ok(OtpKeySource::Secret(SecretString::from(secret)));
    }
    if let AuthConfig::Jwt {
        key: JwtKey::Hs256(secret),
        ..
    } = auth
    {
        return Ok(OtpKeySource::JwtSecret(secret.clone()));
    }
    // A SQLite file serves one process (it is locked), so a random key is not
    // shared with anyone; a restart only fails the codes sent before it.
    let shared = matches!(
        storage,
        StorageConfig::Postgres { .. } | StorageConfig::DynamoDb { .. }
    ) || !matches!(backplane, BackplaneConfig::Memory);
    let codes_on = env.get("SMOOTH_AGENT_OTP_WEBHOOK_URL").is_some()
        || env.get("SMOOTH_AGENT_SMTP_HOST").is_some();
    if shared && codes_on {
        return Err(ConfigError {
            var: "SMOOTH_AGENT_OTP_SECRET",
            problem: "one-time codes with a database store or a backplane need a key every \
                      replica shares and that survives restarts: set SMOOTH_AGENT_OTP_SECRET \
                      (or AUTH_JWT_HS256_SECRET)"
                .into(),
        });
    }
    Ok(OtpKeySource::Random)
}
