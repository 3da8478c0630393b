//! One module per action family. [`dispatch`] is the single `match` over [`Action`].

mod conversations;
mod error;
mod messages;
mod resume;
mod session;
mod turn;

pub use error::ActionError;
pub(crate) use messages::{name_senders, wire_message};
pub use session::DEFAULT_AGENT_NAME;
pub use turn::{TurnPlace, TurnSlot};

use crate::access::Viewer;
use crate::hub::ConnectionId;
use crate::state::AppState;
use crate::ws::Outbound;
use switchboard_protocol::{Action, ErrorCode, Event, Frame};

/// What an action handler can reach: the server, the caller, and the caller's socket.
pub struct Ctx<'a> {
    pub state: &'a AppState,
    pub viewer: &'a mut Viewer,
    pub out: &'a Outbound,
    /// The caller's socket in the hub, for joining what it opens.
    pub connection: ConnectionId,
    /// The client's address (see [`crate::ws::client_ip`]), for per-address quotas.
    pub client_ip: Option<std::net::IpAddr>,
    pub turn: &'a mut TurnSlot,
    pub request_id: Option<String>,
}

/// Handles one decoded frame, sending whatever it produces to the caller.
///
/// Handlers return the event to send, or `None` when they sent their own (a turn's
/// acknowledgement must precede the turn's first event) or nothing is due.
pub async fn dispatch(ctx: &mut Ctx<'_>, frame: Frame) {
    ctx.request_id = frame.request_id;
    tracing::debug!(action = frame.action.name(), request_id = ?ctx.request_id, "action");
    let result = match frame.action {
        Action::Ping => Ok(Some(Event::pong(ctx.request_id.clone()))),
        Action::CreateConversationSession(a) => session::create(ctx, a)
            .await
            .inspect(|_| ctx.state.metrics().session_created()),
        Action::GetSession(a) => session::get(ctx, a).await,
        Action::GetConversationMessages(a) => messages::page(ctx, a).await.map(Some),
        Action::ListConversations(a) => conversations::list(ctx, a).await.map(Some),
        Action::RenameConversation(a) => conversations::rename(ctx, a).await.map(Some),
        Action::SendMessage(a) => turn::send_message(ctx, a).await,
        Action::Cancel(a) => turn::cancel(ctx, a).await,
        Action::ConfirmToolAction(a) => resume::confirm_tool_action(ctx, a).await,
        Action::SubmitInteraction(a) => resume::submit_interaction(ctx, a).await,
        Action::VerifyOtp(a) => resume::verify_otp(ctx, a).await,
        Action::Unsupported(name) => Err(ActionError::Unsupported(name)),
    };
    let event = match result {
        Ok(Some(event)) => event,
        Ok(None) => return,
        Err(e) => {
            match e.code() {
                ErrorCode::StorageError => {
                    use switchboard_agent::observe::Observer;
                    ctx.state.metrics().store_error("action");
                }
                ErrorCode::QuotaExceeded => ctx.state.metrics().refused("quota"),
                _ => {}
            }
            e.into_event(ctx.request_id.clone())
        }
    };
    // A closed socket means the reader is about to stop too; nothing else to do.
    let _ = ctx.out.send(event).await;
}
