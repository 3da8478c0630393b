//! The operator inbox at `GET /inbox`: the handoff queue, the conversations
//! operators answer, and replying, handing back and closing.
//!
//! Static assets compiled in, like the chat page. The page is a client of the
//! admin API (with the operator's bearer token, kept in the tab's session
//! storage) and of its live handoff event stream; it can do nothing the API does
//! not offer.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

const INBOX_HTML: &str = include_str!("assets/inbox.html");
const INBOX_CSS: &str = include_str!("assets/inbox.css");
const INBOX_JS: &str = include_str!("assets/inbox.js");

/// Its own script and styles only, and requests to its own host only.
const INBOX_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/inbox", get(page))
        .route(
            "/inbox.css",
            get(|| async { asset(INBOX_CSS, "text/css; charset=utf-8") }),
        )
        .route(
            "/inbox.js",
            get(|| async { asset(INBOX_JS, "text/javascript; charset=utf-8") }),
        )
}

async fn page() -> Response {
    let mut response = asset(INBOX_HTML, "text/html; charset=utf-8");
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(INBOX_CSP),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
