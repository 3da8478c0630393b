//! The verified identity behind a token.

use super::AuthError;
use serde::Serialize;
use serde_json::Value;

/// Administrator > curator > basic user; a route names the least it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Basic,
    Curator,
    Admin,
}

impl Role {
    /// The role as tokens and the admin API name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Basic => "basic",
            Self::Curator => "curator",
            Self::Admin => "admin",
        }
    }
}

/// A verified user: who, in which organisation, with what role and groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Principal {
    pub user_id: String,
    pub org_id: String,
    pub role: Role,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
}

impl Principal {
    /// The single identity of `SMOOTH_AGENT_AUTH_MODE=none`.
    pub fn dev_admin(org: &str) -> Self {
        Self {
            user_id: "dev-admin".into(),
            org_id: org.to_owned(),
            role: Role::Admin,
            display_name: Some("Dev Admin (AUTH_MODE=none)".into()),
            email: None,
            groups: Vec::new(),
        }
    }

    /// Maps claims: `sub` → user, `org` (or `org_id`) → organisation (required),
    /// `role` (admin, curator, basic or user) required, `name`, `email`, `groups`.
    pub fn from_claims(claims: &Value) -> Result<Self, AuthError> {
        let text = |key: &str| {
            claims
                .get(key)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let user_id = text("sub").ok_or_else(|| AuthError::Invalid("no 'sub' claim".into()))?;
        let org_id = text("org")
            .or_else(|| text("org_id"))
            .ok_or_else(|| AuthError::Invalid("no 'org' claim".into()))?;
        let role = match text("role").map(|r| r.to_lowercase()).as_deref() {
            Some("admin") => Role::Admin,
            Some("curator") => Role::Curator,
            Some("basic" | "user") => Role::Basic,
            _ => return Err(AuthError::MissingRole),
        };
        let groups = claims
            .get("groups")
            .and_then(Value::as_array)
            .map(|g| {
                g.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            user_id,
            org_id,
            role,
            display_name: text("name"),
            email: text("email").map(|e| e.to_lowercase()),
            groups,
        })
    }
}
