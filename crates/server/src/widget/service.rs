//! The operator's policy service (`WIDGET_AUTH_URL`): `GET {url}/{agentId}`.
//!
//! A 2xx answer with a policy, and a 404 ("this agent has none"), are remembered
//! for `WIDGET_AUTH_TTL_SECS`. Anything else (another status, a network error, a
//! body that is not a policy) counts as "no policy" for this request only, is
//! logged, and is asked again next time.

use super::Policy;
use super::cache::Cache;
use super::provider::PolicyProvider;
use crate::config::WidgetServiceConfig;
use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use switchboard_core::OrgId;

/// How long the service has to answer.
const TIMEOUT: Duration = Duration::from_secs(5);
/// The most agents whose answers are remembered at once.
const CAPACITY: usize = 10_000;
/// Agent ids longer than this are never looked up (they have no policy): they
/// would make unbounded URLs and cache keys.
const MAX_AGENT_ID_BYTES: usize = 256;
/// The largest policy body read.
const MAX_BODY_BYTES: usize = 64 * 1024;

pub struct PolicyService {
    http: reqwest::Client,
    url: reqwest::Url,
    bearer: Option<SecretString>,
    cache: Cache<Option<Arc<Policy>>>,
}

/// Why the service gave no usable answer.
#[derive(Debug, thiserror::Error)]
enum FetchError {
    #[error("answered HTTP {0}")]
    Status(reqwest::StatusCode),
    #[error("unreachable: {0}")]
    Network(#[from] reqwest::Error),
    #[error("answered a body larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    #[error("answered a body that is not a policy: {0}")]
    Body(#[from] serde_json::Error),
}

/// A policy as the service sends it: snake_case (as the reference service does)
/// or camelCase. A policy without `allowed_origins` allows no origin.
#[derive(Deserialize)]
struct WirePolicy {
    #[serde(default, alias = "allowedOrigins")]
    allowed_origins: Vec<String>,
    #[serde(default, alias = "publicKey")]
    public_key: Option<String>,
    #[serde(default, alias = "organizationId")]
    organization_id: Option<String>,
}

impl From<WirePolicy> for Policy {
    fn from(wire: WirePolicy) -> Self {
        Self {
            allowed_origins: wire.allowed_origins,
            public_key: wire
                .public_key
                .filter(|k| !k.is_empty())
                .map(SecretString::from),
            organization_id: wire
                .organization_id
                .filter(|o| !o.trim().is_empty())
                .map(OrgId::new),
        }
    }
}

impl PolicyService {
    pub fn new(config: &WidgetServiceConfig, http: reqwest::Client) -> Self {
        Self {
            http,
            url: config.url.clone(),
            bearer: config.bearer.clone(),
            cache: Cache::new(config.ttl, CAPACITY),
        }
    }

    /// `{url}/{agent_id}`, the id percent-encoded as one path segment. `None` for
    /// ids that cannot be one (`.`, `..`, which URLs resolve away) or are too long.
    fn url_for(&self, agent_id: &str) -> Option<reqwest::Url> {
        if matches!(agent_id, "." | "..") || agent_id.len() > MAX_AGENT_ID_BYTES {
            return None;
        }
        let mut url = self.url.clone();
        url.path_segments_mut().ok()?.pop_if_empty().push(agent_id);
        Some(url)
    }

    async fn fetch(&self, url: reqwest::Url) -> Result<Option<Policy>, FetchError> {
        let mut request = self.http.get(url).timeout(TIMEOUT);
        if let Some(bearer) = &self.bearer {
            request = request.bearer_auth(bearer.expose_secret());
        }
        let mut response = request.send().await?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(FetchError::Status(status));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(FetchError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        let wire: WirePolicy = serde_json::from_slice(&body)?;
        Ok(Some(wire.into()))
    }
}

#[async_trait]
impl PolicyProvider for PolicyService {
    async fn policy(&self, agent_id: &str) -> Option<Arc<Policy>> {
        let Some(url) = self.url_for(agent_id) else {
            tracing::debug!(
                agent_id,
                "agent id not looked up at the widget policy service"
            );
            return None;
        };
        let load = || async {
            match self.fetch(url).await {
                Ok(policy) => Some(policy.map(Arc::new)),
                Err(e) => {
                    tracing::warn!(agent_id, error = %e, "widget policy service: no policy this time");
                    None
                }
            }
        };
        self.cache.get_or_load(agent_id, load).await.flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(url: &str) -> PolicyService {
        let config = WidgetServiceConfig {
            url: reqwest::Url::parse(url).unwrap(),
            bearer: None,
            ttl: Duration::from_secs(60),
        };
        PolicyService::new(&config, switchboard_agent::http::client())
    }

    #[test]
    fn the_agent_id_is_one_percent_encoded_segment() {
        let s = service("https://p.test/widget");
        let url = |id| s.url_for(id).map(|u| u.to_string());
        assert_eq!(url("agent-1").unwrap(), "https://p.test/widget/agent-1");
        assert_eq!(
            url("a/b?c#d e%").unwrap(),
            "https://p.test/widget/a%2Fb%3Fc%23d%20e%25"
        );
        let s = service("https://p.test/widget/?v=2");
        assert_eq!(
            s.url_for("x").unwrap().to_string(),
            "https://p.test/widget/x?v=2"
        );
    }

    #[test]
    fn ids_that_cannot_be_a_segment_are_not_looked_up() {
        let s = service("https://p.test/widget");
        assert!(s.url_for(".").is_none());
        assert!(s.url_for("..").is_none());
        assert!(s.url_for(&"a".repeat(MAX_AGENT_ID_BYTES + 1)).is_none());
        assert!(s.url_for(&"a".repeat(MAX_AGENT_ID_BYTES)).is_some());
    }

    #[test]
    fn policies_are_read_in_snake_or_camel_case() {
        let snake: WirePolicy = serde_json::from_str(
            r#"{"allowed_origins":["*"],"public_key":"k","organization_id":"acme","extra":1}"#,
        )
        .unwrap();
        let camel: WirePolicy = serde_json::from_str(
            r#"{"allowedOrigins":["*"],"publicKey":"k","organizationId":"acme"}"#,
        )
        .unwrap();
        for policy in [Policy::from(snake), Policy::from(camel)] {
            assert_eq!(policy.allowed_origins, ["*"]);
            assert_eq!(policy.public_key.unwrap().expose_secret(), "k");
            assert_eq!(policy.organization_id.unwrap().as_str(), "acme");
        }
        let bare: WirePolicy =
            serde_json::from_str(r#"{"public_key":null,"organization_id":" "}"#).unwrap();
        let bare = Policy::from(bare);
        assert!(bare.allowed_origins.is_empty(), "no origins: none allowed");
        assert!(bare.public_key.is_none() && bare.organization_id.is_none());
    }
}
