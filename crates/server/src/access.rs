//! Who is on the other end of a connection, and what they may read.
//!
//! Every action that names a session or conversation loads it through here, so a
//! record the caller may not see looks exactly like one that does not exist.

use crate::actions::ActionError;
use crate::state::AppState;
use std::collections::HashSet;
use switchboard_core::{Conversation, ConversationId, OrgId, ParticipantKind, Session, SessionId};

/// The caller behind one connection.
#[derive(Debug)]
pub struct Viewer {
    org: OrgId,
    /// The verified user id (`sub`), when the connection proved one.
    user_id: Option<String>,
    /// Conversations this connection opened or resumed.
    known: HashSet<ConversationId>,
}

impl Viewer {
    /// A connection with no verified identity.
    pub fn anonymous() -> Self {
        Self {
            org: OrgId::default_org(),
            user_id: None,
            known: HashSet::new(),
        }
    }

    /// The organisation new conversations of this caller belong to.
    pub fn org(&self) -> &OrgId {
        &self.org
    }

    /// The verified identity, if any.
    pub fn user_id(&self) -> Option<&str> {
        self.user_id.as_deref()
    }

    pub fn remember(&mut self, id: ConversationId) {
        self.known.insert(id);
    }

    /// What retrieval may show this caller.
    pub fn access(&self) -> switchboard_knowledge::Access {
        switchboard_knowledge::Access {
            org: Some(self.org.as_str().to_owned()),
            user_id: self.user_id.clone(),
            groups: Vec::new(),
        }
    }

    /// The conversations `list_conversations` may show: a verified user sees what
    /// they own; an anonymous caller sees only what this connection opened, since
    /// nothing else can prove which conversations are theirs.
    pub fn list_scope(&self) -> Option<Vec<ConversationId>> {
        Some(self.known.iter().copied().collect())
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
