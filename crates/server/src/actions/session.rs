//! `create_conversation_session` and `get_session`.

use super::{ActionError, Ctx};
use crate::access;
use chrono::Utc;
use serde_json::Value;
use switchboard_core::{
    AgentId, CLIENT_SUPPORTS_KEY, Conversation, ConversationId, ConversationUpdate, Metadata,
    NewSession, OrgId, Owner, Participant, ParticipantId, ParticipantKind, Platform, Session,
    SessionId, SessionStatus, Target,
};
use switchboard_protocol::{Ack, CreateSession, Event, GetSession, SessionCreated, SessionInfo};

/// The agent's display name when the configuration gives none.
pub const DEFAULT_AGENT_NAME: &str = "smooth-agent";

/// Opens a session on a new conversation, or on an existing one when
/// `conversationId` names a conversation of this agent that the caller may read
/// (see [`access::may_read`]). An unknown, unreadable or other agent's id quietly
/// starts a new conversation, so ids cannot be probed.
///
/// Metadata over its caps is refused first; then the agent's widget policy is
/// enforced, for resumes too; then the quotas (per address, per organisation). A
/// refusal stores nothing. A new conversation belongs to the policy's organisation, else the
/// caller's; a resumed one keeps its own.
///
/// Ownership is fixed at creation: a creator verified in the conversation's
/// organisation owns it, anyone else creates an anonymous one. Whoever resumes an
/// anonymous conversation joins it as anonymous too, so its creator keeps access.
///
/// The acknowledgement is sent only once everything is stored, so a client that
/// awaits it can immediately send messages.
pub async fn create(ctx: &mut Ctx<'_>, req: CreateSession) -> Result<Option<Event>, ActionError> {
    // From here on the agent is its UUID, whether the client sent it or a slug.
    let agent = ctx
        .state
        .runtime()
        .resolve_agent(&req.agent_id)
        .ok_or_else(|| {
            ActionError::Validation(
                "'agentId' must be an agent's UUID or the slug of a configured agent".into(),
            )
        })?;
    let req = CreateSession {
        agent_id: agent.to_string(),
        ..req
    };
    let limits = &ctx.state.config().storage_limits;
    crate::quota::check_metadata(&req.metadata, limits)?;
    let admission = ctx
        .state
        .widget()
        .admit(
            &req.agent_id,
            ctx.viewer.origin(),
            req.auth_context.as_ref(),
        )
        .await?;
    // A conversation belongs to its agent: under another agent's id it is unknown.
    let opened = match &req.conversation_id {
        Some(id) => access::open_conversation(ctx.state, ctx.viewer, id)
            .await?
            .filter(|(_, participants)| {
                access::agent_of(participants)
                    .is_some_and(|a| ctx.state.runtime().wire_agent_id(a) == agent)
            }),
        None => None,
    };
    let (resumed, existing) = match opened {
        Some((conversation, participants)) => (Some(conversation), participants),
        None => (None, Vec::new()),
    };
    let now = Utc::now();
    let session_id = SessionId::random();
    let agent_id = AgentId::new(req.agent_id.clone());
    let supports = match (&req.supports, &resumed) {
        (Some(declared), _) => declared.clone(),
        (None, Some(conversation)) => conversation.client_supports(),
        (None, None) => Vec::new(),
    };
    let conversation = match &resumed {
        Some(existing) => existing.clone(),
        None => {
            let org = admission.org.unwrap_or_else(|| ctx.viewer.org());
            new_conversation(org, &req, &supports, session_id)
        }
    };
    // Who the caller is here: the owner of a conversation they create as a member
    // of its organisation, or resume as its owner; anonymous otherwise. Joining a
    // conversation never makes anyone its owner.
    let me = ctx
        .viewer
        .member_of(&conversation.org_id)
        .filter(|me| resumed.is_none() || access::owners(&existing).any(|o| o == *me));
    let email = contact_email(ctx, &req);
    let mut new_participants = Vec::new();
    let mut participant = |kind, reuse: Option<&Participant>| match reuse {
        Some(p) => p.id,
        None => {
            let p = new_participant(ctx, &req, &conversation, kind, me.as_ref());
            let id = p.id;
            new_participants.push(p);
            id
        }
    };
    let user_participant_id = participant(
        ParticipantKind::User,
        existing
            .iter()
            .find(|p| same_user(p, email.as_ref(), me.as_ref())),
    );
    let agent_participant_id = participant(
        ParticipantKind::AiAgent,
        existing.iter().find(|p| {
            p.kind == ParticipantKind::AiAgent
                && p.internal_id
                    .as_deref()
                    .is_some_and(|a| ctx.state.runtime().wire_agent_id(a) == agent_id)
        }),
    );
    let mut metadata = Metadata::new();
    if let Some(email) = &email {
        metadata.insert("contactEmail".into(), Value::String(email.clone()));
    }
    let session = Session {
        id: session_id,
        conversation_id: conversation.id,
        org_id: conversation.org_id.clone(),
        agent_id: agent_id.clone(),
        agent_name: ctx
            .state
            .runtime()
            .agent_name(agent_id.as_str())
            .unwrap_or_else(|| DEFAULT_AGENT_NAME.into()),
        user_participant_id,
        agent_participant_id,
        status: SessionStatus::Active,
        supports,
        metadata,
        created_at: now,
        updated_at: now,
    };
    crate::quota::charge_new_session(
        &**ctx.state.store(),
        limits,
        ctx.client_ip,
        &conversation.org_id,
        crate::quota::session_bytes(&req),
    )
    .await?;
    ctx.state
        .store()
        .create_session(NewSession {
            conversation: resumed.is_none().then(|| conversation.clone()),
            participants: new_participants,
            session: session.clone(),
        })
        .await?;
    if let (Some(existing), Some(declared)) = (&resumed, &req.supports) {
        redeclare_supports(ctx, existing, declared).await?;
    }
    ctx.viewer.remember(conversation.id, &conversation.org_id);
    join(ctx, &session);
    let ack = Event::ack(
        ctx.request_id.clone(),
        200,
        "Session created",
        Ack::SessionCreated(ids(&session)),
    );
    if resumed.is_none() {
        return Ok(Some(ack));
    }
    // A reopened conversation's running turn follows its acknowledgement.
    if ctx.out.send(ack).await.is_ok() {
        replay(ctx, &session);
    }
    Ok(None)
}

/// Sends the caller the running turns of the session's conversation, from their
/// first event (see [`crate::replay`]). Returns their request ids.
fn replay(ctx: &mut Ctx<'_>, session: &Session) -> Vec<String> {
    let turn = &*ctx.turn;
    let attached = ctx.state.hub().streams().attach(
        ctx.connection,
        ctx.out,
        &session.org_id,
        session.conversation_id,
        |id| turn.watches(id),
    );
    let mut request_ids = Vec::with_capacity(attached.len());
    let mut watching = Vec::with_capacity(attached.len());
    for (watch, request_id) in attached {
        watching.push(watch);
        request_ids.push(request_id);
    }
    ctx.turn.watch(watching);
    request_ids
}

/// Makes the caller's socket reachable by what published events target: the
/// session, its agent and its organisation.
fn join(ctx: &Ctx<'_>, session: &Session) {
    let hub = ctx.state.hub();
    for target in [
        Target::Session(session.id.to_string()),
        Target::Agent(session.agent_id.to_string()),
        Target::Org(session.org_id.to_string()),
        Target::Conversation(session.conversation_id.to_string()),
    ] {
        hub.associate(ctx.connection, target);
    }
    hub.join_org(ctx.connection, &session.org_id);
}

/// The ids both session acknowledgements carry.
fn ids(session: &Session) -> SessionCreated {
    SessionCreated {
        session_id: session.id.to_string(),
        conversation_id: session.conversation_id.to_string(),
        agent_id: session.agent_id.to_string(),
        agent_name: session.agent_name.clone(),
        user_participant_id: session.user_participant_id.to_string(),
        agent_participant_id: session.agent_participant_id.to_string(),
    }
}

/// The visitor's email: the verified one when the token carries it, else the one
/// the client gave.
fn contact_email(ctx: &Ctx<'_>, req: &CreateSession) -> Option<String> {
    ctx.viewer
        .principal()
        .and_then(|p| p.email.clone())
        .or_else(|| req.user_email.clone())
}

fn new_conversation(
    org_id: OrgId,
    req: &CreateSession,
    supports: &[String],
    session_id: SessionId,
) -> Conversation {
    let now = Utc::now();
    let mut metadata = req.metadata.clone();
    if !supports.is_empty() {
        metadata.insert(CLIENT_SUPPORTS_KEY.into(), Value::from(supports.to_vec()));
    }
    Conversation {
        id: ConversationId::random(),
        org_id,
        platform: Platform::Web,
        name: format!(
            "{}{session_id}",
            switchboard_core::title::DEFAULT_NAME_PREFIX
        ),
        idempotency_key: session_id.to_string(),
        metadata,
        created_at: now,
        updated_at: now,
    }
}

fn new_participant(
    ctx: &Ctx<'_>,
    req: &CreateSession,
    conversation: &Conversation,
    kind: ParticipantKind,
    me: Option<&Owner>,
) -> Participant {
    let user = kind == ParticipantKind::User;
    Participant {
        id: ParticipantId::random(),
        conversation_id: conversation.id,
        org_id: conversation.org_id.clone(),
        kind,
        name: if user {
            req.user_name
                .clone()
                .or_else(|| ctx.viewer.principal().and_then(|p| p.display_name.clone()))
                .unwrap_or_else(|| "Visitor".into())
        } else {
            DEFAULT_AGENT_NAME.into()
        },
        email: if user { contact_email(ctx, req) } else { None },
        external_id: me.filter(|_| user).map(|me| me.user_id.clone()),
        internal_id: (!user).then(|| req.agent_id.clone()),
        browser_fingerprint: if user {
            req.browser_fingerprint.clone()
        } else {
            None
        },
        created_at: Utc::now(),
    }
}

/// A resumed conversation keeps its user participant when it is the same person:
/// its owner, or the same contact email (or none) when the caller is anonymous
/// there.
fn same_user(p: &Participant, email: Option<&String>, me: Option<&Owner>) -> bool {
    if p.kind != ParticipantKind::User {
        return false;
    }
    match (me, p.external_id.as_deref()) {
        (Some(me), Some(_)) => me.is(p),
        (None, None) => {
            let norm = |e: Option<&String>| e.map(|e| e.trim().to_lowercase());
            norm(p.email.as_ref()) == norm(email)
        }
        _ => false,
    }
}

/// A resume that declares `supports` rewrites the conversation's durable set, so
/// the next reconnect that omits the key inherits it; `[]` removes it.
async fn redeclare_supports(
    ctx: &Ctx<'_>,
    conversation: &Conversation,
    declared: &[String],
) -> Result<(), ActionError> {
    if conversation.client_supports() == declared {
        return Ok(());
    }
    let mut metadata = conversation.metadata.clone();
    if declared.is_empty() {
        metadata.remove(CLIENT_SUPPORTS_KEY);
    } else {
        metadata.insert(CLIENT_SUPPORTS_KEY.into(), Value::from(declared.to_vec()));
    }
    ctx.state
        .store()
        .update_conversation(
            conversation.id,
            ConversationUpdate {
                metadata: Some(metadata),
                ..Default::default()
            },
        )
        .await?;
    Ok(())
}

/// Reads a session back. A running turn of its conversation follows the
/// acknowledgement from its first event; when a turn of the session waits for an
/// answer, its prompt follows again: a client that reconnected can show it.
pub async fn get(ctx: &mut Ctx<'_>, req: GetSession) -> Result<Option<Event>, ActionError> {
    let mut session = access::load_session(ctx.state, ctx.viewer, &req.session_id).await?;
    // A session stored before agents had UUIDs still answers with one.
    session.agent_id = ctx.state.runtime().wire_agent_id(session.agent_id.as_str());
    ctx.viewer
        .remember(session.conversation_id, &session.org_id);
    join(ctx, &session);
    let ack = session_ack(ctx, session.clone());
    if ctx.out.send(ack).await.is_err() {
        return Ok(None);
    }
    let replayed = replay(ctx, &session);
    let parked = ctx.state.store().get_parked_turn(session.id).await?;
    // A replayed turn's prompt is in its stream already.
    if let Some(stored) = parked
        .filter(|p| p.expires_at > chrono::Utc::now())
        .filter(|p| !replayed.contains(&p.request_id))
        && let Some(parked) = switchboard_agent::turn::Parked::from_value(&stored.state)
    {
        let event = switchboard_agent::turn::park_event(&stored.request_id, &parked.waiting);
        let _ = ctx.out.send(event).await;
    }
    Ok(None)
}

fn session_ack(ctx: &Ctx<'_>, session: Session) -> Event {
    Event::ack(
        ctx.request_id.clone(),
        200,
        "Session",
        Ack::Session(SessionInfo {
            ids: ids(&session),
            thread_id: session.conversation_id.to_string(),
            status: match session.status {
                SessionStatus::Active => switchboard_protocol::SessionStatus::Active,
                SessionStatus::Idle => switchboard_protocol::SessionStatus::Idle,
                SessionStatus::Ended => switchboard_protocol::SessionStatus::Ended,
            },
        }),
    )
}
