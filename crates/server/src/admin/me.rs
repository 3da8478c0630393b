//! `GET /admin/health` and `GET /admin/me`.

use super::Caller;
use crate::auth::Principal;
use axum::Json;
use serde_json::{Value, json};

/// The admin API is up. Needs no token and touches nothing.
pub async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// The caller as their token proves them.
pub async fn me(caller: Caller) -> Json<Principal> {
    Json(caller.0)
}
