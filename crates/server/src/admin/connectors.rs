//! Connector CRUD: `GET`/`POST /admin/connectors`, `GET`/`PUT`/`DELETE
//! /admin/connectors/{id}`. Connectors live in the store, per organisation.

use super::connector_config::{parse_kind, validate};
use super::extract::{Body, PathId};
use super::{AdminError, Caller, namespace};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchboard_core::{Connector, ConnectorId, ConnectorKind, StoreError};

const MAX_NAME_CHARS: usize = 200;

/// The body of `POST` and `PUT`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorRequest {
    name: String,
    kind: String,
    config: Option<Value>,
    enabled: Option<bool>,
}

#[derive(Serialize)]
pub struct One {
    connector: ConnectorJson,
}

#[derive(Serialize)]
pub struct Many {
    connectors: Vec<ConnectorJson>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConnectorJson {
    id: ConnectorId,
    name: String,
    kind: ConnectorKind,
    config: Value,
    enabled: bool,
    created_at: String,
    updated_at: String,
}

impl From<Connector> for ConnectorJson {
    fn from(c: Connector) -> Self {
        Self {
            id: c.id,
            name: c.name,
            kind: c.kind,
            config: c.config,
            enabled: c.enabled,
            created_at: c.created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
            updated_at: c.updated_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        }
    }
}

/// `GET /admin/connectors`: sorted by name.
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Many>, AdminError> {
    let connectors = state.store().list_connectors(&caller.org()).await?;
    Ok(Json(Many {
        connectors: connectors.into_iter().map(Into::into).collect(),
    }))
}

/// `POST /admin/connectors`: 201 with the new connector.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(request): Body<ConnectorRequest>,
) -> Result<(StatusCode, Json<One>), AdminError> {
    let now = Utc::now();
    let connector = checked(&state, &caller, ConnectorId::random(), request, now)?;
    state
        .store()
        .create_connector(&connector)
        .await
        .map_err(|e| name_taken(e, &connector))?;
    Ok((
        StatusCode::CREATED,
        Json(One {
            connector: connector.into(),
        }),
    ))
}

/// `GET /admin/connectors/{id}`.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    PathId(raw_id): PathId,
) -> Result<Json<One>, AdminError> {
    let connector = load(&state, &caller, &raw_id).await?;
    Ok(Json(One {
        connector: connector.into(),
    }))
}

/// `PUT /admin/connectors/{id}`: replaces everything but `id` and `createdAt`.
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    PathId(raw_id): PathId,
    Body(request): Body<ConnectorRequest>,
) -> Result<Json<One>, AdminError> {
    let id = ConnectorId::parse(&raw_id).ok_or_else(|| not_found(&raw_id))?;
    let connector = checked(&state, &caller, id, request, Utc::now())?;
    let updated = state
        .store()
        .update_connector(&connector)
        .await
        .map_err(|e| name_taken(e, &connector))?
        .ok_or_else(|| not_found(&raw_id))?;
    Ok(Json(One {
        connector: updated.into(),
    }))
}

/// `DELETE /admin/connectors/{id}`: 204. The documents it indexed go with it.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    PathId(raw_id): PathId,
) -> Result<StatusCode, AdminError> {
    let org = caller.org();
    let id = ConnectorId::parse(&raw_id).ok_or_else(|| not_found(&raw_id))?;
    if !state.store().delete_connector(&org, id).await? {
        return Err(not_found(&raw_id));
    }
    let key = namespace::connector(&org, id);
    // A run of it here stops first, so it cannot put the documents back.
    state.indexer().cancel(&key).await;
    state.knowledge().remove_source(&key).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The organisation's connector `raw_id`, or 404.
pub(super) async fn load(
    state: &AppState,
    caller: &Caller,
    raw_id: &str,
) -> Result<Connector, AdminError> {
    let id = ConnectorId::parse(raw_id).ok_or_else(|| not_found(raw_id))?;
    state
        .store()
        .get_connector(&caller.org(), id)
        .await?
        .ok_or_else(|| not_found(raw_id))
}

/// The connector a valid request describes.
fn checked(
    state: &AppState,
    caller: &Caller,
    id: ConnectorId,
    request: ConnectorRequest,
    now: chrono::DateTime<Utc>,
) -> Result<Connector, AdminError> {
    let name = request.name.trim().to_owned();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(AdminError::Validation(format!(
            "'name' must be 1 to {MAX_NAME_CHARS} characters, without control characters"
        )));
    }
    let kind = parse_kind(&request.kind)?;
    let config = validate(
        state.config(),
        kind,
        request
            .config
            .unwrap_or_else(|| Value::Object(Default::default())),
    )?;
    Ok(Connector {
        id,
        org_id: caller.org(),
        name,
        kind,
        config,
        enabled: request.enabled.unwrap_or(true),
        created_at: now,
        updated_at: now,
    })
}

fn name_taken(error: StoreError, connector: &Connector) -> AdminError {
    match error {
        StoreError::Conflict(_) => AdminError::Conflict(format!(
            "a connector named '{}' already exists",
            connector.name
        )),
        other => other.into(),
    }
}

fn not_found(raw_id: &str) -> AdminError {
    AdminError::NotFound(format!("connector '{raw_id}' not found"))
}
