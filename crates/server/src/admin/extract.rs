//! Request extractors whose failures answer in the admin error envelope: a JSON
//! body, a query string and a path segment.

use super::AdminError;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// A JSON request body. Bad JSON, a wrong shape or a missing content type get a 4xx
/// that says what is wrong and where.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = AdminError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        // Read once (within the body limit), look for U+0000, then let axum's Json
        // check the content type and decode, so its messages stay as they are.
        let (parts, body) = request.into_parts();
        let bytes =
            axum::body::Bytes::from_request(Request::from_parts(parts.clone(), body), state)
                .await
                .map_err(|rejection| {
                    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                        AdminError::PayloadTooLarge("the body is too large".into())
                    } else {
                        AdminError::Validation(rejection.body_text())
                    }
                })?;
        refuse_nul(&bytes)?;
        let request = Request::from_parts(parts, axum::body::Body::from(bytes));
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(body_error(rejection)),
        }
    }
}

/// U+0000 can only be written in JSON as the escape; when the escape is there, the
/// body is parsed to tell it from an escaped backslash followed by "u0000".
fn refuse_nul(bytes: &[u8]) -> Result<(), AdminError> {
    const ESCAPE: &[u8] = b"\\u0000";
    if !bytes.windows(ESCAPE.len()).any(|w| w == ESCAPE) {
        return Ok(());
    }
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(value) if switchboard_protocol::holds_nul(&value) => Err(AdminError::Validation(
            "text must not contain NUL characters (U+0000)".into(),
        )),
        // Not JSON: axum's decoder says why.
        _ => Ok(()),
    }
}

fn body_error(rejection: JsonRejection) -> AdminError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => AdminError::UnsupportedMediaType(
            "the body must be JSON, sent with 'content-type: application/json'".into(),
        ),
        JsonRejection::JsonSyntaxError(e) => {
            AdminError::Validation(format!("the body is not valid JSON: {}", source_of(&e)))
        }
        JsonRejection::JsonDataError(e) => {
            AdminError::Validation(format!("the body is not as expected: {}", source_of(&e)))
        }
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            AdminError::PayloadTooLarge("the body is too large".into())
        }
        other => AdminError::Validation(other.body_text()),
    }
}

/// The innermost cause of a rejection (serde's message with its path and position),
/// without axum's generic prefix.
fn source_of(error: &dyn std::error::Error) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// A query string.
pub struct Params<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => Err(AdminError::Validation(
                format!("the query string is not as expected: {}", source_of(&e)),
            )),
            Err(other) => Err(AdminError::Validation(other.body_text())),
        }
    }
}

/// The one `{id}` segment of a route's path, percent-decoded.
pub struct PathId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<String>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(id)) => Ok(Self(id)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => Err(AdminError::Validation(
                format!("the path is not as expected: {}", e.body_text()),
            )),
            Err(other) => Err(AdminError::Internal(other.body_text())),
        }
    }
}

/// `limit` clamped to `1..=max`, `default` when absent.
pub fn clamp_limit(limit: Option<u32>, default: u32, max: u32) -> usize {
    limit.unwrap_or(default).clamp(1, max) as usize
}
