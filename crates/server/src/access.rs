//! Who is on the other end of a connection, and what they may read.
//!
//! Every action that names a session or conversation loads it through here, so a
//! record the caller may not see looks exactly like one that does not exist.

use crate::actions::ActionError;
use crate::auth::Principal;
use crate::state::AppState;
use std::collections::HashSet;
use switchboard_core::{Conversation, ConversationId, OrgId, ParticipantKind, Session, SessionId};

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

    /// The verified user id, if any.
    pub fn user_id(&self) -> Option<&str> {
        self.principal.as_ref().map(|p| p.user_id.as_str())
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

    /// Which conversations `list_conversations` may show: a verified user sees those
    /// they own, from any connection; an anonymous caller only what this connection
    /// opened, since nothing else proves which conversations are theirs.
    pub fn list_scope(&self) -> (Option<Vec<ConversationId>>, Option<String>) {
        match self.user_id() {
            Some(me) => (None, Some(me.to_owned())),
            None => (Some(self.known.iter().copied().collect()), None),
        }
    }
}

/// Whether `viewer` may read `conversation`: a conversation owned by a verified user
/// is theirs alone; one with no verified owner is open to whoever holds its id.
pub async fn may_read(
    state: &AppState,
    viewer: &Viewer,
    conversation: &Conversation,
) -> Result<bool, ActionError> {
    let participants = state.store().list_participants(conversation.id).await?;
    let mut owners = participants
        .iter()
        .filter(|p| p.kind == ParticipantKind::User)
        .filter_map(|p| p.external_id.as_deref())
        .peekable();
    if owners.peek().is_none() {
        return Ok(true);
    }
    Ok(viewer
        .user_id()
        .is_some_and(|me| owners.any(|owner| owner == me)))
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
    let conversation = state
        .store()
        .get_conversation(session.conversation_id)
        .await?
        .ok_or_else(not_found)?;
    if !may_read(state, viewer, &conversation).await? {
        return Err(not_found());
    }
    Ok(session)
}

/// Loads a conversation the caller may read, or `None`.
pub async fn load_conversation(
    state: &AppState,
    viewer: &Viewer,
    raw_id: &str,
) -> Result<Option<Conversation>, ActionError> {
    let Some(id) = ConversationId::parse(raw_id) else {
        return Ok(None);
    };
    let Some(conversation) = state.store().get_conversation(id).await? else {
        return Ok(None);
    };
    Ok(may_read(state, viewer, &conversation)
        .await?
        .then_some(conversation))
}
