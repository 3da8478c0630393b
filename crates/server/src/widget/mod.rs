//! Embeddable-widget authorisation: which pages may open sessions with an agent.
//!
//! An agent's [`Policy`] comes from the agent configuration file (`widget`) or,
//! for agents the file gives none, from the operator's policy service
//! (`WIDGET_AUTH_URL`). At `create_conversation_session` (resumes included),
//! before anything is stored:
//!
//! 1. no policy: admitted, unless `WIDGET_AUTH_STRICT` (`AGENT_NOT_AUTHORIZED`);
//! 2. the handshake's `Origin` must match the policy's allowlist
//!    (`ORIGIN_NOT_ALLOWED`, see [`origin`]);
//! 3. an `authContext`, when sent, must carry a valid signature under the policy's
//!    key (`AUTH_CONTEXT_INVALID`, see [`signature`]). It proves nothing more: it
//!    neither identifies the visitor nor verifies them for tools.
//!
//! An admitted session's new conversation belongs to the policy's organisation,
//! when it names one.

mod cache;
pub mod origin;
mod provider;
mod service;
pub mod signature;

pub use provider::{FileThenService, Permissive, PolicyProvider, StaticPolicies};
pub use service::PolicyService;
pub use signature::SignatureError;

use crate::config::WidgetAuthConfig;
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;
use std::sync::Arc;
use switchboard_agent::AgentFile;
use switchboard_agent::config::WidgetPolicyConfig;
use switchboard_core::OrgId;
use switchboard_protocol::AuthContext;

/// Where one agent may be embedded, and how its visitors' claims are checked.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Origin patterns a widget's page may have; empty refuses every origin.
    pub allowed_origins: Vec<String>,
    /// The HMAC-SHA256 key of `authContext` signatures (a shared secret).
    pub public_key: Option<SecretString>,
    /// The organisation new conversations through the widget belong to.
    pub organization_id: Option<OrgId>,
}

impl Policy {
    /// A policy from the agent configuration file, refusing origin patterns that
    /// could never match.
    pub fn from_file(config: &WidgetPolicyConfig) -> Result<Self, String> {
        for pattern in &config.allowed_origins {
            origin::check(pattern)?;
        }
        Ok(Self {
            allowed_origins: config.allowed_origins.clone(),
            public_key: config.public_key.clone().map(SecretString::from),
            organization_id: config.organization_id.clone().map(OrgId::new),
        })
    }
}

/// Why a widget may not open a session. Messages name the agent and origin for the
/// integrator, and never anything of the policy itself.
#[derive(Debug, thiserror::Error)]
pub enum WidgetError {
    #[error(
        "agent '{agent}' has no widget policy, and this server admits only agents that have one"
    )]
    AgentNotAuthorized { agent: String },
    #[error("{} may not embed agent '{agent}'", shown(.origin))]
    OriginNotAllowed { agent: String, origin: String },
    #[error("authContext for agent '{agent}' is invalid: {reason}")]
    AuthContextInvalid {
        agent: String,
        reason: SignatureError,
    },
}

fn shown(origin: &str) -> String {
    if origin.is_empty() {
        "a page without an Origin header".into()
    } else {
        format!("origin '{origin}'")
    }
}

/// What admission grants a session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Admission {
    /// The organisation of a new conversation, when the policy names one.
    pub org: Option<OrgId>,
}

/// The gate `create_conversation_session` passes through.
#[derive(Clone)]
pub struct WidgetAuth {
    provider: Arc<dyn PolicyProvider>,
    strict: bool,
}

impl WidgetAuth {
    pub fn new(provider: Arc<dyn PolicyProvider>, strict: bool) -> Self {
        Self { provider, strict }
    }

    /// The gate the configuration asks for: the file's policies, then the policy
    /// service's, then none.
    pub fn from_config(
        config: &WidgetAuthConfig,
        file: &AgentFile,
        http: &reqwest::Client,
    ) -> Result<Self, String> {
        let mut policies = HashMap::new();
        for agent in &file.agents {
            if let Some(widget) = &agent.widget {
                let policy = Policy::from_file(widget)
                    .map_err(|e| format!("agent '{}': widget: {e}", agent.id))?;
                policies.insert(agent.id.clone(), Arc::new(policy));
            }
        }
        if config.strict && policies.is_empty() && config.service.is_none() {
            tracing::warn!(
                "WIDGET_AUTH_STRICT is on, but no agent has a widget policy and \
                 WIDGET_AUTH_URL is unset: every session will be refused"
            );
        }
        let service = config
            .service
            .as_ref()
            .map(|s| PolicyService::new(s, http.clone()));
        let provider: Arc<dyn PolicyProvider> = match (policies.is_empty(), service) {
            (true, None) => Arc::new(Permissive),
            (false, None) => Arc::new(StaticPolicies::new(policies)),
            (true, Some(service)) => Arc::new(service),
            (false, Some(service)) => Arc::new(FileThenService {
                file: StaticPolicies::new(policies),
                service,
            }),
        };
        Ok(Self::new(provider, config.strict))
    }

    /// Admits or refuses a widget of `agent` on a page of `origin` ("" when the
    /// handshake had none), checking `auth_context` when one was sent.
    pub async fn admit(
        &self,
        agent: &str,
        origin: &str,
        auth_context: Option<&AuthContext>,
    ) -> Result<Admission, WidgetError> {
        let Some(policy) = self.provider.policy(agent).await else {
            if self.strict {
                tracing::debug!(agent, "widget refused: no policy (strict)");
                return Err(WidgetError::AgentNotAuthorized {
                    agent: agent.to_owned(),
                });
            }
            return Ok(Admission::default());
        };
        if !origin::allowed(&policy.allowed_origins, origin) {
            tracing::debug!(agent, origin, "widget refused: origin not allowed");
            return Err(WidgetError::OriginNotAllowed {
                agent: agent.to_owned(),
                origin: origin.to_owned(),
            });
        }
        if let Some(context) = auth_context {
            let now = chrono::Utc::now().timestamp();
            let checked = match &policy.public_key {
                Some(key) => signature::verify(context, key.expose_secret().as_bytes(), now),
                None => Err(SignatureError::NoKey),
            };
            if let Err(reason) = checked {
                tracing::debug!(agent, %reason, "widget refused: authContext");
                return Err(WidgetError::AuthContextInvalid {
                    agent: agent.to_owned(),
                    reason,
                });
            }
        }
        Ok(Admission {
            org: policy.organization_id.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "k-widget-secret";

    fn gate(policy: Option<Policy>, strict: bool) -> WidgetAuth {
        let policies = policy
            .map(|p| HashMap::from([("agent".to_owned(), Arc::new(p))]))
            .unwrap_or_default();
        WidgetAuth::new(Arc::new(StaticPolicies::new(policies)), strict)
    }

    fn policy(origins: &[&str], key: Option<&str>) -> Policy {
        Policy {
            allowed_origins: origins.iter().map(|o| o.to_string()).collect(),
            public_key: key.map(SecretString::from),
            organization_id: Some(OrgId::new("acme")),
        }
    }

    fn context(signature: String, timestamp: i64) -> AuthContext {
        AuthContext {
            user_id: "u1".into(),
            signature,
            timestamp,
        }
    }

    #[tokio::test]
    async fn without_a_policy_only_strict_mode_refuses() {
        assert_eq!(
            gate(None, false).admit("agent", "", None).await.unwrap(),
            Admission::default()
        );
        let err = gate(None, true).admit("agent", "", None).await.unwrap_err();
        assert!(matches!(err, WidgetError::AgentNotAuthorized { .. }));
        assert!(err.to_string().contains("'agent'"));
    }

    #[tokio::test]
    async fn an_allowed_origin_gets_the_policys_organisation() {
        let g = gate(Some(policy(&["https://*.smoo.ai"], None)), true);
        let admitted = g.admit("agent", "https://app.smoo.ai", None).await.unwrap();
        assert_eq!(admitted.org, Some(OrgId::new("acme")));
    }

    #[tokio::test]
    async fn a_refused_origin_is_named_and_the_key_is_not() {
        let g = gate(Some(policy(&["https://*.smoo.ai"], Some(KEY))), false);
        let err = g
            .admit("agent", "https://evil.test", None)
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "origin 'https://evil.test' may not embed agent 'agent'"
        );
        let err = g.admit("agent", "", None).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "a page without an Origin header may not embed agent 'agent'"
        );
        let printed = format!("{err:?} {:?}", policy(&["*"], Some(KEY)));
        assert!(!printed.contains(KEY), "{printed}");
    }

    #[tokio::test]
    async fn an_auth_context_needs_a_key_and_a_valid_signature() {
        let now = chrono::Utc::now().timestamp();
        let good = context(signature::sign(KEY.as_bytes(), "u1", now), now);
        let g = gate(Some(policy(&["*"], Some(KEY))), false);
        assert!(g.admit("agent", "", Some(&good)).await.is_ok());
        let stale = context(signature::sign(KEY.as_bytes(), "u1", now - 120), now - 120);
        let err = g.admit("agent", "", Some(&stale)).await.unwrap_err();
        assert!(matches!(
            err,
            WidgetError::AuthContextInvalid {
                reason: SignatureError::OutsideWindow { .. },
                ..
            }
        ));
        let keyless = gate(Some(policy(&["*"], None)), false);
        let err = keyless.admit("agent", "", Some(&good)).await.unwrap_err();
        assert!(matches!(
            err,
            WidgetError::AuthContextInvalid {
                reason: SignatureError::NoKey,
                ..
            }
        ));
    }

    #[test]
    fn file_policies_with_impossible_origins_are_refused() {
        let config = |origins: &[&str]| WidgetPolicyConfig {
            allowed_origins: origins.iter().map(|o| o.to_string()).collect(),
            public_key: None,
            organization_id: None,
        };
        assert!(Policy::from_file(&config(&["https://app.smoo.ai"])).is_ok());
        let err = Policy::from_file(&config(&["https://app.smoo.ai/"])).unwrap_err();
        assert!(err.contains("https://app.smoo.ai/"), "{err}");
    }
}
