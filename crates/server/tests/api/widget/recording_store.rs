//! A memory store that counts the writes a session's creation makes, so a test
//! can assert that a refused request stored nothing.

use async_trait::async_trait;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use switchboard_core::*;

#[derive(Clone, Default)]
pub struct RecordingStore {
    inner: Arc<MemoryStore>,
    writes: Arc<AtomicUsize>,
}

impl RecordingStore {
    /// Sessions created and conversations updated so far.
    pub fn writes(&self) -> usize {
        self.writes.load(Ordering::SeqCst)
    }

    fn wrote(&self) {
        self.writes.fetch_add(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl Store for RecordingStore {
    async fn create_session(&self, new: NewSession) -> StoreResult<()> {
        self.wrote();
        self.inner.create_session(new).await
    }

    async fn get_session(&self, id: SessionId) -> StoreResult<Option<Session>> {
        self.inner.get_session(id).await
    }

    async fn get_conversation(&self, id: ConversationId) -> StoreResult<Option<Conversation>> {
        self.inner.get_conversation(id).await
    }

    async fn update_conversation(
        &self,
        id: ConversationId,
        update: ConversationUpdate,
    ) -> StoreResult<Option<Conversation>> {
        self.wrote();
        self.inner.update_conversation(id, update).await
    }

    async fn list_participants(&self, id: ConversationId) -> StoreResult<Vec<Participant>> {
        self.inner.list_participants(id).await
    }

    async fn append_message(&self, message: &Message) -> StoreResult<()> {
        self.inner.append_message(message).await
    }

    async fn list_messages(&self, query: MessageQuery) -> StoreResult<MessagePage> {
        self.inner.list_messages(query).await
    }

    async fn list_conversations(
        &self,
        query: ConversationQuery,
    ) -> StoreResult<ConversationSummaryPage> {
        self.inner.list_conversations(query).await
    }

    async fn update_session(
        &self,
        id: SessionId,
        update: SessionUpdate,
    ) -> StoreResult<Option<Session>> {
        self.inner.update_session(id, update).await
    }

    async fn put_parked_turn(&self, turn: &ParkedTurn) -> StoreResult<()> {
        self.inner.put_parked_turn(turn).await
    }

    async fn get_parked_turn(&self, session: SessionId) -> StoreResult<Option<ParkedTurn>> {
        self.inner.get_parked_turn(session).await
    }

    async fn take_parked_turn(
        &self,
        session: SessionId,
        id: Option<uuid::Uuid>,
    ) -> StoreResult<Option<ParkedTurn>> {
        self.inner.take_parked_turn(session, id).await
    }

    async fn put_otp_challenge(&self, challenge: &OtpChallenge) -> StoreResult<()> {
        self.inner.put_otp_challenge(challenge).await
    }

    async fn get_otp_challenge(&self, session: SessionId) -> StoreResult<Option<OtpChallenge>> {
        self.inner.get_otp_challenge(session).await
    }

    async fn spend_otp_attempt(&self, session: SessionId) -> StoreResult<Option<u32>> {
        self.inner.spend_otp_attempt(session).await
    }

    async fn delete_otp_challenge(&self, session: SessionId) -> StoreResult<()> {
        self.inner.delete_otp_challenge(session).await
    }

    async fn otp_throttle_hit(
        &self,
        key: &str,
        expires_at: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<u64> {
        self.inner.otp_throttle_hit(key, expires_at).await
    }

    async fn get_org_settings(&self, org: &OrgId) -> StoreResult<Option<OrgSettings>> {
        self.inner.get_org_settings(org).await
    }

    async fn put_org_settings(&self, settings: &OrgSettings) -> StoreResult<()> {
        self.inner.put_org_settings(settings).await
    }
    async fn list_org_conversations(
        &self,
        query: OrgConversationQuery,
    ) -> StoreResult<ConversationPage> {
        self.inner.list_org_conversations(query).await
    }

    async fn create_connector(&self, connector: &Connector) -> StoreResult<()> {
        self.inner.create_connector(connector).await
    }

    async fn update_connector(&self, connector: &Connector) -> StoreResult<Option<Connector>> {
        self.inner.update_connector(connector).await
    }

    async fn get_connector(&self, org: &OrgId, id: ConnectorId) -> StoreResult<Option<Connector>> {
        self.inner.get_connector(org, id).await
    }

    async fn list_connectors(&self, org: &OrgId) -> StoreResult<Vec<Connector>> {
        self.inner.list_connectors(org).await
    }

    async fn delete_connector(&self, org: &OrgId, id: ConnectorId) -> StoreResult<bool> {
        self.inner.delete_connector(org, id).await
    }

    async fn put_indexing_run(&self, run: &IndexingRun) -> StoreResult<()> {
        self.inner.put_indexing_run(run).await
    }

    async fn list_indexing_runs(&self, query: IndexingRunQuery) -> StoreResult<Vec<IndexingRun>> {
        self.inner.list_indexing_runs(query).await
    }

    async fn expire_parked_turns(&self, before: chrono::DateTime<chrono::Utc>) -> StoreResult<u64> {
        self.inner.expire_parked_turns(before).await
    }

    async fn quota_charge(&self, charge: &QuotaCharge) -> StoreResult<QuotaVerdict> {
        self.inner.quota_charge(charge).await
    }

    async fn quota_expire(&self, before: chrono::DateTime<chrono::Utc>) -> StoreResult<u64> {
        self.inner.quota_expire(before).await
    }

    async fn get_handoff(&self, conversation: ConversationId) -> StoreResult<Option<Handoff>> {
        self.inner.get_handoff(conversation).await
    }

    async fn put_handoff(&self, handoff: &Handoff, expected: Option<u64>) -> StoreResult<bool> {
        self.inner.put_handoff(handoff, expected).await
    }

    async fn list_handoffs(&self, query: HandoffQuery) -> StoreResult<HandoffPage> {
        self.inner.list_handoffs(query).await
    }

    async fn add_participant(&self, participant: &Participant) -> StoreResult<()> {
        self.inner.add_participant(participant).await
    }
}
