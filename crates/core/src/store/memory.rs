//! The in-memory store: the embedded default. Fast and dependency-free; everything is
//! lost when the process exits.

use super::*;
use chrono::Utc;
use std::collections::HashMap;
use std::sync::RwLock;

/// Throttle counters at which ended windows are swept out.
const OTP_THROTTLE_SWEEP_AT: usize = 1024;

/// Leases at which lapsed ones are swept out.
const LEASE_SWEEP_AT: usize = 1024;

#[derive(Default)]
pub struct MemoryStore {
    inner: RwLock<Inner>,
}

#[derive(Default)]
struct Inner {
    conversations: HashMap<ConversationId, Conversation>,
    participants: HashMap<ConversationId, Vec<Participant>>,
    /// Messages of each conversation in append order.
    messages: HashMap<ConversationId, Vec<Message>>,
    /// Where each message sits in its conversation's list.
    message_index: HashMap<MessageId, usize>,
    sessions: HashMap<SessionId, Session>,
    parked: HashMap<SessionId, ParkedTurn>,
    otp: HashMap<SessionId, OtpChallenge>,
    /// One-time-code throttle counters: count and when each may be forgotten.
    otp_throttle: HashMap<String, (u64, chrono::DateTime<Utc>)>,
    settings: HashMap<OrgId, OrgSettings>,
    connectors: HashMap<ConnectorId, Connector>,
    runs: HashMap<IndexingRunId, IndexingRun>,
    /// Quota counters: their count and when they may be forgotten.
    quotas: HashMap<String, (u64, chrono::DateTime<Utc>)>,
    /// Leases: their holder and when their time is up.
    leases: HashMap<String, (String, std::time::Instant)>,
    /// Each conversation's handoff record.
    handoffs: HashMap<ConversationId, crate::handoff::Handoff>,
}

impl Inner {
    /// Whether another connector of `connector`'s organisation has its name.
    fn name_taken(&self, connector: &Connector) -> bool {
        self.connectors.values().any(|c| {
            c.org_id == connector.org_id && c.name == connector.name && c.id != connector.id
        })
    }

    fn is_owned_by(&self, id: ConversationId, owner: &Owner) -> bool {
        self.participants
            .get(&id)
            .is_some_and(|ps| ps.iter().any(|p| owner.is(p)))
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-applied write (every
        // write below validates before mutating), so a poisoned lock is still sound.
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn create_session(&self, new: NewSession) -> StoreResult<()> {
        let mut inner = self.write();
        if inner.sessions.contains_key(&new.session.id) {
            return Err(StoreError::Conflict(format!("session {}", new.session.id)));
        }
        if let Some(conversation) = &new.conversation
            && inner.conversations.contains_key(&conversation.id)
        {
            return Err(StoreError::Conflict(format!(
                "conversation {}",
                conversation.id
            )));
        }
        if new.conversation.is_none()
            && !inner
                .conversations
                .contains_key(&new.session.conversation_id)
        {
            return Err(StoreError::Backend(format!(
                "conversation {} does not exist",
                new.session.conversation_id
            )));
        }
        if let Some(conversation) = new.conversation {
            inner.conversations.insert(conversation.id, conversation);
        }
        for participant in new.participants {
            inner
                .participants
                .entry(participant.conversation_id)
                .or_default()
                .push(participant);
        }
        inner.sessions.insert(new.session.id, new.session);
        Ok(())
    }

    async fn get_session(&self, id: SessionId) -> StoreResult<Option<Session>> {
        Ok(self.read().sessions.get(&id).cloned())
    }

    async fn get_conversation(&self, id: ConversationId) -> StoreResult<Option<Conversation>> {
        Ok(self.read().conversations.get(&id).cloned())
    }

    async fn update_conversation(
        &self,
        id: ConversationId,
        update: ConversationUpdate,
    ) -> StoreResult<Option<Conversation>> {
        let mut inner = self.write();
        let Some(conversation) = inner.conversations.get_mut(&id) else {
            return Ok(None);
        };
        if let Some(name) = update.name {
            conversation.name = name;
        }
        if let Some(metadata) = update.metadata {
            conversation.metadata = metadata;
        }
        conversation.updated_at = Utc::now().max(conversation.updated_at);
        Ok(Some(conversation.clone()))
    }

    async fn list_participants(&self, id: ConversationId) -> StoreResult<Vec<Participant>> {
        Ok(self
            .read()
            .participants
            .get(&id)
            .cloned()
            .unwrap_or_default())
    }

    async fn append_message(&self, message: &Message) -> StoreResult<()> {
        let mut inner = self.write();
        if inner.message_index.contains_key(&message.id) {
            return Err(StoreError::Conflict(format!("message {}", message.id)));
        }
        let Some(conversation) = inner.conversations.get_mut(&message.conversation_id) else {
            return Err(StoreError::Backend(format!(
                "conversation {} does not exist",
                message.conversation_id
            )));
        };
        conversation.updated_at = message.created_at.max(conversation.updated_at);
        let list = inner.messages.entry(message.conversation_id).or_default();
        list.push(message.clone());
        let position = list.len() - 1;
        inner.message_index.insert(message.id, position);
        Ok(())
    }

    async fn list_messages(&self, query: MessageQuery) -> StoreResult<MessagePage> {
        let inner = self.read();
        let all = inner
            .messages
            .get(&query.conversation_id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let cursor = match query.after {
            None => None,
            Some(id) => match inner.message_index.get(&id) {
                Some(&i) if all.get(i).is_some_and(|m| m.id == id) => Some(i),
                _ => return Err(StoreError::InvalidCursor),
            },
        };
        // The slice still to read, in storage order.
        let rest = match (query.order, cursor) {
            (Order::NewestFirst, Some(i)) => &all[..i],
            (Order::OldestFirst, Some(i)) => &all[i + 1..],
            (_, None) => all,
        };
        let take = query.limit.min(rest.len());
        let messages: Vec<Message> = match query.order {
            Order::NewestFirst => rest.iter().rev().take(take).cloned().collect(),
            Order::OldestFirst => rest.iter().take(take).cloned().collect(),
        };
        let next_cursor = (rest.len() > take)
            .then(|| messages.last().map(|m| m.id))
            .flatten();
        Ok(MessagePage {
            messages,
            next_cursor,
        })
    }

    async fn list_conversations(
        &self,
        query: ConversationQuery,
    ) -> StoreResult<ConversationSummaryPage> {
        let inner = self.read();
        let mut rows: Vec<ConversationSummary> = inner
            .conversations
            .values()
            .filter(|c| c.org_id == query.org_id)
            .filter(|c| query.only.as_ref().is_none_or(|ids| ids.contains(&c.id)))
            .filter(|c| query.after.is_none_or(|after| after.precedes(c)))
            .filter(|c| {
                query
                    .owner
                    .as_ref()
                    .is_none_or(|owner| inner.is_owned_by(c.id, owner))
            })
            .filter_map(|c| {
                let messages = inner.messages.get(&c.id).filter(|m| !m.is_empty())?;
                Some(ConversationSummary {
                    conversation: c.clone(),
                    message_count: messages.len() as u64,
                    first_user_text: messages
                        .iter()
                        .find(|m| m.direction == Direction::Inbound)
                        .map(|m| m.text.clone()),
                })
            })
            .filter(|row| {
                query.search.as_ref().is_none_or(|search| {
                    search.matches(&row.conversation.name, row.first_user_text.as_deref())
                })
            })
            .collect();
        rows.sort_by(|a, b| {
            b.conversation
                .updated_at
                .cmp(&a.conversation.updated_at)
                .then_with(|| b.conversation.id.cmp(&a.conversation.id))
        });
        let size = query.page_size();
        rows.truncate(size + 1);
        Ok(ConversationSummaryPage::from_overfetch(rows, size))
    }

    async fn update_session(
        &self,
        id: SessionId,
        update: SessionUpdate,
    ) -> StoreResult<Option<Session>> {
        let mut inner = self.write();
        let Some(session) = inner.sessions.get_mut(&id) else {
            return Ok(None);
        };
        if let Some(status) = update.status {
            session.status = status;
        }
        if let Some(metadata) = update.metadata {
            session.metadata = metadata;
        }
        session.updated_at = Utc::now().max(session.updated_at);
        Ok(Some(session.clone()))
    }

    async fn put_parked_turn(&self, turn: &ParkedTurn) -> StoreResult<()> {
        self.write().parked.insert(turn.session_id, turn.clone());
        Ok(())
    }

    async fn get_parked_turn(&self, session: SessionId) -> StoreResult<Option<ParkedTurn>> {
        Ok(self.read().parked.get(&session).cloned())
    }

    async fn take_parked_turn(
        &self,
        session: SessionId,
        id: Option<uuid::Uuid>,
    ) -> StoreResult<Option<ParkedTurn>> {
        let mut inner = self.write();
        match inner.parked.get(&session) {
            Some(turn) if id.is_none_or(|id| id == turn.id) => Ok(inner.parked.remove(&session)),
            _ => Ok(None),
        }
    }

    async fn put_otp_challenge(&self, challenge: &OtpChallenge) -> StoreResult<()> {
        self.write()
            .otp
            .insert(challenge.session_id, challenge.clone());
        Ok(())
    }

    async fn get_otp_challenge(&self, session: SessionId) -> StoreResult<Option<OtpChallenge>> {
        Ok(self.read().otp.get(&session).cloned())
    }

    async fn spend_otp_attempt(&self, session: SessionId) -> StoreResult<Option<u32>> {
        let mut inner = self.write();
        Ok(inner.otp.get_mut(&session).map(|c| {
            let before = c.attempts_left;
            c.attempts_left = before.saturating_sub(1);
            before
        }))
    }

    async fn delete_otp_challenge(&self, session: SessionId) -> StoreResult<()> {
        self.write().otp.remove(&session);
        Ok(())
    }

    async fn otp_throttle_hit(
        &self,
        key: &str,
        expires_at: chrono::DateTime<Utc>,
    ) -> StoreResult<u64> {
        let now = Utc::now();
        let mut inner = self.write();
        let counters = &mut inner.otp_throttle;
        // Ended windows are dropped as the map grows, which bounds it by the keys
        // of the windows still open.
        if counters.len() >= OTP_THROTTLE_SWEEP_AT {
            counters.retain(|_, (_, until)| *until > now);
        }
        let entry = counters.entry(key.to_owned()).or_insert((0, expires_at));
        if entry.1 <= now {
            *entry = (0, expires_at);
        }
        entry.0 += 1;
        Ok(entry.0)
    }

    async fn get_org_settings(&self, org: &OrgId) -> StoreResult<Option<OrgSettings>> {
        Ok(self.read().settings.get(org).cloned())
    }

    async fn put_org_settings(&self, settings: &OrgSettings) -> StoreResult<()> {
        self.write()
            .settings
            .insert(settings.org_id.clone(), settings.clone());
        Ok(())
    }

    async fn list_org_conversations(
        &self,
        query: OrgConversationQuery,
    ) -> StoreResult<ConversationPage> {
        let inner = self.read();
        let key = |c: &Conversation| (c.created_at, c.id);
        let mut rows: Vec<&Conversation> = inner
            .conversations
            .values()
            .filter(|c| c.org_id == query.org_id)
            .filter(|c| {
                query
                    .owner
                    .as_ref()
                    .is_none_or(|owner| inner.is_owned_by(c.id, owner))
            })
            .filter(|c| {
                query
                    .after
                    .is_none_or(|after| key(c) < (after.created_at, after.id))
            })
            .collect();
        rows.sort_by_key(|c| std::cmp::Reverse(key(c)));
        let more = rows.len() > query.limit;
        let conversations: Vec<Conversation> =
            rows.into_iter().take(query.limit).cloned().collect();
        let next = more
            .then(|| conversations.last().map(ConversationCursor::of))
            .flatten();
        Ok(ConversationPage {
            conversations,
            next,
        })
    }

    async fn create_connector(&self, connector: &Connector) -> StoreResult<()> {
        let mut inner = self.write();
        if inner.connectors.contains_key(&connector.id) {
            return Err(StoreError::Conflict(format!("connector {}", connector.id)));
        }
        if inner.name_taken(connector) {
            return Err(StoreError::Conflict(format!(
                "connector named '{}'",
                connector.name
            )));
        }
        inner.connectors.insert(connector.id, connector.clone());
        Ok(())
    }

    async fn update_connector(&self, connector: &Connector) -> StoreResult<Option<Connector>> {
        let mut inner = self.write();
        let exists = inner
            .connectors
            .get(&connector.id)
            .is_some_and(|c| c.org_id == connector.org_id);
        if !exists {
            return Ok(None);
        }
        if inner.name_taken(connector) {
            return Err(StoreError::Conflict(format!(
                "connector named '{}'",
                connector.name
            )));
        }
        let Some(stored) = inner.connectors.get_mut(&connector.id) else {
            return Ok(None);
        };
        *stored = Connector {
            created_at: stored.created_at,
            ..connector.clone()
        };
        Ok(Some(stored.clone()))
    }

    async fn get_connector(&self, org: &OrgId, id: ConnectorId) -> StoreResult<Option<Connector>> {
        Ok(self
            .read()
            .connectors
            .get(&id)
            .filter(|c| &c.org_id == org)
            .cloned())
    }

    async fn list_connectors(&self, org: &OrgId) -> StoreResult<Vec<Connector>> {
        let mut connectors: Vec<Connector> = self
            .read()
            .connectors
            .values()
            .filter(|c| &c.org_id == org)
            .cloned()
            .collect();
        connectors.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
        Ok(connectors)
    }

    async fn delete_connector(&self, org: &OrgId, id: ConnectorId) -> StoreResult<bool> {
        let mut inner = self.write();
        if inner.connectors.get(&id).is_some_and(|c| &c.org_id == org) {
            inner.connectors.remove(&id);
            return Ok(true);
        }
        Ok(false)
    }

    async fn put_indexing_run(&self, run: &IndexingRun) -> StoreResult<()> {
        let mut inner = self.write();
        if inner
            .runs
            .get(&run.id)
            .is_some_and(|r| r.org_id != run.org_id)
        {
            return Err(StoreError::Conflict(format!("indexing run {}", run.id)));
        }
        inner.runs.insert(run.id, run.clone());
        Ok(())
    }

    async fn list_indexing_runs(&self, query: IndexingRunQuery) -> StoreResult<Vec<IndexingRun>> {
        let inner = self.read();
        let mut runs: Vec<IndexingRun> = inner
            .runs
            .values()
            .filter(|r| r.org_id == query.org_id)
            .filter(|r| query.connector.is_none_or(|c| r.connector_id == c))
            .cloned()
            .collect();
        runs.sort_by_key(|r| (r.started_at, r.id));
        let skip = runs.len().saturating_sub(query.limit);
        runs.drain(..skip);
        Ok(runs)
    }

    async fn expire_parked_turns(&self, before: chrono::DateTime<Utc>) -> StoreResult<u64> {
        let mut inner = self.write();
        let held = inner.parked.len();
        inner.parked.retain(|_, turn| turn.expires_at >= before);
        Ok((held - inner.parked.len()) as u64)
    }

    async fn quota_charge(&self, charge: &QuotaCharge) -> StoreResult<QuotaVerdict> {
        let mut inner = self.write();
        let (count, expires_at) = inner
            .quotas
            .entry(charge.key.clone())
            .or_insert((0, charge.expires_at));
        match count.checked_add(charge.amount) {
            Some(total) if total <= charge.limit => {
                *count = total;
                *expires_at = charge.expires_at.max(*expires_at);
                Ok(QuotaVerdict::Admitted(total))
            }
            _ => Ok(QuotaVerdict::Refused),
        }
    }

    async fn quota_expire(&self, before: chrono::DateTime<Utc>) -> StoreResult<u64> {
        let mut inner = self.write();
        let held = inner.quotas.len();
        inner
            .quotas
            .retain(|_, (_, expires_at)| *expires_at >= before);
        Ok((held - inner.quotas.len()) as u64)
    }

    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: std::time::Duration,
    ) -> StoreResult<LeaseVerdict> {
        let now = std::time::Instant::now();
        let mut inner = self.write();
        if inner.leases.len() >= LEASE_SWEEP_AT {
            inner.leases.retain(|_, (_, until)| *until > now);
        }
        match inner.leases.get(name) {
            Some((current, until)) if current != holder && *until > now => Ok(LeaseVerdict::Held {
                holder: current.clone(),
            }),
            _ => {
                inner
                    .leases
                    .insert(name.to_owned(), (holder.to_owned(), now + ttl));
                Ok(LeaseVerdict::Granted)
            }
        }
    }

    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        let mut inner = self.write();
        if inner.leases.get(name).is_some_and(|(h, _)| h == holder) {
            inner.leases.remove(name);
        }
        Ok(())
    }

    async fn get_handoff(
        &self,
        conversation: ConversationId,
    ) -> StoreResult<Option<crate::handoff::Handoff>> {
        Ok(self.read().handoffs.get(&conversation).cloned())
    }

    async fn put_handoff(
        &self,
        handoff: &crate::handoff::Handoff,
        expected: Option<u64>,
    ) -> StoreResult<bool> {
        let mut inner = self.write();
        let stored = inner
            .handoffs
            .get(&handoff.conversation_id)
            .map(|h| h.version);
        if stored != expected {
            return Ok(false);
        }
        inner
            .handoffs
            .insert(handoff.conversation_id, handoff.clone());
        Ok(true)
    }

    async fn list_handoffs(
        &self,
        query: crate::handoff::HandoffQuery,
    ) -> StoreResult<crate::handoff::HandoffPage> {
        let limit = query.page_size();
        let mut rows: Vec<crate::handoff::Handoff> = self
            .read()
            .handoffs
            .values()
            .filter(|h| h.org_id == query.org_id && h.status == query.status)
            .filter(|h| query.after.is_none_or(|after| after.precedes(h)))
            .cloned()
            .collect();
        rows.sort_by_key(|h| (h.queued_at, h.conversation_id));
        rows.truncate(limit + 1);
        Ok(crate::handoff::HandoffPage::from_overfetch(rows, limit))
    }

    async fn add_participant(&self, participant: &Participant) -> StoreResult<()> {
        let mut inner = self.write();
        if !inner
            .conversations
            .contains_key(&participant.conversation_id)
        {
            return Err(StoreError::Backend(format!(
                "conversation {} does not exist",
                participant.conversation_id
            )));
        }
        let list = inner
            .participants
            .entry(participant.conversation_id)
            .or_default();
        if list.iter().any(|p| p.id == participant.id) {
            return Err(StoreError::Conflict(format!(
                "participant {}",
                participant.id
            )));
        }
        list.push(participant.clone());
        Ok(())
    }
}
