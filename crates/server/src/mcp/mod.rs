//! Switchboard as an MCP server: `/mcp` (streamable HTTP, through `rmcp`'s tower
//! service) offers one tool per configured agent, `ask_<slug>`, and
//! `search_knowledge`. Callers authenticate like the admin API (a bearer token);
//! a question runs as a normal turn of the caller, and searches see only what the
//! caller may see.
//!
//! - `handler`: the MCP tools (listing, dispatch, results);
//! - `ask`: one question as a turn in a new conversation of the caller.

mod ask;
mod handler;

use crate::admin::{AdminError, Caller};
use crate::auth::AuthError;
use crate::state::AppState;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use std::sync::Arc;

/// The largest request body `/mcp` reads.
const MAX_REQUEST_BYTES: usize = 256 * 1024;

/// `/mcp`: the MCP endpoint behind the bearer-token gate.
///
/// Sessionless (every request stands alone), so any replica can answer any
/// request; a question in progress at shutdown drains like any request (the
/// listener bounds it). The Host check of `rmcp` (against DNS rebinding of servers that trust
/// the local network) is off: every request must carry a token instead.
pub fn router<S: Clone + Send + Sync + 'static>(state: AppState) -> Router<S> {
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        .with_max_request_body_bytes(MAX_REQUEST_BYTES)
        .disable_allowed_hosts();
    let endpoint = handler::Endpoint::new(state.clone());
    let service = StreamableHttpService::new(
        move || Ok(endpoint.clone()),
        Arc::new(NeverSessionManager::default()),
        config,
    );
    Router::new()
        .route_service("/mcp", service)
        .layer(axum::middleware::from_fn_with_state(state, authenticate))
        .layer(cors())
}

/// Browser-based MCP clients may call from any origin with a bearer token (no
/// cookies are involved); a preflight is answered before the token gate.
fn cors() -> tower_http::cors::CorsLayer {
    use axum::http::{HeaderName, Method};
    tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::Any)
        .allow_methods([Method::GET, Method::POST, Method::DELETE, Method::OPTIONS])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            HeaderName::from_static("mcp-protocol-version"),
            HeaderName::from_static("mcp-session-id"),
            HeaderName::from_static("last-event-id"),
        ])
        .expose_headers([HeaderName::from_static("mcp-session-id")])
}

/// Lets a request through with its [`Caller`] when its bearer token verifies;
/// anything else is refused like the admin API refuses it, with a
/// `WWW-Authenticate: Bearer` challenge.
async fn authenticate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::to_owned);
    let verified = match token {
        Some(token) => state.auth().verify(&token).await,
        None => Err(AuthError::Missing),
    };
    match verified {
        Ok(principal) => {
            request.extensions_mut().insert(Caller(principal));
            next.run(request).await
        }
        Err(e) => {
            let mut response = AdminError::from(e).into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
            response
        }
    }
}
