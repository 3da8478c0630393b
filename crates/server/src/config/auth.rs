//! Who is asking: `AUTH_*` and `SMOOTH_AGENT_AUTH_MODE`, widget policies
//! (`WIDGET_AUTH_*`), one-time-code delivery (webhook or SMTP).

use super::ConfigError;
use super::env::Env;
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
    /// Signed JSON Web Tokens; `exp` always enforced, issuer and audience when set.
    Jwt {
        key: JwtKey,
        issuer: Option<String>,
        audience: Option<String>,
    },
    /// Claims forwarded unsigned (base64url JSON) by a proxy that already checked
    /// them. Safe only when nothing else can reach the server.
    Trusted,
}

#[derive(Debug, Clone)]
pub enum JwtKey {
    Hs256(SecretString),
    /// An RSA public key in PEM.
    Rs256(String),
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
    if env.get("AUTH_JWT_JWKS_URL").is_some() {
        return Err(ConfigError {
            var: "AUTH_JWT_JWKS_URL",
            problem:
                "JWKS is not supported yet; give AUTH_JWT_RS256_PUBLIC_KEY or AUTH_JWT_HS256_SECRET"
                    .into(),
        });
    }
    // PEM keys in environment variables often arrive with escaped newlines.
    let key = match (
        env.get("AUTH_JWT_RS256_PUBLIC_KEY"),
        env.get("AUTH_JWT_HS256_SECRET"),
    ) {
        (Some(pem), _) => Some(JwtKey::Rs256(pem.replace("\\n", "\n"))),
        (None, Some(secret)) => Some(JwtKey::Hs256(secret.into())),
        (None, None) => None,
    };
    let jwt = |key| AuthConfig::Jwt {
        key,
        issuer: env.get("AUTH_JWT_ISSUER"),
        audience: env.get("AUTH_JWT_AUDIENCE"),
    };
    match mode.as_deref() {
        None => Ok(key.map_or(AuthConfig::Disabled, jwt)),
        Some("jwt") => key.map(jwt).ok_or_else(|| ConfigError {
            var,
            problem: "'jwt' needs AUTH_JWT_HS256_SECRET or AUTH_JWT_RS256_PUBLIC_KEY".into(),
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
