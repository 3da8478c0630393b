//! Who is on the other end of a connection, and what they may read.
//!
//! Every action that names a session or conversation loads it through here, so a
//! record the caller may not see looks exactly like one that does not exist.

use crate::actions::ActionError;
use crate::auth::Principal;
use crate::state::AppState;
use std::collections::HashSet;
use switchboard_core::{
    Conversation, ConversationId, ConversationQuery, OrgId, Owner, Participant, ParticipantKind,
    Session, SessionId,
};

/// The caller behind one connection.
#[derive(Debug)]
pub struct Viewer {
    /// The verified identity (`?token=`), when the connection proved one.
    principal: Option<Principal>,
    /// The handshake's `Origin` header ("" when absent), for widget policies.
    origin: String,
    /// Conversations this connection opened or resumed.
    known: HashSet<ConversationId>,
    /// The organisation of the last session this connection opened or read, which
    /// a widget policy may have chosen.
    session_org: Option<OrgId>,
}

impl Viewer {
    /// A connection with no verified identity.
    pub fn anonymous() -> Self {
        Self::new(None, String::new())
    }

    pub fn new(principal: Option<Principal>, origin: String) -> Self {
        Self {
            principal,
            origin,
            known: HashSet::new(),
            session_org: None,
        }
    }

    /// The organisation new conversations of this caller belong to, unless a widget
    /// policy names one: the verified organisation, else the default one.
    pub fn org(&self) -> OrgId {
        self.principal
            .as_ref()
            .map_or_else(OrgId::default_org, |p| OrgId::new(p.org_id.clone()))
    }

    /// The verified identity, if any.
    pub fn principal(&self) -> Option<&Principal> {
        self.principal.as_ref()
    }

    /// The verified user as a member of `org`: `None` when the caller is anonymous
    /// or verified in another organisation (the same `sub` elsewhere is someone
    /// else).
    pub fn member_of(&self, org: &OrgId) -> Option<Owner> {
        self.principal
            .as_ref()
            .filter(|p| p.org_id == org.as_str())
            .map(|p| Owner::new(org.clone(), p.user_id.clone()))
    }

    /// The handshake's `Origin` ("" when the client sent none).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Notes a conversation this connection opened or resumed, and its organisation.
    pub fn remember(&mut self, id: ConversationId, org: &OrgId) {
        self.known.insert(id);
        self.session_org = Some(org.clone());
    }

    /// The organisation `list_conversations` lists: that of the connection's last
    /// session, else the caller's.
    pub fn list_org(&self) -> OrgId {
        self.session_org.clone().unwrap_or_else(|| self.org())
    }

    /// What retrieval may show this caller in a session of `org`. The verified
    /// user and their groups count only in their own organisation; anywhere else
    /// (a widget of another organisation) the caller is anonymous.
    pub fn access(&self, org: &OrgId) -> switchboard_knowledge::Access {
        let member = self.principal.as_ref().filter(|p| p.org_id == org.as_str());
        switchboard_knowledge::Access {
            org: Some(org.as_str().to_owned()),
            user_id: member.map(|p| p.user_id.clone()),
            groups: member.map(|p| p.groups.clone()).unwrap_or_default(),
        }
    }

    /// What `list_conversations` may show, in the organisation of the connection's
    /// last session (else the caller's): a member of that organisation sees the
    /// conversations they own, from any connection; anyone else (anonymous, or
    /// verified in another organisation) only what this connection opened, since
    /// nothing else proves which conversations are theirs.
    pub fn list_query(&self, limit: usize) -> ConversationQuery {
        let org_id = self.list_org();
        let owner = self.member_of(&org_id);
        let only = owner
            .is_none()
            .then(|| self.known.iter().copied().collect());
        ConversationQuery {
            org_id,
            only,
            owner,
            limit,
            after: None,
            search: None,
        }
    }
}

/// The owners of a conversation: its user participants with a verified identity,
/// each in the participant's (the conversation's) organisation. Only a creator who
/// was a verified member of the conversation's organisation is recorded so (see
/// `actions::session`), so there is at most one; none means the conversation is
/// anonymous.
pub fn owners(participants: &[Participant]) -> impl Iterator<Item = Owner> + '_ {
    participants
        .iter()
        .filter(|p| p.kind == ParticipantKind::User)
        .filter_map(|p| {
            let user = p.external_id.as_deref()?;
            Some(Owner::new(p.org_id.clone(), user))
        })
}

/// The agent a conversation belongs to: that of its first agent participant.
pub fn agent_of(participants: &[Participant]) -> Option<&str> {
    participants
        .iter()
        .find(|p| p.kind == ParticipantKind::AiAgent)
        .and_then(|p| p.internal_id.as_deref())
}

/// Whether `viewer` may read `conversation`:
///
/// - a conversation with an owner is theirs alone: the same verified user *in the
///   conversation's organisation*; one without is open to whoever holds its id;
/// - from a page (the handshake's `Origin`), the widget policy of every agent of
///   the conversation must admit that page, as it would for a new session: an
///   agent embeddable anywhere is no way into an origin-restricted agent's
///   conversations.
pub async fn may_read(
    state: &AppState,
    viewer: &Viewer,
    conversation: &Conversation,
    participants: &[Participant],
) -> Result<bool, ActionError> {
    let mut owners = owners(participants).peekable();
    if owners.peek().is_some() {
        let me = viewer.member_of(&conversation.org_id);
        if !me.is_some_and(|me| owners.any(|owner| owner == me)) {
            return Ok(false);
        }
    }
    let agents: HashSet<&str> = participants
        .iter()
        .filter(|p| p.kind == ParticipantKind::AiAgent)
        .filter_map(|p| p.internal_id.as_deref())
        .collect();
    for agent in agents {
        let agent = state.runtime().wire_agent_id(agent);
        if state
            .widget()
            .admit(agent.as_str(), viewer.origin(), None)
            .await
            .is_err()
        {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Loads a session the caller may use; anything else is `SESSION_NOT_FOUND`.
pub async fn load_session(
    state: &AppState,
    viewer: &Viewer,
    raw_id: &str,
) -> Result<Session, ActionError> {
    let not_found = || ActionError::SessionNotFound(raw_id.to_owned());
    let id = SessionId::parse(raw_id).ok_or_else(not_found)?;
    let session = state.store().get_session(id).await?.ok_or_else(not_found)?;
    read_conversation(state, viewer, session.conversation_id)
        .await?
        .ok_or_else(not_found)?;
    Ok(session)
}

/// Loads a conversation the caller may read, or `None`.
pub async fn load_conversation(
    state: &AppState,
    viewer: &Viewer,
    raw_id: &str,
) -> Result<Option<Conversation>, ActionError> {
    Ok(open_conversation(state, viewer, raw_id)
        .await?
        .map(|(conversation, _)| conversation))
}

/// Loads a conversation the caller may read with its participants, or `None`.
pub async fn open_conversation(
    state: &AppState,
    viewer: &Viewer,
    raw_id: &str,
) -> Result<Option<(Conversation, Vec<Participant>)>, ActionError> {
    match ConversationId::parse(raw_id) {
        Some(id) => read_conversation(state, viewer, id).await,
        None => Ok(None),
    }
}

async fn read_conversation(
    state: &AppState,
    viewer: &Viewer,
    id: ConversationId,
) -> Result<Option<(Conversation, Vec<Participant>)>, ActionError> {
    let Some(conversation) = state.store().get_conversation(id).await? else {
        return Ok(None);
    };
    let participants = state.store().list_participants(id).await?;
    Ok(may_read(state, viewer, &conversation, &participants)
        .await?
        .then_some((conversation, participants)))
}
