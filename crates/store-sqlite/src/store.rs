//! The [`Store`] methods, each one statement (or one transaction): writes on the
//! writing connection, reads in place on a reader (see [`crate::db`]).

use crate::SqliteStore;
use crate::db::{execute, optional};
use crate::error::{backend_rusqlite as backend, write_error};
use crate::rows::{self, *};
use async_trait::async_trait;
use chrono::Utc;
use rusqlite::{TransactionBehavior, params};
use switchboard_core::*;

#[async_trait]
impl Store for SqliteStore {
    async fn create_session(&self, new: NewSession) -> StoreResult<()> {
        crate::create::create_session(&self.db, new).await
    }

    async fn get_session(&self, id: SessionId) -> StoreResult<Option<Session>> {
        self.db
            .read(|c| {
                let sql = concat!(
                    "SELECT ",
                    session_columns!(),
                    " FROM sessions WHERE id = ?1"
                );
                optional(c, sql, [id.as_uuid()], rows::session)
            })
            .await
    }

    async fn get_conversation(&self, id: ConversationId) -> StoreResult<Option<Conversation>> {
        self.db
            .read(|c| {
                let sql = concat!(
                    "SELECT ",
                    conversation_columns!(),
                    " FROM conversations WHERE id = ?1"
                );
                optional(c, sql, [id.as_uuid()], rows::conversation)
            })
            .await
    }

    async fn update_conversation(
        &self,
        id: ConversationId,
        update: ConversationUpdate,
    ) -> StoreResult<Option<Conversation>> {
        let metadata = update.metadata.as_ref().map(to_json).transpose()?;
        let now = nanos(Utc::now())?;
        self.db
            .write(move |c| {
                let sql = concat!(
                    "UPDATE conversations SET name = COALESCE(?2, name), ",
                    "metadata = COALESCE(?3, metadata), ",
                    "updated_at_ns = MAX(?4, updated_at_ns) ",
                    "WHERE id = ?1 RETURNING ",
                    conversation_columns!()
                );
                let values = params![id.as_uuid(), update.name, metadata, now];
                optional(c, sql, values, rows::conversation)
            })
            .await
    }

    async fn list_participants(&self, id: ConversationId) -> StoreResult<Vec<Participant>> {
        self.db
            .read(|c| {
                let sql = concat!(
                    "SELECT ",
                    participant_columns!(),
                    " FROM participants WHERE conversation_id = ?1 ORDER BY seq"
                );
                crate::db::all(c, sql, [id.as_uuid()], rows::participant)
            })
            .await
    }

    async fn append_message(&self, message: &Message) -> StoreResult<()> {
        // One statement: the insert finds the conversation, and the trigger
        // `messages_bump_conversation` bumps it; every write goes through one
        // connection, so `seq` order is commit order.
        let id = *message.id.as_uuid();
        let conversation = message.conversation_id;
        let org = message.org_id.clone();
        let direction = name_of(&message.direction)?;
        let text = message.text.clone();
        let created = nanos(message.created_at)?;
        let sender = message.sender.map(|s| *s.as_uuid());
        let inserted = self
            .db
            .write(move |c| {
                let sql = concat!(
                    "INSERT INTO messages (",
                    message_columns!(),
                    ") SELECT ?1, id, ?3, ?4, ?5, ?6, ?7 FROM conversations WHERE id = ?2"
                );
                let values = params![
                    id,
                    conversation.as_uuid(),
                    org.as_str(),
                    direction,
                    text,
                    created,
                    sender
                ];
                execute(c, sql, values).map_err(write_error(format_args!("message {id}")))
            })
            .await?;
        if inserted == 0 {
            return Err(StoreError::Backend(format!(
                "conversation {conversation} does not exist"
            )));
        }
        Ok(())
    }

    async fn list_messages(&self, query: MessageQuery) -> StoreResult<MessagePage> {
        self.db
            .read(|c| crate::pages::list_messages(c, query))
            .await
    }

    async fn list_conversations(
        &self,
        query: ConversationQuery,
    ) -> StoreResult<ConversationSummaryPage> {
        // A search may read many conversations before a page is full.
        self.db
            .scan(move |c| crate::pages::list_conversations(c, query))
            .await
    }

    async fn update_session(
        &self,
        id: SessionId,
        update: SessionUpdate,
    ) -> StoreResult<Option<Session>> {
        let status = update.status.as_ref().map(name_of).transpose()?;
        let metadata = update.metadata.as_ref().map(to_json).transpose()?;
        let now = nanos(Utc::now())?;
        self.db
            .write(move |c| {
                let sql = concat!(
                    "UPDATE sessions SET status = COALESCE(?2, status), ",
                    "metadata = COALESCE(?3, metadata), ",
                    "updated_at_ns = MAX(?4, updated_at_ns) ",
                    "WHERE id = ?1 RETURNING ",
                    session_columns!()
                );
                optional(
                    c,
                    sql,
                    params![id.as_uuid(), status, metadata, now],
                    rows::session,
                )
            })
            .await
    }

    async fn put_parked_turn(&self, turn: &ParkedTurn) -> StoreResult<()> {
        let id = turn.id;
        let session = turn.session_id;
        let request = turn.request_id.clone();
        let state = to_json(&turn.state)?;
        let created = nanos(turn.created_at)?;
        let expires = nanos(turn.expires_at)?;
        self.db
            .write(move |c| {
                let sql = concat!(
                    "INSERT INTO parked_turns (",
                    parked_turn_columns!(),
                    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (session_id) DO UPDATE SET ",
                    "id = EXCLUDED.id, request_id = EXCLUDED.request_id, state = EXCLUDED.state, ",
                    "created_at_ns = EXCLUDED.created_at_ns, expires_at_ns = EXCLUDED.expires_at_ns"
                );
                let values = params![id, session.as_uuid(), request, state, created, expires];
                execute(c, sql, values).map_err(backend)?;
                Ok(())
            })
            .await
    }

    async fn get_parked_turn(&self, session: SessionId) -> StoreResult<Option<ParkedTurn>> {
        self.db
            .read(|c| {
                let sql = concat!(
                    "SELECT ",
                    parked_turn_columns!(),
                    " FROM parked_turns WHERE session_id = ?1"
                );
                optional(c, sql, [session.as_uuid()], rows::parked_turn)
            })
            .await
    }

    async fn take_parked_turn(
        &self,
        session: SessionId,
        id: Option<uuid::Uuid>,
    ) -> StoreResult<Option<ParkedTurn>> {
        // Every new message asks, and almost every time nothing is parked: a reader
        // answers that without queueing behind the writes. It sees every write that
        // completed before it began, so a park already stored is never missed.
        let parked = self
            .db
            .read(move |c| {
                let sql =
                    "SELECT 1 FROM parked_turns WHERE session_id = ?1 AND (?2 IS NULL OR id = ?2)";
                optional(c, sql, params![session.as_uuid(), id], |_| Ok(()))
            })
            .await?;
        if parked.is_none() {
            return Ok(None);
        }
        // Deletes are serialized on the writing connection: exactly one returns it.
        self.db
            .write(move |c| {
                let sql = concat!(
                    "DELETE FROM parked_turns WHERE session_id = ?1 AND (?2 IS NULL OR id = ?2) ",
                    "RETURNING ",
                    parked_turn_columns!()
                );
                optional(c, sql, params![session.as_uuid(), id], rows::parked_turn)
            })
            .await
    }

    async fn put_otp_challenge(&self, challenge: &OtpChallenge) -> StoreResult<()> {
        let c = challenge.clone();
        let created = nanos(c.created_at)?;
        let expires = nanos(c.expires_at)?;
        self.db
            .write(move |connection| {
                let sql = concat!(
                    "INSERT INTO otp_challenges (",
                    otp_columns!(),
                    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (session_id) DO UPDATE SET ",
                    "code_hash = EXCLUDED.code_hash, salt = EXCLUDED.salt, channel = EXCLUDED.channel, ",
                    "destination = EXCLUDED.destination, attempts_left = EXCLUDED.attempts_left, ",
                    "created_at_ns = EXCLUDED.created_at_ns, expires_at_ns = EXCLUDED.expires_at_ns"
                );
                let values = params![
                    c.session_id.as_uuid(),
                    c.code_hash,
                    c.salt,
                    c.channel,
                    c.destination,
                    i64::from(c.attempts_left),
                    created,
                    expires,
                ];
                execute(connection, sql, values).map_err(backend)?;
                Ok(())
            })
            .await
    }

    async fn get_otp_challenge(&self, session: SessionId) -> StoreResult<Option<OtpChallenge>> {
        self.db
            .read(|c| {
                let sql = concat!(
                    "SELECT ",
                    otp_columns!(),
                    " FROM otp_challenges WHERE session_id = ?1"
                );
                optional(c, sql, [session.as_uuid()], rows::otp_challenge)
            })
            .await
    }

    async fn spend_otp_attempt(&self, session: SessionId) -> StoreResult<Option<u32>> {
        // RETURNING sees the new count, which is ambiguous at 0 (it was 1, or 0), so
        // only a positive count is decremented, and a challenge left alone is read
        // in the same transaction. Writes are serialized on one connection, and the
        // transaction takes the write lock first (IMMEDIATE), so every caller sees a
        // distinct count.
        self.db
            .write(move |c| {
                let tx = c
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(backend)?;
                let session = session.as_uuid();
                let spent: Option<i64> = optional(
                    &tx,
                    "UPDATE otp_challenges SET attempts_left = attempts_left - 1 \
                     WHERE session_id = ?1 AND attempts_left > 0 RETURNING attempts_left + 1 AS spent",
                    [session],
                    |row| get(row, "spent"),
                )?;
                let before = match spent {
                    Some(before) => Some(before),
                    None => optional(
                        &tx,
                        "SELECT 0 AS spent FROM otp_challenges WHERE session_id = ?1",
                        [session],
                        |row| get(row, "spent"),
                    )?,
                };
                tx.commit().map_err(backend)?;
                before.map(rows::attempts).transpose()
            })
            .await
    }

    async fn delete_otp_challenge(&self, session: SessionId) -> StoreResult<()> {
        self.db
            .write(move |c| {
                execute(
                    c,
                    "DELETE FROM otp_challenges WHERE session_id = ?1",
                    [session.as_uuid()],
                )
                .map_err(backend)?;
                Ok(())
            })
            .await
    }

    async fn otp_throttle_hit(
        &self,
        key: &str,
        expires_at: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<u64> {
        let now = nanos(chrono::Utc::now())?;
        let expires = nanos(expires_at)?;
        let key = key.to_owned();
        let count: i64 = self
            .db
            .write(move |c| {
                // A bounded sweep of ended windows keeps the table to the open ones.
                execute(
                    c,
                    "DELETE FROM otp_throttle WHERE key IN ( \
                       SELECT key FROM otp_throttle WHERE expires_at_ns <= ?1 LIMIT 100)",
                    [now],
                )
                .map_err(backend)?;
                // Writes are serialized on one connection, so concurrent hits see
                // distinct counts.
                let count = optional(
                    c,
                    "INSERT INTO otp_throttle (key, count, expires_at_ns) VALUES (?1, 1, ?2) \
                     ON CONFLICT (key) DO UPDATE SET \
                       count = CASE WHEN otp_throttle.expires_at_ns <= ?3 THEN 1 \
                                    ELSE otp_throttle.count + 1 END, \
                       expires_at_ns = CASE WHEN otp_throttle.expires_at_ns <= ?3 \
                                    THEN EXCLUDED.expires_at_ns ELSE otp_throttle.expires_at_ns END \
                     RETURNING count",
                    params![key, expires, now],
                    |row| get::<i64>(row, "count"),
                )?;
                count.ok_or_else(|| StoreError::Backend("sqlite: the throttle kept no row".into()))
            })
            .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn get_org_settings(&self, org: &OrgId) -> StoreResult<Option<OrgSettings>> {
        self.db
            .read(|c| {
                let sql = concat!(
                    "SELECT ",
                    settings_columns!(),
                    " FROM org_settings WHERE org_id = ?1"
                );
                optional(c, sql, [org.as_str()], rows::org_settings)
            })
            .await
    }

    async fn put_org_settings(&self, settings: &OrgSettings) -> StoreResult<()> {
        let s = settings.clone();
        let tools = to_json(&s.default_tools)?;
        let updated = s.updated_at.map(nanos).transpose()?;
        self.db
            .write(move |c| {
                let sql = concat!(
                    "INSERT INTO org_settings (",
                    settings_columns!(),
                    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (org_id) DO UPDATE SET ",
                    "persona = EXCLUDED.persona, model = EXCLUDED.model, ",
                    "system_prompt = EXCLUDED.system_prompt, default_tools = EXCLUDED.default_tools, ",
                    "updated_at_ns = EXCLUDED.updated_at_ns"
                );
                let values = params![
                    s.org_id.as_str(),
                    s.persona,
                    s.model,
                    s.system_prompt,
                    tools,
                    updated
                ];
                execute(c, sql, values).map_err(backend)?;
                Ok(())
            })
            .await
    }

    async fn list_org_conversations(
        &self,
        query: OrgConversationQuery,
    ) -> StoreResult<ConversationPage> {
        self.db
            .read(|c| crate::pages::list_org_conversations(c, query))
            .await
    }

    async fn create_connector(&self, connector: &Connector) -> StoreResult<()> {
        crate::admin::create_connector(&self.db, connector).await
    }

    async fn update_connector(&self, connector: &Connector) -> StoreResult<Option<Connector>> {
        crate::admin::update_connector(&self.db, connector).await
    }

    async fn get_connector(&self, org: &OrgId, id: ConnectorId) -> StoreResult<Option<Connector>> {
        crate::admin::get_connector(&self.db, org, id).await
    }

    async fn list_connectors(&self, org: &OrgId) -> StoreResult<Vec<Connector>> {
        crate::admin::list_connectors(&self.db, org).await
    }

    async fn delete_connector(&self, org: &OrgId, id: ConnectorId) -> StoreResult<bool> {
        crate::admin::delete_connector(&self.db, org, id).await
    }

    async fn put_indexing_run(&self, run: &IndexingRun) -> StoreResult<()> {
        crate::admin::put_indexing_run(&self.db, run).await
    }

    async fn list_indexing_runs(&self, query: IndexingRunQuery) -> StoreResult<Vec<IndexingRun>> {
        crate::admin::list_indexing_runs(&self.db, query).await
    }

    async fn expire_parked_turns(&self, before: chrono::DateTime<Utc>) -> StoreResult<u64> {
        crate::bounds::expire_parked_turns(&self.db, before).await
    }

    async fn quota_charge(&self, charge: &QuotaCharge) -> StoreResult<QuotaVerdict> {
        crate::bounds::quota_charge(&self.db, charge).await
    }

    async fn quota_expire(&self, before: chrono::DateTime<Utc>) -> StoreResult<u64> {
        crate::bounds::quota_expire(&self.db, before).await
    }

    async fn get_handoff(&self, conversation: ConversationId) -> StoreResult<Option<Handoff>> {
        crate::handoff::get(&self.db, conversation).await
    }

    async fn put_handoff(&self, handoff: &Handoff, expected: Option<u64>) -> StoreResult<bool> {
        crate::handoff::put(&self.db, handoff, expected).await
    }

    async fn list_handoffs(&self, query: HandoffQuery) -> StoreResult<HandoffPage> {
        crate::handoff::list(&self.db, query).await
    }

    async fn add_participant(&self, participant: &Participant) -> StoreResult<()> {
        crate::handoff::add_participant(&self.db, participant).await
    }
}
