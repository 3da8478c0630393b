//! The operators' side of human handoff: the queue, claiming, replying, handing
//! back, closing, and a live stream of what happens (server-sent events).
//!
//! Operators are curators and administrators of the conversation's organisation;
//! a conversation of another organisation answers 404, exactly like one that does
//! not exist. Paths name the conversation (`/handoffs/{conversation id}`).

use super::extract::{Body, Params, PathId, clamp_limit};
use super::{AdminError, Caller};
use crate::handoff::{HandoffError, Notice};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use std::convert::Infallible;
use std::time::Duration;
use switchboard_core::{
    ConversationId, Handoff, HandoffCursor, HandoffQuery, HandoffStatus, Operator,
};
use tokio::sync::broadcast::error::RecvError;

#[derive(Deserialize)]
pub struct ListParams {
    status: Option<String>,
    limit: Option<u32>,
    cursor: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HandoffList {
    handoffs: Vec<Handoff>,
    next_cursor: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OneHandoff {
    conversation_id: ConversationId,
    /// `null` while the agent owns a conversation that was never handed over.
    handoff: Option<Handoff>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyRequest {
    text: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Replied {
    message: switchboard_protocol::WireMessage,
}

impl From<HandoffError> for AdminError {
    fn from(error: HandoffError) -> Self {
        match error {
            HandoffError::NotFound(id) => {
                AdminError::NotFound(format!("conversation '{id}' not found"))
            }
            HandoffError::Conflict(why) => AdminError::Conflict(why),
            HandoffError::Invalid(why) => AdminError::Validation(why),
            HandoffError::Store(e) => AdminError::Store(e),
        }
    }
}

/// `GET /admin/handoffs?status&limit&cursor`: the organisation's handoffs in one
/// status (`queued`, the default: the queue; `claimed`: live conversations;
/// `returned`; `closed`), oldest queued first; `limit` 1..=200 (default 50).
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Params(params): Params<ListParams>,
) -> Result<Json<HandoffList>, AdminError> {
    let status = match params.status.as_deref() {
        None => HandoffStatus::Queued,
        Some(raw) => HandoffStatus::parse(raw).ok_or_else(|| {
            AdminError::Validation(format!(
                "'status' must be queued, claimed, returned or closed, not '{raw}'"
            ))
        })?,
    };
    let after = params.cursor.as_deref().map(decode_cursor).transpose()?;
    let page = state
        .store()
        .list_handoffs(HandoffQuery {
            org_id: caller.org(),
            status,
            limit: clamp_limit(params.limit, 50, 200),
            after,
        })
        .await?;
    Ok(Json(HandoffList {
        handoffs: page.handoffs,
        next_cursor: page.next.map(encode_cursor),
    }))
}

/// `GET /admin/handoffs/{id}`: the conversation's handoff, if it ever had one.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    PathId(raw_id): PathId,
) -> Result<Json<OneHandoff>, AdminError> {
    let (conversation_id, handoff) = state.handoffs().get(&caller.org(), &raw_id).await?;
    Ok(Json(OneHandoff {
        conversation_id,
        handoff,
    }))
}

/// `POST /admin/handoffs/{id}/claim`: the caller answers the visitor from now on,
/// whether the conversation waited in the queue or the agent had it (a takeover).
/// 409 when another operator has claimed it.
pub async fn claim(
    State(state): State<AppState>,
    caller: Caller,
    PathId(raw_id): PathId,
) -> Result<Json<Handoff>, AdminError> {
    let operator = Operator {
        user_id: caller.user_id().to_owned(),
        name: caller
            .0
            .display_name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| caller.user_id().to_owned()),
    };
    Ok(Json(
        state
            .handoffs()
            .claim(&caller.org(), operator, &raw_id)
            .await?,
    ))
}

/// `POST /admin/handoffs/{id}/reply` `{"text"}`: sent to the visitor and stored as
/// the caller's message. 409 unless the caller holds the conversation.
pub async fn reply(
    State(state): State<AppState>,
    caller: Caller,
    PathId(raw_id): PathId,
    Body(request): Body<ReplyRequest>,
) -> Result<(StatusCode, Json<Replied>), AdminError> {
    let org = caller.org();
    crate::quota::charge_stored_bytes(
        &**state.store(),
        &state.config().storage_limits,
        &org,
        request.text.len() as u64,
    )
    .await
    .map_err(|e| match e {
        crate::actions::ActionError::QuotaExceeded(why) => AdminError::PayloadTooLarge(why),
        crate::actions::ActionError::Store(e) => AdminError::Store(e),
        other => AdminError::Internal(other.to_string()),
    })?;
    let message = state
        .handoffs()
        .reply(&org, caller.user_id(), &raw_id, &request.text)
        .await?;
    let mut wire = crate::actions::wire_message(&message);
    if let Some(from) = wire.from.as_mut() {
        from.name = Some(operator_name(&caller));
    }
    Ok((StatusCode::CREATED, Json(Replied { message: wire })))
}

/// `POST /admin/handoffs/{id}/return`: the agent answers the visitor again, with
/// the whole conversation (the operator's part included) as its history.
pub async fn hand_back(
    State(state): State<AppState>,
    caller: Caller,
    PathId(raw_id): PathId,
) -> Result<Json<Handoff>, AdminError> {
    Ok(Json(
        state
            .handoffs()
            .release(
                &caller.org(),
                caller.user_id(),
                &raw_id,
                HandoffStatus::Returned,
            )
            .await?,
    ))
}

/// `POST /admin/handoffs/{id}/close`: the handoff is over; a later message from
/// the visitor goes to the agent.
pub async fn close(
    State(state): State<AppState>,
    caller: Caller,
    PathId(raw_id): PathId,
) -> Result<Json<Handoff>, AdminError> {
    Ok(Json(
        state
            .handoffs()
            .release(
                &caller.org(),
                caller.user_id(),
                &raw_id,
                HandoffStatus::Closed,
            )
            .await?,
    ))
}

/// `GET /admin/handoffs/events`: what happens to the organisation's handoffs, on
/// every replica, as server-sent events (`event: handoff`, data: a notice). A view
/// that fell behind gets `event: resync` and should read the lists again. Ends
/// when the server shuts down.
pub async fn events(
    State(state): State<AppState>,
    caller: Caller,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let live = Live {
        org: caller.org(),
        feed: state.hub().handoff_feed(),
        stop: state.shutdown_token(),
        started: false,
    };
    let stream = futures_util::stream::unfold(live, |mut live| async move {
        if !live.started {
            // The first event says the view is live (and should read the lists).
            live.started = true;
            return Some((Ok(SseEvent::default().event("ready").data("{}")), live));
        }
        loop {
            let notice = tokio::select! {
                () = live.stop.cancelled() => return None,
                notice = live.feed.recv() => notice,
            };
            let event = match notice {
                Ok(notice) if notice.org_id == live.org => notice_event(&notice),
                Ok(_) => continue,
                Err(RecvError::Lagged(_)) => SseEvent::default().event("resync").data("{}"),
                Err(RecvError::Closed) => return None,
            };
            return Some((Ok(event), live));
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// One operator's live view: their organisation's notices.
struct Live {
    org: switchboard_core::OrgId,
    feed: tokio::sync::broadcast::Receiver<std::sync::Arc<Notice>>,
    stop: tokio_util::sync::CancellationToken,
    started: bool,
}

fn notice_event(notice: &Notice) -> SseEvent {
    SseEvent::default()
        .event("handoff")
        .data(serde_json::to_string(notice).unwrap_or_default())
}

fn operator_name(caller: &Caller) -> String {
    caller
        .0
        .display_name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| caller.user_id().to_owned())
}

fn not_issued() -> AdminError {
    AdminError::Validation("'cursor' is not a cursor this server issued".into())
}

/// Opaque to clients: base64url of `<queued at in ns>.<conversation id>`.
fn encode_cursor(cursor: HandoffCursor) -> String {
    let nanos = cursor.queued_at.timestamp_nanos_opt().unwrap_or_default();
    URL_SAFE_NO_PAD.encode(format!("{nanos}.{}", cursor.conversation_id))
}

fn decode_cursor(raw: &str) -> Result<HandoffCursor, AdminError> {
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| not_issued())?;
    let text = String::from_utf8(bytes).map_err(|_| not_issued())?;
    let (nanos, id) = text.split_once('.').ok_or_else(not_issued)?;
    Ok(HandoffCursor {
        queued_at: chrono::DateTime::from_timestamp_nanos(nanos.parse().map_err(|_| not_issued())?),
        conversation_id: ConversationId::parse(id).ok_or_else(not_issued)?,
    })
}
