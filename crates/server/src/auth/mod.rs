//! Who is asking: verifying the tokens of WebSocket connections (`?token=`) and of
//! the admin API (`Authorization: Bearer`), in the mode the configuration selects.
//!
//! A token is never logged. On the WebSocket a missing or bad token makes the
//! connection anonymous; on the admin API it is refused.

mod claims;
mod jwks;
mod jwt;

pub use claims::{Principal, Role};

use crate::config::AuthConfig;
use base64::Engine;
use jwt::{JwtVerifier, Rules};

/// Why a token was not accepted. Each has a stable code for the admin API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("a bearer token is required")]
    Missing,
    #[error("the token is not valid: {0}")]
    Invalid(String),
    #[error("the token carries no known role (admin, curator, basic)")]
    MissingRole,
    #[error("authentication is not configured on this server, so the admin API is disabled")]
    Disabled,
}

impl AuthError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing => "UNAUTHENTICATED",
            Self::Invalid(_) => "INVALID_TOKEN",
            Self::MissingRole => "MISSING_ROLE",
            Self::Disabled => "UNAUTHENTICATED",
        }
    }
}

/// Verifies tokens in the configured mode.
pub struct Authenticator {
    mode: Mode,
}

enum Mode {
    /// No verifier configured: connections are anonymous, the admin API is off.
    Disabled,
    /// Development only: every token is the same administrator.
    Open {
        org: String,
    },
    Jwt(Box<JwtVerifier>),
    /// Claims forwarded, unsigned, by a trusted proxy (base64url JSON).
    Trusted,
}

impl Authenticator {
    /// Builds the verifier, fetching the key set when `AUTH_JWT_JWKS_URL` gives one.
    /// A key that cannot be used, or a key set that cannot be fetched, is an error
    /// naming its variable.
    pub async fn new(config: &AuthConfig) -> Result<Self, String> {
        let mode = match config {
            AuthConfig::Disabled => Mode::Disabled,
            AuthConfig::Open { dev_org } => Mode::Open {
                org: dev_org.clone(),
            },
            AuthConfig::Trusted => Mode::Trusted,
            AuthConfig::Jwt {
                key,
                issuer,
                audience,
            } => {
                let rules = Rules {
                    issuer: issuer.clone(),
                    audience: audience.clone(),
                };
                Mode::Jwt(Box::new(JwtVerifier::new(key, rules).await?))
            }
        };
        Ok(Self { mode })
    }

    /// The mode, for the start-up line and logs.
    pub fn label(&self) -> &'static str {
        match self.mode {
            Mode::Disabled => "disabled",
            Mode::Open { .. } => "none",
            Mode::Jwt(_) => "jwt",
            Mode::Trusted => "trusted",
        }
    }

    /// The principal a token proves.
    pub async fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let token = token.trim();
        if token.is_empty() {
            return Err(AuthError::Missing);
        }
        match &self.mode {
            Mode::Disabled => Err(AuthError::Disabled),
            Mode::Open { org } => Ok(Principal::dev_admin(org)),
            Mode::Jwt(verifier) => Principal::from_claims(&verifier.claims(token).await?),
            Mode::Trusted => {
                let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
                let bytes = engine
                    .decode(token.trim_end_matches('='))
                    .map_err(|_| AuthError::Invalid("not base64url".into()))?;
                let claims: serde_json::Value = serde_json::from_slice(&bytes)
                    .map_err(|_| AuthError::Invalid("not JSON claims".into()))?;
                Principal::from_claims(&claims)
            }
        }
    }

    /// A WebSocket connection's principal: anonymous (`None`) when the token is
    /// missing or does not verify. The reason is logged, the token never.
    pub async fn connection(&self, token: Option<&str>) -> Option<Principal> {
        let token = token.filter(|t| !t.trim().is_empty())?;
        match self.verify(token).await {
            Ok(principal) => Some(principal),
            Err(e) => {
                tracing::info!(reason = %e, "connection token refused; the connection is anonymous");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests;
