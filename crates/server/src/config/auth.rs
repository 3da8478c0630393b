//! Who is asking: `AUTH_*` and `SMOOTH_AGENT_AUTH_MODE`, widget policies
//! (`WIDGET_AUTH_*`), one-time-code delivery (webhook or SMTP).

use super::ConfigError;
use super::env::Env;
use jsonwebtoken::{Algorithm, DecodingKey};
use secrecy::SecretString;
use std::time::Duration;
pub use switchboard_agent::otp::SmtpSecurity;

/// How tokens are verified.
#[derive(Debug, Clone)]
pub enum AuthConfig {
    /// No verifier: WebSocket connections are anonymous; the admin API is off.
    Disabled,
    /// `none`: development only, every token is the same administrator of
    /// `AUTH_DEV_ORG_ID`.
    Open { dev_org: String },
    /// Signed JSON Web Tokens: `exp` always required, `exp` and `nbf` checked with no
    /// leeway, `iss` and `aud` required and matched when `AUTH_JWT_ISSUER` /
    /// `AUTH_JWT_AUDIENCE` are set.
    Jwt {
        key: JwtKey,
        issuer: Option<String>,
        audience: Option<String>,
    },
    /// Claims forwarded unsigned (base64url JSON) by a proxy that already checked
    /// them. Safe only when nothing else can reach the server.
    Trusted,
}

/// The key tokens are verified with: exactly one of the `AUTH_JWT_*` key variables.
#[derive(Debug, Clone)]
pub enum JwtKey {
    /// `AUTH_JWT_HS256_SECRET`: a shared secret (HS256).
    Hs256(SecretString),
    /// `AUTH_JWT_RS256_PUBLIC_KEY`: an RSA public key in PEM (RS256).
    Rs256(String),
    /// `AUTH_JWT_ES256_PUBLIC_KEY`: a P-256 public key in PEM (ES256).
    Es256(String),
    /// `AUTH_JWT_EDDSA_PUBLIC_KEY`: an Ed25519 public key in PEM (EdDSA).
    EdDsa(String),
    /// `AUTH_JWT_JWKS_URL`: the identity provider's published key set (RS256, ES256
    /// and EdDSA keys), fetched at start-up and refreshed.
    Jwks(reqwest::Url),
}

/// The key variables, in the order they are named in messages.
const KEY_VARS: [&str; 5] = [
    "AUTH_JWT_HS256_SECRET",
    "AUTH_JWT_RS256_PUBLIC_KEY",
    "AUTH_JWT_ES256_PUBLIC_KEY",
    "AUTH_JWT_EDDSA_PUBLIC_KEY",
    "AUTH_JWT_JWKS_URL",
];

impl JwtKey {
    /// The variable this key comes from.
    pub fn var(&self) -> &'static str {
        match self {
            Self::Hs256(_) => KEY_VARS[0],
            Self::Rs256(_) => KEY_VARS[1],
            Self::Es256(_) => KEY_VARS[2],
            Self::EdDsa(_) => KEY_VARS[3],
            Self::Jwks(_) => KEY_VARS[4],
        }
    }

    /// A fixed key and its algorithm, read and checked; `None` for a key set, whose
    /// keys are fetched. The error says what is wrong, without the variable's name.
    pub fn fixed(&self) -> Result<Option<(DecodingKey, Algorithm)>, String> {
        let (pem, algorithm) = match self {
            Self::Hs256(secret) => {
                use secrecy::ExposeSecret;
                let key = DecodingKey::from_secret(secret.expose_secret().as_bytes());
                return Ok(Some((key, Algorithm::HS256)));
            }
            Self::Jwks(_) => return Ok(None),
            Self::Rs256(pem) => (pem, Algorithm::RS256),
            Self::Es256(pem) => (pem, Algorithm::ES256),
            Self::EdDsa(pem) => (pem, Algorithm::EdDSA),
        };
        pem_key(pem, algorithm).map(|key| Some((key, algorithm)))
    }
}

/// A public key of `algorithm` in PEM: refused when it is a private key, another
/// kind of key, or (ES256, EdDSA) a point of the wrong size for its curve.
fn pem_key(pem: &str, algorithm: Algorithm) -> Result<DecodingKey, String> {
    if pem.contains("PRIVATE KEY") {
        return Err(
            "this is a private key; give the public key (and keep the private one secret)".into(),
        );
    }
    let bytes = pem.as_bytes();
    let (key, expected, point_len) = match algorithm {
        Algorithm::RS256 => (DecodingKey::from_rsa_pem(bytes), "an RSA public key", None),
        Algorithm::ES256 => (
            DecodingKey::from_ec_pem(bytes),
            "a P-256 public key",
            Some(65),
        ),
        _ => (
            DecodingKey::from_ed_pem(bytes),
            "an Ed25519 public key",
            Some(32),
        ),
    };
    let key = key.map_err(|e| format!("not {expected} in PEM ({e})"))?;
    if let Some(len) = point_len
        && key.try_get_as_bytes().map(<[u8]>::len).ok() != Some(len)
    {
        return Err(format!("not {expected} (a key of another curve?)"));
    }
    Ok(key)
}

/// The one key variable that is set, read and checked.
fn jwt_key<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<Option<JwtKey>, ConfigError> {
    let set: Vec<&'static str> = KEY_VARS
        .into_iter()
        .filter(|var| env.get(var).is_some())
        .collect();
    let Some(&var) = set.first() else {
        return Ok(None);
    };
    if set.len() > 1 {
        return Err(ConfigError {
            var,
            problem: format!(
                "set only one key; {} are all set, so which one verifies tokens is unclear",
                set.join(", ")
            ),
        });
    }
    let value = env.get(var).unwrap_or_default();
    // PEM keys in environment variables often arrive with escaped newlines.
    let pem = || value.replace("\\n", "\n");
    let key = match var {
        "AUTH_JWT_HS256_SECRET" => JwtKey::Hs256(value.clone().into()),
        "AUTH_JWT_RS256_PUBLIC_KEY" => JwtKey::Rs256(pem()),
        "AUTH_JWT_ES256_PUBLIC_KEY" => JwtKey::Es256(pem()),
        "AUTH_JWT_EDDSA_PUBLIC_KEY" => JwtKey::EdDsa(pem()),
        _ => JwtKey::Jwks(
            reqwest::Url::parse(&value)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
                .ok_or_else(|| ConfigError {
                    var,
                    problem: format!("'{value}' is not an http:// or https:// URL"),
                })?,
        ),
    };
    key.fixed()
        .map_err(|problem| ConfigError { var, problem })?;
    Ok(Some(key))
}

/// Embeddable-widget authorisation.
#[derive(Debug, Clone, Default)]
pub struct WidgetAuthConfig {
    /// `WIDGET_AUTH_URL` (with `WIDGET_AUTH_BEARER`, `WIDGET_AUTH_TTL_SECS`): the
    /// operator's policy service, asked for agents the configuration file gives no
    /// policy.
    pub service: Option<WidgetServiceConfig>,
    /// `WIDGET_AUTH_STRICT`: refuse sessions for agents that have no policy.
    pub strict: bool,
}

/// The policy service: `GET {url}/{agentId}` answers an agent's policy.
#[derive(Debug, Clone)]
pub struct WidgetServiceConfig {
    pub url: reqwest::Url,
    pub bearer: Option<SecretString>,
    /// How long an answer (a policy, or "none" for a 404) is remembered; zero asks
    /// every time.
    pub ttl: Duration,
}

/// How one-time codes reach visitors.
#[derive(Debug, Clone)]
pub enum OtpConfig {
    /// POST `{channel, destination, code, expiresInSeconds}` to a URL.
    Webhook {
        url: String,
        bearer: Option<SecretString>,
    },
    /// Send email through an SMTP server (`SMOOTH_AGENT_SMTP_SECURITY`: STARTTLS
    /// by default, implicit TLS, or none for a local relay).
    Smtp {
        host: String,
        port: u16,
        from: String,
        security: SmtpSecurity,
        username: Option<String>,
        password: Option<SecretString>,
        /// `SMOOTH_AGENT_SMTP_ALLOW_INSECURE_AUTH`: log in even without TLS.
        allow_insecure_auth: bool,
    },
}

pub(super) fn auth<F: Fn(&str) -> Option<String>>(env: &Env<F>) -> Result<AuthConfig, ConfigError> {
    let (var, mode) = match env.get("SMOOTH_AGENT_AUTH_MODE") {
        Some(mode) => ("SMOOTH_AGENT_AUTH_MODE", Some(mode.to_ascii_lowercase())),
        None => (
            "AUTH_MODE",
            env.get("AUTH_MODE").map(|m| m.to_ascii_lowercase()),
        ),
    };
    let key = jwt_key(env)?;
    let jwt = |key| AuthConfig::Jwt {
        key,
        issuer: env.get("AUTH_JWT_ISSUER"),
        audience: env.get("AUTH_JWT_AUDIENCE"),
    };
    match mode.as_deref() {
        None => Ok(key.map_or(AuthConfig::Disabled, jwt)),
        Some("jwt") => key.map(jwt).ok_or_else(|| ConfigError {
            var,
            problem: format!("'jwt' needs one of {}", KEY_VARS.join(", ")),
        }),
        Some("none") => Ok(AuthConfig::Open {
            dev_org: env
                .get("AUTH_DEV_ORG_ID")
                .unwrap_or_else(|| "dev-org".into()),
        }),
        Some("trusted") => Ok(AuthConfig::Trusted),
        Some("disabled" | "off") => Ok(AuthConfig::Disabled),
        Some(other) => Err(ConfigError {
            var,
            problem: format!("unknown mode '{other}' (expected: jwt | trusted | none)"),
        }),
    }
}

pub(super) fn widget<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<WidgetAuthConfig, ConfigError> {
    let strict = env.flag("WIDGET_AUTH_STRICT")?;
    let ttl = Duration::from_secs(u64::from(env.parse::<u32>(
        "WIDGET_AUTH_TTL_SECS",
        "a number of seconds",
        60,
    )?));
    let bearer = env.get("WIDGET_AUTH_BEARER").map(SecretString::from);
    let Some(raw) = env.get("WIDGET_AUTH_URL") else {
        if bearer.is_some() {
            return Err(ConfigError {
                var: "WIDGET_AUTH_BEARER",
                problem: "is set but WIDGET_AUTH_URL is not; set both or neither".into(),
            });
        }
        return Ok(WidgetAuthConfig {
            service: None,
            strict,
        });
    };
    let url = reqwest::Url::parse(&raw)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
        .ok_or_else(|| ConfigError {
            var: "WIDGET_AUTH_URL",
            problem: format!("'{raw}' is not an http:// or https:// URL"),
        })?;
    Ok(WidgetAuthConfig {
        service: Some(WidgetServiceConfig { url, bearer, ttl }),
        strict,
    })
}

pub(super) fn otp<F: Fn(&str) -> Option<String>>(
    env: &Env<F>,
) -> Result<Option<OtpConfig>, ConfigError> {
    if let Some(url) = env.get("SMOOTH_AGENT_OTP_WEBHOOK_URL") {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(ConfigError {
                var: "SMOOTH_AGENT_OTP_WEBHOOK_URL",
                problem: format!("'{url}' is not an http:// or https:// URL"),
            });
        }
        return Ok(Some(OtpConfig::Webhook {
            url,
            bearer: env
                .get("SMOOTH_AGENT_OTP_WEBHOOK_BEARER")
                .map(SecretString::from),
        }));
    }
    let Some(host) = env.get("SMOOTH_AGENT_SMTP_HOST") else {
        return Ok(None);
    };
    let from = env
        .get("SMOOTH_AGENT_SMTP_FROM")
        .ok_or_else(|| ConfigError {
            var: "SMOOTH_AGENT_SMTP_FROM",
            problem: "SMOOTH_AGENT_SMTP_HOST needs a sender address in SMOOTH_AGENT_SMTP_FROM"
                .into(),
        })?;
    let security = match env.get("SMOOTH_AGENT_SMTP_SECURITY") {
        None => SmtpSecurity::StartTls,
        Some(text) => SmtpSecurity::parse(&text).ok_or_else(|| ConfigError {
            var: "SMOOTH_AGENT_SMTP_SECURITY",
            problem: format!("'{text}' is not starttls, tls or none"),
        })?,
    };
    let default_port = match security {
        SmtpSecurity::StartTls => 587,
        SmtpSecurity::Tls => 465,
        SmtpSecurity::Plain => 25,
    };
    let username = env.get("SMOOTH_AGENT_SMTP_USERNAME");
    let allow_insecure_auth = env.flag("SMOOTH_AGENT_SMTP_ALLOW_INSECURE_AUTH")?;
    if username.is_some() && security == SmtpSecurity::Plain && !allow_insecure_auth {
        return Err(ConfigError {
            var: "SMOOTH_AGENT_SMTP_SECURITY",
            problem: "SMTP credentials would be sent in clear: use starttls or tls, or set \
                      SMOOTH_AGENT_SMTP_ALLOW_INSECURE_AUTH=true for a relay on this host"
                .into(),
        });
    }
    Ok(Some(OtpConfig::Smtp {
        host,
        port: env.parse("SMOOTH_AGENT_SMTP_PORT", "a port number", default_port)?,
        from,
        security,
        username,
        password: env
            .get("SMOOTH_AGENT_SMTP_PASSWORD")
            .map(SecretString::from),
        allow_insecure_auth,
    }))
}
