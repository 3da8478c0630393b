//! The route table: every admin route, the least role it needs, its handler.
//!
//! The router is built from this table and the role gate is attached from it, so
//! the role a route declares here is the role it enforces; the OpenAPI test reads
//! the same table.

use super::auth::{Gate, require_role};
use super::{
    connectors, conversations, documents, handoff, indexing, me, model_costs, openapi, publish,
    settings,
};
use crate::auth::Role;
use crate::state::AppState;
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware::from_fn_with_state;
use axum::routing::{MethodFilter, MethodRouter, on};

/// What a route is, for documentation and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    pub method: Method,
    /// Relative to `/admin`, with `{param}` segments.
    pub path: &'static str,
    /// `None`: no token needed.
    pub min_role: Option<Role>,
}

pub(super) struct Route {
    pub info: RouteInfo,
    pub endpoint: MethodRouter<AppState>,
}

fn route<H, T>(method: Method, path: &'static str, min_role: Option<Role>, handler: H) -> Route
where
    H: Handler<T, AppState>,
    T: 'static,
{
    let filter = MethodFilter::try_from(method.clone()).expect("an HTTP method axum routes");
    Route {
        info: RouteInfo {
            method,
            path,
            min_role,
        },
        endpoint: on(filter, handler),
    }
}

pub(super) fn routes() -> Vec<Route> {
    use Method as M;
    use Role::{Admin, Basic, Curator};
    vec![
        route(M::GET, "/health", None, me::health),
        route(M::GET, "/openapi.json", None, openapi::spec),
        route(M::GET, "/model-costs", None, model_costs::get),
        route(M::GET, "/me", Some(Basic), me::me),
        route(M::GET, "/conversations", Some(Basic), conversations::list),
        route(
            M::GET,
            "/conversations/{id}/messages",
            Some(Basic),
            conversations::messages,
        ),
        route(M::GET, "/documents", Some(Curator), documents::list),
        route(M::POST, "/documents", Some(Curator), documents::ingest),
        route(
            M::DELETE,
            "/documents/{id}",
            Some(Curator),
            documents::delete,
        ),
        route(M::GET, "/document-sets", Some(Curator), documents::sets),
        route(M::GET, "/connectors", Some(Curator), connectors::list),
        route(M::POST, "/connectors", Some(Admin), connectors::create),
        route(M::GET, "/connectors/{id}", Some(Curator), connectors::get),
        route(M::PUT, "/connectors/{id}", Some(Admin), connectors::update),
        route(
            M::DELETE,
            "/connectors/{id}",
            Some(Admin),
            connectors::delete,
        ),
        route(
            M::POST,
            "/connectors/{id}/index",
            Some(Curator),
            indexing::run,
        ),
        route(M::GET, "/indexing/runs", Some(Curator), indexing::runs),
        route(M::GET, "/settings", Some(Curator), settings::get),
        route(M::PUT, "/settings", Some(Admin), settings::put),
        route(M::POST, "/publish", Some(Admin), publish::publish),
        route(M::GET, "/handoffs", Some(Curator), handoff::list),
        route(M::GET, "/handoffs/events", Some(Curator), handoff::events),
        route(M::GET, "/handoffs/{id}", Some(Curator), handoff::get),
        route(
            M::POST,
            "/handoffs/{id}/claim",
            Some(Curator),
            handoff::claim,
        ),
        route(
            M::POST,
            "/handoffs/{id}/reply",
            Some(Curator),
            handoff::reply,
        ),
        route(
            M::POST,
            "/handoffs/{id}/return",
            Some(Curator),
            handoff::hand_back,
        ),
        route(
            M::POST,
            "/handoffs/{id}/close",
            Some(Curator),
            handoff::close,
        ),
    ]
}

/// Every admin route, in table order.
pub fn route_table() -> Vec<RouteInfo> {
    routes().into_iter().map(|r| r.info).collect()
}

/// The route's endpoint behind its role gate, when it declares a role.
pub(super) fn gated(route: Route, state: &AppState) -> MethodRouter<AppState> {
    match route.info.min_role {
        Some(role) => route.endpoint.route_layer(from_fn_with_state(
            Gate {
                state: state.clone(),
                role,
            },
            require_role,
        )),
        None => route.endpoint,
    }
}
