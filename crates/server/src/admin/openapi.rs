//! `GET /admin/openapi.json`: the OpenAPI 3 description of this API, written by
//! hand beside the code and held to it by tests (every route and only routes,
//! their roles, every error code).

use axum::http::header;
use axum::response::IntoResponse;

/// The description, as served.
pub const SPEC: &str = include_str!("openapi.json");

pub async fn spec() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], SPEC)
}
