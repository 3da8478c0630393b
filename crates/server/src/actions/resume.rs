//! Answers to a parked turn: `confirm_tool_action`, `submit_interaction`, and
//! `verify_otp`.
//!
//! A parked turn is stored. An answer takes it from the store (exactly once: a
//! second answer finds nothing), is acknowledged, and then either wakes the turn's
//! task if it is still alive on this server, or resumes the turn from its stored
//! state on this connection (its first client went away).

use super::{ActionError, Ctx};
use crate::access;
use chrono::Utc;
use serde_json::{Map, Value};
use switchboard_agent::contact;
use switchboard_agent::interactions::Kind;
use switchboard_agent::otp::Verdict;
use switchboard_agent::turn::{Parked, Resolution, Waiting};
use switchboard_core::{ParkedTurn, Session};
use switchboard_protocol::{
    Ack, ConfirmToolAction, Event, InteractionDeclined, InteractionInvalid, InteractionSubmitted,
    OtpFailure, OtpInvalid, SubmitInteraction, ToolConfirmation, VerifyOtp,
};

/// Approves or denies the tool call the session's parked turn waits on. An unknown
/// or foreign session looks exactly like one with nothing pending.
pub async fn confirm_tool_action(
    ctx: &mut Ctx<'_>,
    req: ConfirmToolAction,
) -> Result<Option<Event>, ActionError> {
    let nothing = || ActionError::NoPendingConfirmation(req.session_id.clone());
    let session = access::load_session(ctx.state, ctx.viewer, &req.session_id)
        .await
        .map_err(|_| nothing())?;
    let (stored, parked) = pending(ctx, &session).await?.ok_or_else(nothing)?;
    if !matches!(parked.waiting, Waiting::Confirmation { .. }) {
        return Err(nothing());
    }
    if stored.expires_at < Utc::now() {
        ctx.state
            .store()
            .take_parked_turn(session.id, Some(stored.id))
            .await?;
        return Err(ActionError::ConfirmationGone(req.session_id));
    }
    let ack = Event::ack(
        ctx.request_id.clone(),
        200,
        if req.approved {
            "Tool action approved"
        } else {
            "Tool action rejected"
        },
        Ack::ToolConfirmation(ToolConfirmation {
            session_id: req.session_id.clone(),
            approved: req.approved,
        }),
    );
    let resolution = if req.approved {
        Resolution::Approved
    } else {
        Resolution::Denied
    };
    if !resume(ctx, &session, stored, parked, resolution, None, ack).await? {
        return Err(ActionError::ConfirmationGone(req.session_id));
    }
    Ok(None)
}

/// Answers (or declines) the session's parked interaction. Values that fail the
/// kind's validation get `interaction_invalid` and the turn stays parked.
pub async fn submit_interaction(
    ctx: &mut Ctx<'_>,
    req: SubmitInteraction,
) -> Result<Option<Event>, ActionError> {
    let nothing = || ActionError::NoPendingInteraction(req.session_id.clone());
    let session = access::load_session(ctx.state, ctx.viewer, &req.session_id)
        .await
        .map_err(|_| nothing())?;
    let (stored, parked) = pending(ctx, &session).await?.ok_or_else(nothing)?;
    let Waiting::Interaction {
        interaction_id,
        kind: pending_kind,
        spec,
        ..
    } = parked.waiting.clone()
    else {
        return Err(nothing());
    };
    if stored.expires_at < Utc::now() {
        ctx.state
            .store()
            .take_parked_turn(session.id, Some(stored.id))
            .await?;
        return Err(ActionError::InteractionGone(req.session_id));
    }
    if req.interaction_id != interaction_id {
        return Err(ActionError::InteractionMismatch(
            "the submitted 'interactionId' does not match the pending interaction".into(),
        ));
    }
    if let Some(kind) = req.kind.as_deref().filter(|k| *k != pending_kind) {
        return Err(ActionError::InteractionMismatch(format!(
            "the pending interaction is '{pending_kind}', not '{kind}'"
        )));
    }
    let kind = Kind::from_name(&pending_kind).ok_or_else(nothing)?;
    if req.declined {
        let ack = Event::ack(
            ctx.request_id.clone(),
            200,
            "Interaction declined",
            Ack::InteractionDeclined(InteractionDeclined {
                session_id: req.session_id.clone(),
                interaction_id,
                declined: true,
            }),
        );
        return finish(
            ctx,
            &session,
            stored,
            parked,
            Resolution::Declined,
            None,
            ack,
            nothing,
        )
        .await;
    }
    let values = req.values.ok_or_else(|| {
        ActionError::Validation("submit_interaction requires 'values' (or 'declined': true)".into())
    })?;
    let canonical = match kind.validate(Some(&spec), &values) {
        Ok(canonical) => canonical.values,
        Err(errors) => {
            return Ok(Some(Event::interaction_invalid(
                ctx.request_id.as_deref().unwrap_or_default(),
                InteractionInvalid {
                    interaction_id,
                    kind: pending_kind,
                    errors,
                    message: "Some fields need attention.".into(),
                },
            )));
        }
    };
    let ack = Event::ack(
        ctx.request_id.clone(),
        200,
        "Interaction submitted",
        Ack::InteractionSubmitted(InteractionSubmitted {
            session_id: req.session_id.clone(),
            interaction_id,
            kind: pending_kind,
            values: Value::Object(canonical.clone()),
        }),
    );
    let identity = (kind == Kind::IdentityIntake).then(|| canonical.clone());
    let resolution = Resolution::Submitted { values: canonical };
    finish(
        ctx, &session, stored, parked, resolution, identity, ack, nothing,
    )
    .await
}

/// Resumes with `resolution`, or answers that the park went away meanwhile.
#[allow(clippy::too_many_arguments)]
async fn finish(
    ctx: &mut Ctx<'_>,
    session: &Session,
    stored: ParkedTurn,
    parked: Parked,
    resolution: Resolution,
    identity: Option<Map<String, Value>>,
    ack: Event,
    gone: impl Fn() -> ActionError,
) -> Result<Option<Event>, ActionError> {
    match resume(ctx, session, stored, parked, resolution, identity, ack).await? {
        true => Ok(None),
        false => Err(gone()),
    }
}

/// The session's stored park, if any and readable by this version.
async fn pending(
    ctx: &Ctx<'_>,
    session: &Session,
) -> Result<Option<(ParkedTurn, Parked)>, ActionError> {
    let Some(stored) = ctx.state.store().get_parked_turn(session.id).await? else {
        return Ok(None);
    };
    Ok(Parked::from_value(&stored.state).map(|parked| (stored, parked)))
}

/// Takes the park (exactly once), records identity values, acknowledges, and
/// hands the answer to the live turn or resumes the turn here. `false` when the
/// park was taken by someone else first.
async fn resume(
    ctx: &mut Ctx<'_>,
    session: &Session,
    stored: ParkedTurn,
    parked: Parked,
    resolution: Resolution,
    identity: Option<Map<String, Value>>,
    ack: Event,
) -> Result<bool, ActionError> {
    let runtime = ctx.state.runtime().clone();
    let store = ctx.state.store().clone();
    let live = runtime.parking().is_waiting(session.id, stored.id);
    // Without a live turn, this connection runs the rest of it: make room first.
    let reservation = if live {
        None
    } else {
        if ctx.turn.is_busy() {
            return Err(ActionError::TurnInProgress);
        }
        Some(
            runtime
                .reserve(session.id)
                .ok_or(ActionError::TurnInProgress)?,
        )
    };
    let Some(taken) = store.take_parked_turn(session.id, Some(stored.id)).await? else {
        return Ok(false);
    };
    // Expired between being read and taken: an expired park is never resumed (its
    // waiting turn, if any, ends itself as expired).
    if taken.expires_at < Utc::now() {
        return Ok(false);
    }
    if let Some(values) = identity {
        contact::attach_identity(&*store, session.id, &values).await?;
    }
    let _ = ctx.out.send(ack).await;
    if live
        && runtime
            .parking()
            .resolve(session.id, stored.id, resolution.clone())
    {
        return Ok(true);
    }
    // The turn resumes here; a replica whose turn still waited on this park lets go.
    ctx.state.hub().park_taken(session.id, stored.id).await;
    let busy = match reservation.or_else(|| runtime.reserve(session.id)) {
        Some(busy) => busy,
        None => {
            tracing::error!(session = %session.id, "a parked turn's task vanished while busy; it cannot resume");
            return Ok(true);
        }
    };
    let request_id = parked.turn.request_id.clone();
    let place = super::TurnPlace {
        hub: ctx.state.hub(),
        connection: ctx.connection,
        org: session.org_id.clone(),
        conversation: session.conversation_id,
    };
    ctx.turn.start(
        ctx.out,
        place,
        request_id,
        session.id,
        busy,
        move |io| async move { runtime.resume(parked, resolution, io).await },
    );
    Ok(true)
}

/// Checks a one-time code; success marks the session verified (stored).
pub async fn verify_otp(ctx: &mut Ctx<'_>, req: VerifyOtp) -> Result<Option<Event>, ActionError> {
    let session = access::load_session(ctx.state, ctx.viewer, &req.session_id).await?;
    let request_id = ctx.request_id.clone().unwrap_or_default();
    let Some(otp) = ctx.state.runtime().otp() else {
        return Ok(Some(Event::otp_invalid(
            &request_id,
            OtpInvalid {
                error: Some(OtpFailure::NotFound),
                attempts_remaining: 0,
                message: "No verification is in progress for this session.".into(),
            },
        )));
    };
    let verdict = otp.verify(session.id, &req.code).await.map_err(|e| {
        tracing::error!(error = %e, "one-time code check failed");
        ActionError::Store(switchboard_core::StoreError::Backend(e.to_string()))
    })?;
    Ok(Some(match verdict {
        Verdict::Verified => Event::otp_verified(&request_id, "Identity verified successfully."),
        Verdict::Invalid {
            error,
            attempts_remaining,
            message,
        } => Event::otp_invalid(
            &request_id,
            OtpInvalid {
                error: Some(error),
                attempts_remaining,
                message,
            },
        ),
    }))
}
