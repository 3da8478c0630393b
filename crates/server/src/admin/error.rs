//! The admin API's errors, and the one place each becomes an HTTP status and a
//! stable code in the protocol's error envelope.

use crate::auth::{AuthError, Role};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use switchboard_core::StoreError;
use switchboard_knowledge::KnowledgeError;

/// Every code the admin API sends. The OpenAPI description must list exactly
/// these (a test checks it); clients switch on them, so none is ever renamed.
pub const ERROR_CODES: &[&str] = &[
    "UNAUTHENTICATED",
    "INVALID_TOKEN",
    "MISSING_ROLE",
    "FORBIDDEN",
    "NOT_FOUND",
    "METHOD_NOT_ALLOWED",
    "VALIDATION_ERROR",
    "CONFLICT",
    "PAYLOAD_TOO_LARGE",
    "UNSUPPORTED_MEDIA_TYPE",
    "UPSTREAM_ERROR",
    "UNAVAILABLE",
    "INTERNAL_ERROR",
];

/// Why an admin request failed. [`AdminError::status_and_code`] is the only mapping
/// to the wire.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Auth(#[from] AuthError),
    #[error("forbidden: requires {}, principal is {}", .required.as_str(), .actual.as_str())]
    Forbidden { required: Role, actual: Role },
    #[error("{0}")]
    NotFound(String),
    #[error("{method} is not allowed on this path")]
    MethodNotAllowed { method: String },
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    Conflict(String),
    /// 409 too: the connector is being indexed by the run `run_id`.
    #[error("{message}")]
    Busy { message: String, run_id: String },
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A part the request needs is overloaded or down; the client may retry.
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Knowledge(#[from] KnowledgeError),
    /// A server fault; the text is logged, never sent.
    #[error("{0}")]
    Internal(String),
}

impl AdminError {
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Auth(e) => (StatusCode::UNAUTHORIZED, e.code()),
            Self::Forbidden { .. } => (StatusCode::FORBIDDEN, "FORBIDDEN"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "NOT_FOUND"),
            Self::MethodNotAllowed { .. } => (StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED"),
            Self::Validation(_) | Self::Store(StoreError::InvalidCursor) => {
                (StatusCode::BAD_REQUEST, "VALIDATION_ERROR")
            }
            Self::Conflict(_) | Self::Busy { .. } | Self::Store(StoreError::Conflict(_)) => {
                (StatusCode::CONFLICT, "CONFLICT")
            }
            Self::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE"),
            Self::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE")
            }
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE"),
            Self::Knowledge(KnowledgeError::Embed(_)) => {
                (StatusCode::BAD_GATEWAY, "UPSTREAM_ERROR")
            }
            Self::Store(StoreError::Backend(_)) | Self::Knowledge(_) | Self::Internal(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR")
            }
        }
    }

    /// What the client is told. Internal causes are logged here, never sent.
    fn client_message(&self) -> String {
        match self {
            Self::Store(StoreError::InvalidCursor) => {
                "'cursor' is not a cursor this server issued".into()
            }
            Self::Store(StoreError::Conflict(what)) => format!("{what} already exists"),
            Self::Store(cause) => {
                tracing::error!(error = %cause, "admin: store failure");
                "storage is temporarily unavailable; try again".into()
            }
            Self::Knowledge(KnowledgeError::Embed(cause)) => {
                tracing::error!(error = %cause, "admin: embedding failure");
                "the embedding service failed; try again (what was already stored is kept)".into()
            }
            Self::Knowledge(cause) => {
                tracing::error!(error = %cause, "admin: knowledge base failure");
                "the knowledge base failed; try again".into()
            }
            Self::Internal(cause) => {
                tracing::error!(error = %cause, "admin: internal error");
                "internal error".into()
            }
            other => other.to_string(),
        }
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let run_id = match &self {
            Self::Busy { run_id, .. } => Some(run_id.as_str()),
            _ => None,
        };
        let mut response = (status, envelope(code, &self.client_message(), run_id)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

/// The protocol's `error` frame, as a JSON body; `runId` names the run a 409 on
/// indexing is about.
fn envelope(code: &str, message: &str, run_id: Option<&str>) -> axum::Json<serde_json::Value> {
    let mut error = json!({"code": code, "message": message});
    if let Some(run_id) = run_id {
        error["runId"] = json!(run_id);
    }
    axum::Json(json!({
        "type": "error",
        "error": error,
        "data": {"error": error},
        "timestamp": chrono::Utc::now().timestamp_millis(),
    }))
}

/// Any path under `/admin` that names no route.
pub(super) async fn not_found(uri: axum::http::Uri) -> AdminError {
    AdminError::NotFound(format!("no admin route at {}", uri.path()))
}

/// A route asked with a method it does not serve.
pub(super) async fn method_not_allowed(method: axum::http::Method) -> AdminError {
    AdminError::MethodNotAllowed {
        method: method.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_maps_to_a_listed_code() {
        let errors = [
            AdminError::Auth(AuthError::Missing),
            AdminError::Auth(AuthError::Invalid("x".into())),
            AdminError::Auth(AuthError::MissingRole),
            AdminError::Auth(AuthError::Disabled),
            AdminError::Forbidden {
                required: Role::Admin,
                actual: Role::Basic,
            },
            AdminError::NotFound("x".into()),
            AdminError::MethodNotAllowed { method: "x".into() },
            AdminError::Validation("x".into()),
            AdminError::Conflict("x".into()),
            AdminError::PayloadTooLarge("x".into()),
            AdminError::UnsupportedMediaType("x".into()),
            AdminError::Unavailable("x".into()),
            AdminError::Busy {
                message: "x".into(),
                run_id: "y".into(),
            },
            AdminError::Store(StoreError::InvalidCursor),
            AdminError::Store(StoreError::Conflict("x".into())),
            AdminError::Store(StoreError::Backend("x".into())),
            AdminError::Knowledge(KnowledgeError::Backend("x".into())),
            AdminError::Knowledge(KnowledgeError::Embed(
                switchboard_knowledge::embed::EmbedError::Unavailable("x".into()),
            )),
            AdminError::Internal("x".into()),
        ];
        let mut used: Vec<&str> = errors.iter().map(|e| e.status_and_code().1).collect();
        used.sort();
        used.dedup();
        let mut listed = ERROR_CODES.to_vec();
        listed.sort();
        assert_eq!(used, listed, "ERROR_CODES lists exactly the codes in use");
    }

    #[test]
    fn internal_causes_are_never_sent() {
        let error = AdminError::Store(StoreError::Backend("password=hunter2".into()));
        assert!(!error.client_message().contains("hunter2"));
        let forbidden = AdminError::Forbidden {
            required: Role::Curator,
            actual: Role::Basic,
        };
        assert_eq!(
            forbidden.client_message(),
            "forbidden: requires curator, principal is basic"
        );
    }
}
