//! `switchboard token`: a development JWT signed with the server's HS256 secret, so
//! the admin API and per-user features can be tried without an identity provider.

use crate::config::{AuthConfig, Config, JwtKey};
use secrecy::ExposeSecret;
use serde_json::json;

#[derive(Debug, clap::Args)]
pub struct TokenArgs {
    /// The user (`sub` claim).
    #[arg(long)]
    pub sub: String,
    /// The organisation (`org` claim).
    #[arg(long)]
    pub org: String,
    /// admin, curator or basic.
    #[arg(long, default_value = "basic", value_parser = ["admin", "curator", "basic"])]
    pub role: String,
    /// Groups for document access lists (repeatable).
    #[arg(long = "group")]
    pub groups: Vec<String>,
    /// How long the token is valid, in seconds.
    #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..=31_536_000))]
    pub ttl_secs: u64,
}

/// Why no token could be made.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(
        "AUTH_JWT_HS256_SECRET is not set: `switchboard token` signs with the secret the \
         server verifies with (servers verifying with a public key need tokens from \
         their identity provider)"
    )]
    NoSecret,
    #[error("{0}")]
    Config(String),
    #[error("cannot sign the token: {0}")]
    Sign(String),
}

/// The signed token for `args`, with the configured issuer and audience.
pub fn mint(config: &Config, args: &TokenArgs) -> Result<String, TokenError> {
    let AuthConfig::Jwt {
        key: JwtKey::Hs256(secret),
        issuer,
        audience,
    } = &config.auth
    else {
        return Err(TokenError::NoSecret);
    };
    let now = chrono::Utc::now().timestamp();
    let ttl = i64::try_from(args.ttl_secs).unwrap_or(i64::MAX);
    let mut claims = json!({
        "sub": args.sub,
        "org": args.org,
        "role": args.role,
        "iat": now,
        "nbf": now,
        "exp": now.saturating_add(ttl),
    });
    if !args.groups.is_empty() {
        claims["groups"] = json!(args.groups);
    }
    if let Some(issuer) = issuer {
        claims["iss"] = json!(issuer);
    }
    if let Some(audience) = audience {
        claims["aud"] = json!(audience);
    }
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.expose_secret().as_bytes()),
    )
    .map_err(|e| TokenError::Sign(e.to_string()))
}

/// Prints the token for `args` on standard output.
pub fn run(args: &TokenArgs) -> Result<(), TokenError> {
    let config = Config::from_env().map_err(|e| TokenError::Config(e.to_string()))?;
    println!("{}", mint(&config, args)?);
    Ok(())
}
