//! Human handoff, the server's side: the queue, operators claiming, replying,
//! handing back and closing, and what visitors and operators are told.
//!
//! Ownership lives in the store ([`switchboard_core::Handoff`], one record per
//! conversation, changed only by compare-and-set), so every replica agrees on who
//! answers a conversation. Visitors hear operators through events their clients
//! already accept (an `eventual_response` whose response says who wrote it,
//! published to every socket of the conversation on every replica); operators
//! hear of queue changes and visitors' messages through the hub's handoff feed
//! (served as server-sent events by the admin API), and a conversation entering
//! the queue is announced by webhook and email ([`notify`]).

mod events;
pub mod notify;

pub use events::{Notice, NoticeKind, held_event, operator_event};

use async_trait::async_trait;
use std::sync::{Arc, OnceLock};
use switchboard_agent::handoff::{Escalation, HandoffDesk};
use switchboard_core::{
    ConversationId, Handoff, HandoffStatus, HandoffTrigger, Message, Operator, OrgId, Participant,
    ParticipantId, ParticipantKind, Store, StoreError, Target,
};

/// Rounds of "read, then compare-and-set" before a change gives up to a storm of
/// concurrent changes.
const ROUNDS: usize = 4;

/// The longest operator reply, in characters.
pub const MAX_REPLY_CHARS: usize = 8000;

/// Why an operator's request was refused.
#[derive(Debug, thiserror::Error)]
pub enum HandoffError {
    /// No such conversation in the operator's organisation.
    #[error("conversation '{0}' not found")]
    NotFound(String),
    /// The handoff is not in a state that allows it (another operator holds it,
    /// it was handed back or closed).
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The handoff queue and its operators' actions, shared by every handler.
pub struct Handoffs {
    store: Arc<dyn Store>,
    /// Set once the hub exists (the hub is built after the agent runtime, which
    /// needs this desk).
    hub: OnceLock<Arc<crate::hub::Hub>>,
    notifier: notify::Notifier,
}

impl Handoffs {
    pub fn new(store: Arc<dyn Store>, notifier: notify::Notifier) -> Self {
        Self {
            store,
            hub: OnceLock::new(),
            notifier,
        }
    }

    /// Joins the hub, through which visitors and operators are told what happens.
    pub fn join(&self, hub: Arc<crate::hub::Hub>) {
        let _ = self.hub.set(hub);
    }

    /// The conversation's handoff while a person owns it.
    pub async fn with_person(
        &self,
        conversation: ConversationId,
    ) -> Result<Option<Handoff>, StoreError> {
        Ok(self
            .store
            .get_handoff(conversation)
            .await?
            .filter(|h| h.status.with_person()))
    }

    /// The conversation's handoff record, for an operator of `org`.
    pub async fn get(
        &self,
        org: &OrgId,
        raw_id: &str,
    ) -> Result<(ConversationId, Option<Handoff>), HandoffError> {
        let conversation = self.conversation_of(org, raw_id).await?;
        Ok((conversation, self.store.get_handoff(conversation).await?))
    }

    /// Queues the conversation for a person, unless a person owns it already.
    /// Returns the record when this call queued it.
    pub async fn enqueue(&self, escalation: Escalation) -> Result<Option<Handoff>, StoreError> {
        let Some(conversation) = self.store.get_conversation(escalation.conversation).await? else {
            return Err(StoreError::Backend(format!(
                "conversation {} does not exist",
                escalation.conversation
            )));
        };
        for _ in 0..ROUNDS {
            let current = self.store.get_handoff(conversation.id).await?;
            if current.as_ref().is_some_and(|h| h.status.with_person()) {
                return Ok(None);
            }
            let queued = Handoff::queued(
                conversation.id,
                conversation.org_id.clone(),
                escalation.agent.clone(),
                escalation.trigger,
                escalation.reason.clone(),
                current.as_ref(),
            );
            if self
                .store
                .put_handoff(&queued, current.map(|h| h.version))
                .await?
            {
                tracing::info!(conversation = %conversation.id, trigger = ?queued.trigger, "a conversation entered the handoff queue");
                self.tell_operators(Notice::of(NoticeKind::Queued, &queued))
                    .await;
                self.notifier.queued(&queued);
                return Ok(Some(queued));
            }
        }
        Err(StoreError::Backend(
            "the handoff kept changing; try again".into(),
        ))
    }

    /// `operator` of `org` takes the conversation: from the queue, or over from
    /// the agent. Of two operators claiming at once exactly one gets it; the
    /// other is refused with a conflict naming who has it. Claiming what one holds
    /// already changes nothing.
    pub async fn claim(
        &self,
        org: &OrgId,
        operator: Operator,
        raw_id: &str,
    ) -> Result<Handoff, HandoffError> {
        let conversation = self.conversation_of(org, raw_id).await?;
        for _ in 0..ROUNDS {
            let current = self.store.get_handoff(conversation).await?;
            let next = match &current {
                Some(h) if h.status == HandoffStatus::Claimed => {
                    if is_holder(h, &operator) {
                        self.ensure_participant(h, &operator).await?;
                        return Ok(h.clone());
                    }
                    return Err(held_by(h));
                }
                Some(h) if h.status == HandoffStatus::Queued => h.next(HandoffStatus::Claimed),
                // The agent owns it: the operator takes it over.
                previous => {
                    let agent = self.agent_of(conversation).await?;
                    let mut taken = Handoff::queued(
                        conversation,
                        org.clone(),
                        agent,
                        HandoffTrigger::Takeover,
                        format!("{} took the conversation over.", operator.name),
                        previous.as_ref(),
                    );
                    taken.status = HandoffStatus::Claimed;
                    taken
                }
            };
            let participant = self.participant_for(conversation, &operator).await?;
            let mut next = Handoff {
                operator: Some(operator.clone()),
                participant_id: Some(participant.0),
                ..next
            };
            next.updated_at = chrono::Utc::now();
            if self
                .store
                .put_handoff(&next, current.as_ref().map(|h| h.version))
                .await?
            {
                if let Some(new) = participant.1 {
                    self.store.add_participant(&new).await?;
                }
                self.tell_operators(Notice::of(NoticeKind::Claimed, &next))
                    .await;
                return Ok(next);
            }
        }
        Err(HandoffError::Conflict(
            "the handoff kept changing; try again".into(),
        ))
    }

    /// The holder's reply to the visitor: stored as the operator participant's
    /// message and sent to every socket of the conversation, on every replica.
    pub async fn reply(
        &self,
        org: &OrgId,
        user_id: &str,
        raw_id: &str,
        text: &str,
    ) -> Result<Message, HandoffError> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > MAX_REPLY_CHARS {
            return Err(HandoffError::Invalid(format!(
                "'text' must be 1-{MAX_REPLY_CHARS} characters"
            )));
        }
        let conversation = self.conversation_of(org, raw_id).await?;
        let handoff =
            self.store.get_handoff(conversation).await?.ok_or_else(|| {
                HandoffError::Conflict("nobody has claimed this conversation".into())
            })?;
        let operator = match (&handoff.status, &handoff.operator, handoff.participant_id) {
            (HandoffStatus::Claimed, Some(op), Some(participant)) if op.user_id == user_id => {
                (op.clone(), participant)
            }
            (HandoffStatus::Claimed, Some(_), _) => return Err(held_by(&handoff)),
            (HandoffStatus::Queued, ..) => {
                return Err(HandoffError::Conflict(
                    "claim the conversation before replying".into(),
                ));
            }
            (status, ..) => {
                return Err(HandoffError::Conflict(format!(
                    "the conversation was {}; it is the agent's again",
                    if *status == HandoffStatus::Closed {
                        "closed"
                    } else {
                        "handed back"
                    }
                )));
            }
        };
        let stored = self
            .store
            .get_conversation(conversation)
            .await?
            .ok_or_else(|| HandoffError::NotFound(raw_id.to_owned()))?;
        let message = Message::from_operator(&stored, operator.1, text.to_owned());
        self.store.append_message(&message).await?;
        if let Some(hub) = self.hub.get() {
            let event = operator_event(&message, operator.1, &operator.0.name);
            let target = Target::Conversation(conversation.to_string());
            if let Err(error) = hub.publish(&target, &event, Some(org)).await {
                tracing::warn!(%error, "an operator's reply did not reach every replica");
            }
        }
        self.tell_operators(Notice::message(&handoff, &message, Some(&operator.0.name)))
            .await;
        Ok(message)
    }

    /// Gives the conversation back to the agent (`Returned`) or ends the handoff
    /// (`Closed`). Refused when another operator holds it or it is over already.
    pub async fn release(
        &self,
        org: &OrgId,
        user_id: &str,
        raw_id: &str,
        to: HandoffStatus,
    ) -> Result<Handoff, HandoffError> {
        let conversation = self.conversation_of(org, raw_id).await?;
        for _ in 0..ROUNDS {
            let current =
                self.store.get_handoff(conversation).await?.ok_or_else(|| {
                    HandoffError::Conflict("the agent owns this conversation".into())
                })?;
            match current.status {
                HandoffStatus::Claimed
                    if current
                        .operator
                        .as_ref()
                        .is_some_and(|o| o.user_id != user_id) =>
                {
                    return Err(held_by(&current));
                }
                HandoffStatus::Claimed | HandoffStatus::Queued => {}
                _ => {
                    return Err(HandoffError::Conflict(
                        "the conversation is the agent's already".into(),
                    ));
                }
            }
            let next = current.next(to);
            if self.store.put_handoff(&next, Some(current.version)).await? {
                let kind = if to == HandoffStatus::Closed {
                    NoticeKind::Closed
                } else {
                    NoticeKind::Returned
                };
                self.tell_operators(Notice::of(kind, &next)).await;
                return Ok(next);
            }
        }
        Err(HandoffError::Conflict(
            "the handoff kept changing; try again".into(),
        ))
    }

    /// A visitor wrote while a person owns the conversation: operators see it.
    pub async fn visitor_wrote(&self, handoff: &Handoff, message: &Message) {
        self.tell_operators(Notice::message(handoff, message, None))
            .await;
    }

    async fn tell_operators(&self, notice: Notice) {
        if let Some(hub) = self.hub.get() {
            hub.publish_handoff(notice).await;
        }
    }

    /// The conversation `raw_id` names, when it is `org`'s (404 otherwise, as for
    /// one that does not exist).
    async fn conversation_of(
        &self,
        org: &OrgId,
        raw_id: &str,
    ) -> Result<ConversationId, HandoffError> {
        let not_found = || HandoffError::NotFound(raw_id.to_owned());
        let id = ConversationId::parse(raw_id).ok_or_else(not_found)?;
        match self.store.get_conversation(id).await? {
            Some(c) if c.org_id == *org => Ok(id),
            _ => Err(not_found()),
        }
    }

    async fn agent_of(
        &self,
        conversation: ConversationId,
    ) -> Result<switchboard_core::AgentId, StoreError> {
        let participants = self.store.list_participants(conversation).await?;
        Ok(switchboard_core::AgentId::new(
            participants
                .iter()
                .find(|p| p.kind == ParticipantKind::AiAgent)
                .and_then(|p| p.internal_id.clone())
                .unwrap_or_default(),
        ))
    }

    /// The operator's human-agent participant in the conversation: the one they
    /// had, or a new one (returned to be stored once the claim is won).
    async fn participant_for(
        &self,
        conversation: ConversationId,
        operator: &Operator,
    ) -> Result<(ParticipantId, Option<Participant>), StoreError> {
        let participants = self.store.list_participants(conversation).await?;
        if let Some(p) = participants.iter().find(|p| is_operator(p, operator)) {
            return Ok((p.id, None));
        }
        let stored = self
            .store
            .get_conversation(conversation)
            .await?
            .ok_or_else(|| {
                StoreError::Backend(format!("conversation {conversation} does not exist"))
            })?;
        let participant = Participant {
            id: ParticipantId::random(),
            conversation_id: conversation,
            org_id: stored.org_id,
            kind: ParticipantKind::HumanAgent,
            name: operator.name.clone(),
            email: None,
            external_id: Some(operator.user_id.clone()),
            internal_id: None,
            browser_fingerprint: None,
            created_at: chrono::Utc::now(),
        };
        Ok((participant.id, Some(participant)))
    }

    /// A claim whose participant could not be stored is repaired by claiming again.
    async fn ensure_participant(
        &self,
        handoff: &Handoff,
        operator: &Operator,
    ) -> Result<(), StoreError> {
        let participants = self
            .store
            .list_participants(handoff.conversation_id)
            .await?;
        if participants
            .iter()
            .any(|p| Some(p.id) == handoff.participant_id)
        {
            return Ok(());
        }
        let (_, new) = self
            .participant_for(handoff.conversation_id, operator)
            .await?;
        if let (Some(mut new), Some(id)) = (new, handoff.participant_id) {
            new.id = id;
            self.store.add_participant(&new).await?;
        }
        Ok(())
    }
}

fn is_holder(handoff: &Handoff, operator: &Operator) -> bool {
    handoff
        .operator
        .as_ref()
        .is_some_and(|o| o.user_id == operator.user_id)
}

fn is_operator(participant: &Participant, operator: &Operator) -> bool {
    participant.kind == ParticipantKind::HumanAgent
        && participant.external_id.as_deref() == Some(operator.user_id.as_str())
}

fn held_by(handoff: &Handoff) -> HandoffError {
    let name = handoff
        .operator
        .as_ref()
        .map_or("another operator", |o| o.name.as_str());
    HandoffError::Conflict(format!("{name} has claimed this conversation"))
}

/// The agent hands conversations over through the queue.
#[async_trait]
impl HandoffDesk for Handoffs {
    async fn escalate(&self, escalation: Escalation) -> Result<(), StoreError> {
        self.enqueue(escalation).await.map(|_| ())
    }
}
