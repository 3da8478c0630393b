//! Answers to a parked turn: `confirm_tool_action`, `submit_interaction`, `verify_otp`.

use super::{ActionError, Ctx};
use crate::access;
use switchboard_protocol::{
    ConfirmToolAction, Event, OtpFailure, OtpInvalid, SubmitInteraction, VerifyOtp,
};

/// Approves or denies the tool call the session's parked turn waits on. An unknown
/// or foreign session looks exactly like one with nothing pending.
pub async fn confirm_tool_action(
    _ctx: &mut Ctx<'_>,
    req: ConfirmToolAction,
) -> Result<Event, ActionError> {
    Err(ActionError::NoPendingConfirmation(req.session_id))
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
