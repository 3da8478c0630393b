//! Human handoff: who answers a conversation, the agent or a person.
//!
//! A conversation has at most one [`Handoff`] record. Without one, or when it was
//! handed back or closed, the agent answers. From the moment it is queued until a
//! person hands it back or closes it, a person owns the conversation: the
//! visitor's messages are stored and shown to operators, and the agent stays
//! silent.
//!
//! Every change is a compare-and-set on [`Handoff::version`]
//! ([`crate::Store::put_handoff`]), so of two operators claiming at once exactly one
//! wins, on any replica.

use crate::ids::*;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where a conversation's handoff stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HandoffStatus {
    /// Waiting in the organisation's queue for an operator.
    Queued,
    /// An operator answers the visitor.
    Claimed,
    /// Given back to the agent, which answers again.
    Returned,
    /// Ended by an operator; the agent answers any later message.
    Closed,
}

impl HandoffStatus {
    /// Whether a person owns the conversation (the agent stays silent).
    pub fn with_person(self) -> bool {
        matches!(self, Self::Queued | Self::Claimed)
    }

    /// The wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Claimed => "claimed",
            Self::Returned => "returned",
            Self::Closed => "closed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "queued" => Self::Queued,
            "claimed" => Self::Claimed,
            "returned" => Self::Returned,
            "closed" => Self::Closed,
            _ => return None,
        })
    }
}

/// What made the conversation go to a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandoffTrigger {
    /// The model called the `handoff_to_human` tool.
    Tool,
    /// The visitor asked for a person.
    Request,
    /// The agent's policy: too many answers in a row without the knowledge base.
    Unanswered,
    /// An operator took the conversation over.
    Takeover,
}

/// A person of the organisation who answers visitors. Always of the handoff's
/// organisation: `(org_id, user_id)` is the identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operator {
    /// The verified identity (`sub`).
    pub user_id: String,
    /// Shown to the visitor.
    pub name: String,
}

/// A conversation's handoff to a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Handoff {
    pub conversation_id: ConversationId,
    pub org_id: OrgId,
    /// The conversation's agent.
    pub agent_id: AgentId,
    pub status: HandoffStatus,
    pub trigger: HandoffTrigger,
    /// Why, in words an operator reads.
    pub reason: String,
    /// Who holds it (claimed), or held it last.
    pub operator: Option<Operator>,
    /// The conversation's human-agent participant for `operator`.
    pub participant_id: Option<ParticipantId>,
    /// 1 when first stored, one more at every change: the compare-and-set token.
    pub version: u64,
    /// When it entered the queue (the queue's order).
    pub queued_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Handoff {
    /// A new entry in the queue; `previous` is the conversation's earlier record,
    /// whose version it follows.
    pub fn queued(
        conversation_id: ConversationId,
        org_id: OrgId,
        agent_id: AgentId,
        trigger: HandoffTrigger,
        reason: String,
        previous: Option<&Handoff>,
    ) -> Self {
        let now = Utc::now();
        Self {
            conversation_id,
            org_id,
            agent_id,
            status: HandoffStatus::Queued,
            trigger,
            reason,
            operator: None,
            participant_id: None,
            version: previous.map_or(1, |p| p.version + 1),
            queued_at: now,
            updated_at: now,
        }
    }

    /// This record moved to `status`, one version on.
    pub fn next(&self, status: HandoffStatus) -> Self {
        Self {
            status,
            version: self.version + 1,
            updated_at: Utc::now(),
            ..self.clone()
        }
    }
}

/// The most handoffs one [`crate::Store::list_handoffs`] page holds.
pub const MAX_HANDOFFS_PAGE: usize = 200;

/// An organisation's handoffs in one status, oldest queued first.
#[derive(Debug, Clone)]
pub struct HandoffQuery {
    pub org_id: OrgId,
    pub status: HandoffStatus,
    /// Served within `1..=MAX_HANDOFFS_PAGE`.
    pub limit: usize,
    /// Continue after this position (exclusive).
    pub after: Option<HandoffCursor>,
}

impl HandoffQuery {
    pub fn page_size(&self) -> usize {
        self.limit.clamp(1, MAX_HANDOFFS_PAGE)
    }
}

/// A position in the queue's order: queued time, then conversation id, ascending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandoffCursor {
    pub queued_at: DateTime<Utc>,
    pub conversation_id: ConversationId,
}

impl HandoffCursor {
    pub fn of(handoff: &Handoff) -> Self {
        Self {
            queued_at: handoff.queued_at,
            conversation_id: handoff.conversation_id,
        }
    }

    /// Whether `handoff` comes strictly after this position.
    pub fn precedes(&self, handoff: &Handoff) -> bool {
        (handoff.queued_at, handoff.conversation_id) > (self.queued_at, self.conversation_id)
    }
}

/// One page of [`crate::Store::list_handoffs`].
#[derive(Debug, Clone, Default)]
pub struct HandoffPage {
    pub handoffs: Vec<Handoff>,
    /// The last handoff of this page when more remain.
    pub next: Option<HandoffCursor>,
}

impl HandoffPage {
    /// The page of at most `limit` from `fetched` (in order), read one deeper.
    pub fn from_overfetch(mut fetched: Vec<Handoff>, limit: usize) -> Self {
        let more = fetched.len() > limit;
        fetched.truncate(limit);
        let next = if more {
            fetched.last().map(HandoffCursor::of)
        } else {
            None
        };
        Self {
            handoffs: fetched,
            next,
        }
    }
}
