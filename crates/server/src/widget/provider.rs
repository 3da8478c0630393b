//! Where an agent's widget policy comes from: nowhere (permissive), the agent
//! configuration file, the operator's policy service, or the file then the service.

use super::Policy;
use super::service::PolicyService;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Arc;

/// Looks up an agent's widget policy.
#[async_trait]
pub trait PolicyProvider: Send + Sync {
    /// The policy for `agent_id`; `None` when it has none, or when the answer
    /// could not be had (the provider logs why).
    async fn policy(&self, agent_id: &str) -> Option<Arc<Policy>>;
}

/// No policy for anyone: every agent may be embedded anywhere (unless strict).
pub struct Permissive;

#[async_trait]
impl PolicyProvider for Permissive {
    async fn policy(&self, _: &str) -> Option<Arc<Policy>> {
        None
    }
}

/// Policies fixed at start-up (the agent configuration file's `widget` entries).
pub struct StaticPolicies(HashMap<String, Arc<Policy>>);

impl StaticPolicies {
    pub fn new(policies: HashMap<String, Arc<Policy>>) -> Self {
        Self(policies)
    }
}

#[async_trait]
impl PolicyProvider for StaticPolicies {
    async fn policy(&self, agent_id: &str) -> Option<Arc<Policy>> {
        self.0.get(agent_id).cloned()
    }
}

/// The file's policy when it has one, else the service's answer: what an operator
/// wrote next to the agent is the most specific statement about it.
pub struct FileThenService {
    pub file: StaticPolicies,
    pub service: PolicyService,
}

#[async_trait]
impl PolicyProvider for FileThenService {
    async fn policy(&self, agent_id: &str) -> Option<Arc<Policy>> {
        match self.file.policy(agent_id).await {
            Some(policy) => Some(policy),
            None => self.service.policy(agent_id).await,
        }
    }
}
