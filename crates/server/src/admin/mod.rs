//! The admin HTTP API under `/admin`: JSON over bearer tokens, scoped to the
//! caller's organisation.
//!
//! One file per resource family; `routes.rs` is the table of routes and roles,
//! `auth.rs` the role gate, `error.rs` the error codes, `openapi.json` the
//! description served at `/admin/openapi.json`.
//!
//! Everything reads and writes only the caller's organisation: another
//! organisation's id answers 404, exactly as an unknown one.

mod auth;
mod connector_config;
mod connectors;
mod conversations;
mod documents;
pub(crate) mod egress;
mod error;
mod extract;
mod handoff;
mod indexing;
mod me;
mod model_costs;
mod namespace;
mod openapi;
mod publish;
mod routes;
mod settings;

pub use auth::Caller;
pub use error::{AdminError, ERROR_CODES};
pub use model_costs::Cache;
pub use openapi::SPEC as OPENAPI_SPEC;
pub use routes::{RouteInfo, route_table};
pub use settings::{DEFAULT_MODEL, DEFAULT_SYSTEM_PROMPT};

use crate::state::AppState;
use axum::Router;
use axum::http::{Method, header};
use tower_http::cors::{Any, CorsLayer};

/// The `/admin` router: every route of the table behind its role gate, JSON 404
/// and 405 answers, and CORS for browser consoles on any origin.
pub fn router<S>(state: AppState) -> Router<S> {
    let mut router = Router::new();
    for route in routes::routes() {
        let path = route.info.path;
        router = router.route(path, routes::gated(route, &state));
    }
    router
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(cors())
        .with_state(state)
}

/// Any origin may call with a bearer token (no cookies are involved).
fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
}
