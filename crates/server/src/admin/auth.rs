//! Who is calling: the bearer token of every admin route that declares a minimum
//! role, verified before the handler runs.
//!
//! The gate is attached to each route by the route table (see `routes.rs`), so the
//! role a route declares is the role it enforces; handlers read the verified
//! [`Caller`].

use super::AdminError;
use crate::auth::{AuthError, Principal, Role};
use crate::state::AppState;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use switchboard_core::OrgId;

/// The verifier and the least role one route accepts.
#[derive(Clone)]
pub(super) struct Gate {
    pub state: AppState,
    pub role: Role,
}

/// Lets the request through with its [`Caller`] when the token proves at least the
/// gate's role.
pub(super) async fn require_role(
    State(gate): State<Gate>,
    mut request: Request,
    next: Next,
) -> Response {
    match authorize(&gate.state, request.headers(), gate.role).await {
        Ok(principal) => {
            request.extensions_mut().insert(Caller(principal));
            next.run(request).await
        }
        Err(e) => e.into_response(),
    }
}

/// The principal `headers` prove, when their role is at least `least`.
async fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    least: Role,
) -> Result<Principal, AdminError> {
    let token = bearer(headers).ok_or(AuthError::Missing)?;
    let principal = state.auth().verify(token).await?;
    if principal.role < least {
        return Err(AdminError::Forbidden {
            required: least,
            actual: principal.role,
        });
    }
    Ok(principal)
}

/// The token of `Authorization: Bearer <token>` (or `bearer`); any other scheme
/// counts as no token.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
}

/// The verified caller of a route that declares a role.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl Caller {
    /// The organisation everything this caller reads or writes is scoped to.
    pub fn org(&self) -> OrgId {
        OrgId::new(self.0.org_id.clone())
    }

    pub fn role(&self) -> Role {
        self.0.role
    }

    pub fn user_id(&self) -> &str {
        &self.0.user_id
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Caller>().cloned().ok_or_else(|| {
            AdminError::Internal(format!(
                "{} reads its caller but declares no role",
                parts.uri.path()
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_bearer_scheme_carries_a_token() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, value.parse().unwrap());
            bearer(&headers).map(str::to_owned)
        };
        assert_eq!(with("Bearer abc").as_deref(), Some("abc"));
        assert_eq!(with("bearer abc").as_deref(), Some("abc"));
        assert_eq!(with("Bearer ").as_deref(), Some(""));
        assert_eq!(with("Basic dXNlcjpwdw==").as_deref(), None);
        assert_eq!(with("BEARER abc").as_deref(), None);
        assert_eq!(bearer(&HeaderMap::new()), None);
    }
}
