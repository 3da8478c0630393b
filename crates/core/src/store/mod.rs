//! The storage seam. Every backend (memory, PostgreSQL, DynamoDB) implements [`Store`]
//! and passes the same conformance suite.

mod lease;
pub mod memory;
mod quota;
#[cfg(any(test, feature = "test-suite"))]
pub mod suite;

pub use lease::LeaseVerdict;
pub use quota::{QuotaCharge, QuotaVerdict};

use crate::handoff::*;
use crate::ids::*;
use crate::model::*;
use async_trait::async_trait;

/// Why a store call failed. The server maps these to wire codes in one place.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A pagination cursor that names no message of this conversation.
    #[error("the cursor does not name a message of this conversation")]
    InvalidCursor,
    /// A record with this id already exists.
    #[error("{0} already exists")]
    Conflict(String),
    /// The backend failed; the text is for logs, never for clients.
    #[error("storage backend failed: {0}")]
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Everything a new session needs, persisted atomically.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The conversation, when the session starts a new one (`None` on resume).
    pub conversation: Option<Conversation>,
    /// Participants that do not exist yet.
    pub participants: Vec<Participant>,
    pub session: Session,
}

/// A partial update of a session; `None` fields are left alone.
#[derive(Debug, Clone, Default)]
pub struct SessionUpdate {
    pub status: Option<SessionStatus>,
    /// Replaces the whole metadata object (callers read, modify, write).
    pub metadata: Option<Metadata>,
}

/// A partial update of a conversation; `None` fields are left alone.
#[derive(Debug, Clone, Default)]
pub struct ConversationUpdate {
    pub name: Option<String>,
    /// Replaces the whole metadata object (callers read, modify, write).
    pub metadata: Option<Metadata>,
}

/// Which end of a conversation to read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    NewestFirst,
    OldestFirst,
}

/// One page of a conversation's messages.
#[derive(Debug, Clone)]
pub struct MessageQuery {
    pub conversation_id: ConversationId,
    pub limit: usize,
    pub order: Order,
    /// Continue after this message (exclusive), in the direction of `order`.
    pub after: Option<MessageId>,
}

#[derive(Debug, Clone, Default)]
pub struct MessagePage {
    pub messages: Vec<Message>,
    /// The last message of this page when more remain beyond it.
    pub next_cursor: Option<MessageId>,
}

impl MessagePage {
    /// The page of at most `limit` messages from `fetched`, read one deeper than
    /// `limit`: a message beyond the limit only says that more remain.
    pub fn from_overfetch(mut fetched: Vec<Message>, limit: usize) -> Self {
        let more = fetched.len() > limit;
        fetched.truncate(limit);
        let next_cursor = if more {
            fetched.last().map(|m| m.id)
        } else {
            None
        };
        Self {
            messages: fetched,
            next_cursor,
        }
    }
}

/// Who owns a conversation: a verified user *of an organisation*. The same `sub` in
/// another organisation is another person, so ownership is never a bare user id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Owner {
    pub org_id: OrgId,
    /// The verified identity (`sub`), as in `Participant::external_id`.
    pub user_id: String,
}

impl Owner {
    pub fn new(org_id: OrgId, user_id: impl Into<String>) -> Self {
        Self {
            org_id,
            user_id: user_id.into(),
        }
    }

    /// Whether `participant` is this owner: a user of the owner's organisation with
    /// the owner's verified identity.
    pub fn is(&self, participant: &Participant) -> bool {
        participant.kind == ParticipantKind::User
            && participant.org_id == self.org_id
            && participant.external_id.as_deref() == Some(self.user_id.as_str())
    }
}

/// The most conversations one [`Store::list_conversations`] page holds, whatever
/// the query's `limit`.
pub const MAX_CONVERSATIONS_PAGE: usize = 200;

/// Which conversations of an organisation to list.
#[derive(Debug, Clone)]
pub struct ConversationQuery {
    pub org_id: OrgId,
    /// Restrict to these conversations (`None`: all of the organisation).
    pub only: Option<Vec<ConversationId>>,
    /// Restrict to conversations this user owns (a user participant of the owner's
    /// organisation with the owner's verified identity); an owner of another
    /// organisation than `org_id` owns nothing here.
    pub owner: Option<Owner>,
    /// Rows wanted; stores serve [`ConversationQuery::page_size`] of them.
    pub limit: usize,
    /// Continue after this position (exclusive), in the listing order.
    pub after: Option<ActivityCursor>,
    /// Keep only conversations this text is found in (see [`ConversationSearch`]).
    pub search: Option<ConversationSearch>,
}

impl ConversationQuery {
    /// The page size a store serves: `limit` within `1..=MAX_CONVERSATIONS_PAGE`.
    pub fn page_size(&self) -> usize {
        self.limit.clamp(1, MAX_CONVERSATIONS_PAGE)
    }
}

/// A position in [`Store::list_conversations`]'s order (last activity, then id,
/// both descending). Keyset, so a page never repeats or skips a conversation that
/// did not move; one updated while a reader pages moves to the top.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivityCursor {
    pub updated_at: chrono::DateTime<chrono::Utc>,
    pub id: ConversationId,
}

impl ActivityCursor {
    /// Where `conversation` sits in the order.
    pub fn of(conversation: &Conversation) -> Self {
        Self {
            updated_at: conversation.updated_at,
            id: conversation.id,
        }
    }

    /// Whether `conversation` comes strictly after this position.
    pub fn precedes(&self, conversation: &Conversation) -> bool {
        (conversation.updated_at, conversation.id) < (self.updated_at, self.id)
    }
}

/// Text searched for in a conversation's meaningful name (a rename or auto-title,
/// never the default `Session …` placeholder) and in its first inbound message:
/// a case-insensitive substring match, with no wildcard characters.
///
/// Built only through [`ConversationSearch::new`], so no store ever sees a blank or
/// over-long needle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationSearch {
    /// Trimmed and lower-cased.
    needle: String,
}

/// A search text longer than [`ConversationSearch::MAX_CHARS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a search is at most {} characters", ConversationSearch::MAX_CHARS)]
pub struct SearchTooLong;

impl ConversationSearch {
    /// The longest search, in characters (after trimming).
    pub const MAX_CHARS: usize = 200;

    /// `None` for a blank text (no filter).
    pub fn new(raw: &str) -> Result<Option<Self>, SearchTooLong> {
        let trimmed = raw.trim();
        if trimmed.chars().count() > Self::MAX_CHARS {
            return Err(SearchTooLong);
        }
        Ok((!trimmed.is_empty()).then(|| Self {
            needle: trimmed.to_lowercase(),
        }))
    }

    /// The lower-cased text to find.
    pub fn needle(&self) -> &str {
        &self.needle
    }

    /// Whether a conversation with this name and first inbound text matches.
    pub fn matches(&self, name: &str, first_user_text: Option<&str>) -> bool {
        let found = |text: &str| text.to_lowercase().contains(&self.needle);
        (crate::title::is_meaningful_name(name) && found(name))
            || first_user_text.is_some_and(found)
    }
}

/// One page of [`Store::list_conversations`].
#[derive(Debug, Clone, Default)]
pub struct ConversationSummaryPage {
    pub conversations: Vec<ConversationSummary>,
    /// The last conversation of this page when more remain beyond it.
    pub next: Option<ActivityCursor>,
}

impl ConversationSummaryPage {
    /// The page of at most `limit` rows from `fetched` (in listing order), read one
    /// deeper than `limit`: a row beyond the limit only says that more remain.
    pub fn from_overfetch(mut fetched: Vec<ConversationSummary>, limit: usize) -> Self {
        let more = fetched.len() > limit;
        fetched.truncate(limit);
        let next = if more {
            fetched
                .last()
                .map(|row| ActivityCursor::of(&row.conversation))
        } else {
            None
        };
        Self {
            conversations: fetched,
            next,
        }
    }
}

/// A conversation with what a sidebar shows about it.
#[derive(Debug, Clone)]
pub struct ConversationSummary {
    pub conversation: Conversation,
    pub message_count: u64,
    pub first_user_text: Option<String>,
}

/// Which conversations of an organisation to list for its administrators: all of
/// them, with or without messages, newest first by creation.
#[derive(Debug, Clone)]
pub struct OrgConversationQuery {
    pub org_id: OrgId,
    /// Restrict to conversations this user owns (a user participant of the owner's
    /// organisation with the owner's verified identity); an owner of another
    /// organisation than `org_id` owns nothing here.
    pub owner: Option<Owner>,
    pub limit: usize,
    /// Continue after this conversation (exclusive).
    pub after: Option<ConversationCursor>,
}

/// A position in [`Store::list_org_conversations`]'s order (creation time, then id,
/// both descending), stable while conversations are added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConversationCursor {
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub id: ConversationId,
}

impl ConversationCursor {
    /// Where `conversation` sits in the order.
    pub fn of(conversation: &Conversation) -> Self {
        Self {
            created_at: conversation.created_at,
            id: conversation.id,
        }
    }
}

/// One page of an organisation's conversations.
#[derive(Debug, Clone, Default)]
pub struct ConversationPage {
    pub conversations: Vec<Conversation>,
    /// The last conversation of this page when more remain beyond it.
    pub next: Option<ConversationCursor>,
}

/// Which indexing runs to list.
#[derive(Debug, Clone)]
pub struct IndexingRunQuery {
    pub org_id: OrgId,
    /// Only the runs of this connector.
    pub connector: Option<ConnectorId>,
    /// The most recent `limit` runs are returned.
    pub limit: usize,
}

/// Durable state. Everything a user could lose goes through here; process memory is
/// only a cache.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Stores a session together with its new conversation and participants, all or
    /// nothing.
    async fn create_session(&self, new: NewSession) -> StoreResult<()>;

    async fn get_session(&self, id: SessionId) -> StoreResult<Option<Session>>;

    async fn get_conversation(&self, id: ConversationId) -> StoreResult<Option<Conversation>>;

    /// Applies `update` and bumps `updated_at`; `None` when there is no such conversation.
    async fn update_conversation(
        &self,
        id: ConversationId,
        update: ConversationUpdate,
    ) -> StoreResult<Option<Conversation>>;

    /// Participants in the order they joined.
    async fn list_participants(&self, id: ConversationId) -> StoreResult<Vec<Participant>>;

    /// Appends a message to its conversation and bumps the conversation's `updated_at`.
    async fn append_message(&self, message: &Message) -> StoreResult<()>;

    async fn list_messages(&self, query: MessageQuery) -> StoreResult<MessagePage>;

    /// One page of the conversations that have at least one message, most recently
    /// updated first (ties: greater id first), after `query.after`, matching
    /// `query.search`, at most `query.page_size()` of them.
    async fn list_conversations(
        &self,
        query: ConversationQuery,
    ) -> StoreResult<ConversationSummaryPage>;

    /// Applies `update` and bumps `updated_at`; `None` when there is no such session.
    async fn update_session(
        &self,
        id: SessionId,
        update: SessionUpdate,
    ) -> StoreResult<Option<Session>>;

    /// Stores the session's parked turn, replacing any earlier one.
    async fn put_parked_turn(&self, turn: &ParkedTurn) -> StoreResult<()>;

    /// The session's parked turn, left in place.
    async fn get_parked_turn(&self, session: SessionId) -> StoreResult<Option<ParkedTurn>>;

    /// Removes and returns the session's parked turn when it is park `id` (any park
    /// when `id` is `None`). Of two concurrent callers, at most one gets it: an
    /// answer resolves a park exactly once.
    async fn take_parked_turn(
        &self,
        session: SessionId,
        id: Option<uuid::Uuid>,
    ) -> StoreResult<Option<ParkedTurn>>;

    /// Stores the session's one-time-code challenge, replacing any earlier one.
    async fn put_otp_challenge(&self, challenge: &OtpChallenge) -> StoreResult<()>;

    async fn get_otp_challenge(&self, session: SessionId) -> StoreResult<Option<OtpChallenge>>;

    /// Uses up one attempt, atomically; returns the attempts that were left
    /// *before* this one (`Some(0)`: none were), or `None` without a challenge.
    async fn spend_otp_attempt(&self, session: SessionId) -> StoreResult<Option<u32>>;

    async fn delete_otp_challenge(&self, session: SessionId) -> StoreResult<()>;

    // ---- One-time-code throttle (names prefixed `otp_`) ----

    /// Counts one event against `key`, atomically across replicas, and returns the
    /// count including this one. The counter may be forgotten from `expires_at`
    /// on; a counter whose `expires_at` has passed starts again from 1. Callers
    /// put the time window in the key (`dest:<hash>:<window>`), so a counter
    /// never outlives its window even where the store deletes lazily.
    async fn otp_throttle_hit(
        &self,
        key: &str,
        expires_at: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<u64>;

    async fn get_org_settings(&self, org: &OrgId) -> StoreResult<Option<OrgSettings>>;

    async fn put_org_settings(&self, settings: &OrgSettings) -> StoreResult<()>;

    /// One page of an organisation's conversations (empty ones too), newest first.
    async fn list_org_conversations(
        &self,
        query: OrgConversationQuery,
    ) -> StoreResult<ConversationPage>;

    /// Stores a new connector; `Conflict` when its id, or its name within the
    /// organisation, is taken.
    async fn create_connector(&self, connector: &Connector) -> StoreResult<()>;

    /// Replaces the name, kind, config, `enabled` and `updated_at` of the
    /// organisation's connector `connector.id`, keeping `created_at`; `None` when the
    /// organisation has no such connector, `Conflict` when the new name is taken.
    async fn update_connector(&self, connector: &Connector) -> StoreResult<Option<Connector>>;

    async fn get_connector(&self, org: &OrgId, id: ConnectorId) -> StoreResult<Option<Connector>>;

    /// The organisation's connectors, sorted by name.
    async fn list_connectors(&self, org: &OrgId) -> StoreResult<Vec<Connector>>;

    /// Removes the organisation's connector; `false` when it had none by that id.
    async fn delete_connector(&self, org: &OrgId, id: ConnectorId) -> StoreResult<bool>;

    /// Stores a run, replacing the earlier record of the same run (same id and
    /// organisation).
    async fn put_indexing_run(&self, run: &IndexingRun) -> StoreResult<()>;

    /// The most recent `limit` runs that match, oldest first.
    async fn list_indexing_runs(&self, query: IndexingRunQuery) -> StoreResult<Vec<IndexingRun>>;

    // --- Bounds on what anonymous callers can make the store keep (the server's
    // sweeper and quotas). ---

    /// Removes every parked turn whose `expires_at` is before `before`, and returns
    /// how many it removed. Parks whose turn is gone would otherwise stay forever.
    async fn expire_parked_turns(&self, before: chrono::DateTime<chrono::Utc>) -> StoreResult<u64>;

    /// Adds `charge.amount` to the counter `charge.key` (absent counts as 0) unless
    /// the sum would exceed `charge.limit`; atomic, so concurrent charges from any
    /// number of replicas never take a counter over its limit.
    async fn quota_charge(&self, charge: &QuotaCharge) -> StoreResult<QuotaVerdict>;

    /// Forgets the counters whose `expires_at` is before `before`, and returns how
    /// many (a store that expires items by itself may return 0).
    async fn quota_expire(&self, before: chrono::DateTime<chrono::Utc>) -> StoreResult<u64>;

    // --- Human handoff (see [`crate::handoff`]). ---

    /// The conversation's handoff record, if it ever had one.
    async fn get_handoff(&self, conversation: ConversationId) -> StoreResult<Option<Handoff>>;

    /// Stores `handoff` if the conversation's stored record is still at version
    /// `expected` (`None`: it has none yet), and says whether it did. Atomic across
    /// every server sharing the store: of concurrent writers expecting the same
    /// version, exactly one succeeds. Callers give `handoff` a greater version.
    async fn put_handoff(&self, handoff: &Handoff, expected: Option<u64>) -> StoreResult<bool>;

    /// One page of the organisation's handoffs in `query.status`, oldest queued
    /// first (ties: smaller conversation id first), after `query.after`.
    async fn list_handoffs(&self, query: HandoffQuery) -> StoreResult<HandoffPage>;

    /// Adds a participant to its existing conversation (an operator joining);
    /// `Conflict` when its id is taken, `Backend` when the conversation is missing.
    async fn add_participant(&self, participant: &Participant) -> StoreResult<()>;

    // --- Leases (one indexing run per source across replicas). ---

    /// Takes the lease `name` for `holder` for `ttl`, or renews it when `holder`
    /// holds it already; granted when nobody holds it or its holder's time is up.
    /// Atomic across every server sharing the store: of concurrent callers, one
    /// is granted.
    ///
    /// The default grants every request. That is right only for a store one server
    /// uses at a time (SQLite, whose file lock admits one server), where that
    /// server keeps its own tasks apart; a store several replicas share overrides
    /// it (memory, PostgreSQL and DynamoDB do, and pass
    /// [`crate::store_lease_tests!`]).
    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: std::time::Duration,
    ) -> StoreResult<LeaseVerdict> {
        let _ = (name, holder, ttl);
        Ok(LeaseVerdict::Granted)
    }

    /// Gives up the lease `name` if `holder` holds it; otherwise does nothing.
    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        let _ = (name, holder);
        Ok(())
    }
}
