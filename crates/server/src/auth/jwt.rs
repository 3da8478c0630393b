//! Signed JSON Web Tokens: the claims every token must carry, checked against one
//! fixed key or the identity provider's published key set.

use super::AuthError;
use super::jwks::KeySet;
use crate::config::JwtKey;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use std::sync::Arc;

/// HS256 secrets shorter than the hash (32 bytes) are warned about at start-up.
const MIN_HS256_SECRET: usize = 32;

/// What a token must carry besides a good signature.
#[derive(Debug, Clone)]
pub(super) struct Rules {
    /// `AUTH_JWT_ISSUER`: when set, `iss` is required and must be this.
    pub issuer: Option<String>,
    /// `AUTH_JWT_AUDIENCE`: when set, `aud` is required and must contain this.
    pub audience: Option<String>,
}

impl Rules {
    /// The checks for a token signed with `algorithm`: `exp` and `sub` always
    /// required; `exp` and `nbf` checked against this server's clock with no
    /// leeway; `iss` and `aud` required and matched when configured.
    pub(super) fn validation(&self, algorithm: Algorithm) -> Validation {
        let mut validation = Validation::new(algorithm);
        validation.leeway = 0;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        let mut required = vec!["exp", "sub"];
        match &self.issuer {
            Some(issuer) => {
                validation.set_issuer(&[issuer]);
                required.push("iss");
            }
            None => validation.iss = None,
        }
        match &self.audience {
            Some(audience) => {
                validation.set_audience(&[audience]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);
        validation
    }
}

/// Checks a token's signature and claims.
pub(super) enum JwtVerifier {
    /// One key from the environment; only tokens of its algorithm pass.
    Fixed {
        key: DecodingKey,
        validation: Box<Validation>,
    },
    /// `AUTH_JWT_JWKS_URL`: the key the token's `kid` names.
    Jwks(Arc<KeySet>),
}

impl JwtVerifier {
    pub(super) async fn new(key: &JwtKey, rules: Rules) -> Result<Self, String> {
        let var = key.var();
        if let JwtKey::Jwks(url) = key {
            let set = KeySet::start(url.clone(), rules).await;
            return set.map(Self::Jwks).map_err(|e| format!("{var}: {e}"));
        }
        if let JwtKey::Hs256(secret) = key {
            use secrecy::ExposeSecret;
            let len = secret.expose_secret().len();
            if len < MIN_HS256_SECRET {
                tracing::warn!(
                    "{var} is {len} bytes long, shorter than {MIN_HS256_SECRET} bytes: \
                     a short HS256 secret can be guessed offline from any token; \
                     use at least {MIN_HS256_SECRET} random bytes"
                );
            }
        }
        let (key, algorithm) = key
            .fixed()
            .map_err(|e| format!("{var}: {e}"))?
            .ok_or_else(|| format!("{var}: not a fixed key"))?;
        Ok(Self::Fixed {
            key,
            validation: Box::new(rules.validation(algorithm)),
        })
    }

    /// The claims of a token whose signature and claims pass.
    pub(super) async fn claims(&self, token: &str) -> Result<Value, AuthError> {
        match self {
            Self::Fixed { key, validation } => decode(token, key, validation),
            Self::Jwks(set) => set.claims(token).await,
        }
    }
}

/// The claims of `token`, verified with `key` under `validation`.
pub(super) fn decode(
    token: &str,
    key: &DecodingKey,
    validation: &Validation,
) -> Result<Value, AuthError> {
    jsonwebtoken::decode::<Value>(token, key, validation)
        .map(|data| data.claims)
        .map_err(|e| AuthError::Invalid(e.to_string()))
}
