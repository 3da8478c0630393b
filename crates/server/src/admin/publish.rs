//! `POST /admin/publish`: pushes an event to connected clients, on every replica,
//! so other services can reach a session, an agent's visitors, a user or the whole
//! organisation without going through a turn.

use super::extract::Body;
use super::{AdminError, Caller};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchboard_core::{SessionId, Target};

/// The largest event, serialized: it must fit any broker's message (NATS allows
/// 1 MiB by default) and a client's frame limit.
const MAX_EVENT_BYTES: usize = 256 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    target: TargetRequest,
    /// Delivered to each socket exactly as given.
    event: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetRequest {
    #[serde(rename = "type")]
    kind: String,
    id: String,
}

#[derive(Serialize)]
pub struct Reply {
    /// Sockets on the replica that took the request; others deliver their own.
    delivered: usize,
}

/// Delivers the event to the target's sockets in the caller's organisation only.
pub async fn publish(
    State(state): State<AppState>,
    caller: Caller,
    Body(request): Body<PublishRequest>,
) -> Result<Json<Reply>, AdminError> {
    let TargetRequest { kind, id } = request.target;
    let id = id.trim().to_owned();
    if id.is_empty() {
        return Err(AdminError::Validation(
            "'target.id' must not be empty".into(),
        ));
    }
    let target = Target::from_parts(&kind, id.clone()).ok_or_else(|| {
        AdminError::Validation(format!(
            "unknown target type '{kind}' (expected: connection | session | user | org | agent)"
        ))
    })?;
    // Sockets join an agent under its UUID; a slug or another spelling of the
    // UUID names the same agent.
    let target = match target {
        Target::Agent(agent) => Target::Agent(
            state
                .runtime()
                .resolve_agent(&agent)
                .map_or(agent, |id| id.to_string()),
        ),
        other => other,
    };
    if !request.event.is_object() {
        return Err(AdminError::Validation(
            "'event' must be a JSON object (clients read events by their 'type')".into(),
        ));
    }
    if request.event.to_string().len() > MAX_EVENT_BYTES {
        return Err(AdminError::PayloadTooLarge(format!(
            "'event' is larger than {MAX_EVENT_BYTES} bytes once serialized"
        )));
    }
    let org = caller.org();
    match &target {
        // A session of another organisation is as unknown as a missing one.
        Target::Session(_) => {
            let not_found = || AdminError::NotFound(format!("no session '{id}'"));
            let session = SessionId::parse(&id).ok_or_else(not_found)?;
            match state.store().get_session(session).await? {
                Some(session) if session.org_id == org => {}
                _ => return Err(not_found()),
            }
        }
        Target::Org(other) if *other != org.as_str() => {
            return Err(AdminError::NotFound(format!("no organisation '{id}'")));
        }
        _ => {}
    }
    let delivered = state
        .hub()
        .publish(&target, &request.event, Some(&org))
        .await
        .map_err(|e| AdminError::Unavailable(e.to_string()))?;
    Ok(Json(Reply { delivered }))
}
