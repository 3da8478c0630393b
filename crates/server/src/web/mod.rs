//! The browser surfaces: the chat page at `GET /`, the embeddable `widget.js`, and
//! the operator inbox at `GET /inbox` (see [`inbox`]).
//!
//! Both are static assets compiled into the binary (no CDN, no build step): the
//! page is a thin shell around the `<switchboard-chat>` element that `widget.js`
//! defines, so the page and the widget share one protocol client and one renderer.
//! They use the WebSocket protocol like any other client; the only extra route is
//! `GET /api/agents`, the public list of agent ids and names for the picker.

mod inbox;

use crate::state::AppState;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

const CHAT_HTML: &str = include_str!("assets/chat.html");
const CHAT_CSS: &str = include_str!("assets/chat.css");
/// `widget.js`: one self-contained script, kept in the source as parts by topic.
const WIDGET_JS: &str = concat!(
    include_str!("assets/prelude.js"),
    "  const CSS = `\n",
    include_str!("assets/widget.css"),
    "`;\n",
    include_str!("assets/dom.js"),
    include_str!("assets/cards.js"),
    include_str!("assets/element.js"),
    "})();\n"
);

/// The page may load only its own script and styles and talk only to its own host;
/// nothing inline runs, so text that slipped into the DOM as HTML still could not.
const PAGE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self' ws: wss:; object-src 'none'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'self'";

/// Routes of the chat page, its assets and the agent list.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(page))
        .route("/chat.css", get(stylesheet))
        .route("/widget.js", get(widget))
        .route("/api/agents", get(agents))
        .merge(inbox::router())
}

/// `GET /`: the chat page. Never cached, so an upgraded server serves its new page.
async fn page() -> Response {
    let mut response = asset(CHAT_HTML, "text/html; charset=utf-8", "no-cache");
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_CSP),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

async fn stylesheet() -> Response {
    asset(CHAT_CSS, "text/css; charset=utf-8", "public, max-age=300")
}

/// `GET /widget.js`: loadable from any site (`Access-Control-Allow-Origin: *`,
/// cross-origin resource policy), cached for five minutes and revalidated by ETag.
async fn widget(request: HeaderMap) -> Response {
    let etag = widget_etag();
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        asset(
            WIDGET_JS,
            "text/javascript; charset=utf-8",
            "public, max-age=300",
        )
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("cross-origin"),
    );
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
    response
}

/// A strong validator of the compiled-in script, computed once.
fn widget_etag() -> &'static str {
    static ETAG: OnceLock<String> = OnceLock::new();
    ETAG.get_or_init(|| {
        let digest = Sha256::digest(WIDGET_JS.as_bytes());
        let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        format!("\"{hex}\"")
    })
}

fn asset(body: &'static str, content_type: &'static str, cache: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// What the chat page needs to set itself up: nothing secret.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AgentList {
    /// The public agents of the configuration file (internal ones are left out).
    agents: Vec<AgentEntry>,
    /// Whether the knowledge base holds any document (else the page says how to add some).
    has_documents: bool,
}

#[derive(Serialize)]
struct AgentEntry {
    /// The agent's UUID.
    id: String,
    /// The short name a page may use instead (`?agent=`, `data-agent-id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    slug: Option<String>,
    name: String,
}

/// `GET /api/agents`: ids and display names of the public agents, for the picker.
async fn agents(State(state): State<AppState>) -> Response {
    let agents = state
        .runtime()
        .agents()
        .iter()
        .filter(|a| !a.internal())
        .map(|a| AgentEntry {
            id: a.id.clone(),
            slug: a.slug.clone(),
            name: a
                .name
                .clone()
                .or_else(|| a.slug.clone())
                .unwrap_or_else(|| a.id.clone()),
        })
        .collect();
    let has_documents = !state.knowledge().is_empty().await.unwrap_or(true);
    let mut response = Json(AgentList {
        agents,
        has_documents,
    })
    .into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
