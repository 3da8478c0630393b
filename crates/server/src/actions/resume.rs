//! Answers to a parked turn: `confirm_tool_action`, `submit_interaction`, `verify_otp`.

use super::{ActionError, Ctx};
use crate::access;
use switchboard_core::SessionId;
use switchboard_protocol::{
    Ack, ConfirmToolAction, Event, OtpFailure, OtpInvalid, SubmitInteraction, ToolConfirmation,
    VerifyOtp,
};

/// Approves or denies the tool call the session's parked turn waits on. An unknown
/// or foreign session looks exactly like one with nothing pending. The
/// acknowledgement is sent before the turn resumes, so it precedes the tool's result.
pub async fn confirm_tool_action(
    ctx: &mut Ctx<'_>,
    req: ConfirmToolAction,
) -> Result<Option<Event>, ActionError> {
    let nothing_pending = || ActionError::NoPendingConfirmation(req.session_id.clone());
    let session = SessionId::parse(&req.session_id).ok_or_else(nothing_pending)?;
    if access::load_session(ctx.state, ctx.viewer, &req.session_id)
        .await
        .is_err()
    {
        return Err(nothing_pending());
    }
    let pending = ctx
        .state
        .runtime()
        .parking()
        .take(session)
        .ok_or_else(nothing_pending)?;
    if !pending.is_live() {
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
    let _ = ctx.out.send(ack).await;
    if !pending.resolve(req.approved) {
        tracing::warn!(session = %req.session_id, "the parked turn ended as its confirmation arrived");
    }
    Ok(None)
}

/// Answers the session's parked interaction.
pub async fn submit_interaction(
    _ctx: &mut Ctx<'_>,
    req: SubmitInteraction,
) -> Result<Event, ActionError> {
    Err(ActionError::NoPendingInteraction(req.session_id))
}

/// Checks a one-time code. With no verification in progress the answer is
/// `otp_invalid` / `NOT_FOUND`.
pub async fn verify_otp(ctx: &mut Ctx<'_>, req: VerifyOtp) -> Result<Event, ActionError> {
    access::load_session(ctx.state, ctx.viewer, &req.session_id).await?;
    let request_id = ctx.request_id.clone().unwrap_or_default();
    Ok(Event::otp_invalid(
        &request_id,
        OtpInvalid {
            error: Some(OtpFailure::NotFound),
            attempts_remaining: 0,
            message: "No verification is in progress for this session.".into(),
        },
    ))
}
