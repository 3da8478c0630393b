//! The [`Store`] methods, each one statement (or one transaction) against the pool.

use crate::PostgresStore;
use crate::error::{backend, write_error};
use crate::rows::{self, *};
use async_trait::async_trait;
use chrono::Utc;
use sqlx::types::Json;
use switchboard_core::*;

#[async_trait]
impl Store for PostgresStore {
    async fn create_session(&self, new: NewSession) -> StoreResult<()> {
        crate::create::create_session(&self.pool, new).await
    }

    async fn get_session(&self, id: SessionId) -> StoreResult<Option<Session>> {
        sqlx::query(concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions WHERE id = $1"
        ))
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .map(|row| rows::session(&row))
        .transpose()
    }

    async fn get_conversation(&self, id: ConversationId) -> StoreResult<Option<Conversation>> {
        sqlx::query(concat!(
            "SELECT ",
            conversation_columns!(),
            " FROM conversations WHERE id = $1"
        ))
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .map(|row| rows::conversation(&row))
        .transpose()
    }

    async fn update_conversation(
        &self,
        id: ConversationId,
        update: ConversationUpdate,
    ) -> StoreResult<Option<Conversation>> {
        sqlx::query(concat!(
            "UPDATE conversations SET name = COALESCE($2, name), ",
            "metadata = COALESCE($3, metadata), ",
            "updated_at_ns = GREATEST($4, updated_at_ns) ",
            "WHERE id = $1 RETURNING ",
            conversation_columns!()
        ))
        .bind(id.as_uuid())
        .bind(update.name)
        .bind(update.metadata.map(Json))
        .bind(nanos(Utc::now())?)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .map(|row| rows::conversation(&row))
        .transpose()
    }

    async fn list_participants(&self, id: ConversationId) -> StoreResult<Vec<Participant>> {
        sqlx::query(concat!(
            "SELECT ",
            participant_columns!(),
            " FROM participants WHERE conversation_id = $1 ORDER BY seq"
        ))
        .bind(id.as_uuid())
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?
        .iter()
        .map(rows::participant)
        .collect()
    }

    async fn append_message(&self, message: &Message) -> StoreResult<()> {
        // One statement: the conversation's row is locked and bumped first, so appends
        // to one conversation take their `seq` in commit order.
        let inserted = sqlx::query(concat!(
            "WITH conversation AS (",
            "  UPDATE conversations SET updated_at_ns = GREATEST(updated_at_ns, $6), ",
            "  message_count = message_count + 1 WHERE id = $2 RETURNING id) ",
            "INSERT INTO messages (",
            message_columns!(),
            ") SELECT $1, id, $3, $4, $5, $6, $7 FROM conversation"
        ))
        .bind(message.id.as_uuid())
        .bind(message.conversation_id.as_uuid())
        .bind(message.org_id.as_str())
        .bind(name_of(&message.direction)?)
        .bind(&message.text)
        .bind(nanos(message.created_at)?)
        .bind(message.sender.map(|s| *s.as_uuid()))
        .execute(&self.pool)
        .await
        .map_err(write_error(format_args!("message {}", message.id)))?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::Backend(format!(
                "conversation {} does not exist",
                message.conversation_id
            )));
        }
        Ok(())
    }

    async fn list_messages(&self, query: MessageQuery) -> StoreResult<MessagePage> {
        crate::pages::list_messages(&self.pool, query).await
    }

    async fn list_conversations(
        &self,
        query: ConversationQuery,
    ) -> StoreResult<ConversationSummaryPage> {
        crate::pages::list_conversations(&self.pool, query).await
    }

    async fn update_session(
        &self,
        id: SessionId,
        update: SessionUpdate,
    ) -> StoreResult<Option<Session>> {
        let status = update.status.as_ref().map(name_of).transpose()?;
        sqlx::query(concat!(
            "UPDATE sessions SET status = COALESCE($2, status), ",
            "metadata = COALESCE($3, metadata), ",
            "updated_at_ns = GREATEST($4, updated_at_ns) ",
            "WHERE id = $1 RETURNING ",
            session_columns!()
        ))
        .bind(id.as_uuid())
        .bind(status)
        .bind(update.metadata.map(Json))
        .bind(nanos(Utc::now())?)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .map(|row| rows::session(&row))
        .transpose()
    }

    async fn put_parked_turn(&self, turn: &ParkedTurn) -> StoreResult<()> {
        sqlx::query(concat!(
            "INSERT INTO parked_turns (",
            parked_turn_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (session_id) DO UPDATE SET ",
            "id = EXCLUDED.id, request_id = EXCLUDED.request_id, state = EXCLUDED.state, ",
            "created_at_ns = EXCLUDED.created_at_ns, expires_at_ns = EXCLUDED.expires_at_ns"
        ))
        .bind(turn.id)
        .bind(turn.session_id.as_uuid())
        .bind(&turn.request_id)
        .bind(Json(&turn.state))
        .bind(nanos(turn.created_at)?)
        .bind(nanos(turn.expires_at)?)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn get_parked_turn(&self, session: SessionId) -> StoreResult<Option<ParkedTurn>> {
        sqlx::query(concat!(
            "SELECT ",
            parked_turn_columns!(),
            " FROM parked_turns WHERE session_id = $1"
        ))
        .bind(session.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .map(|row| rows::parked_turn(&row))
        .transpose()
    }

    async fn take_parked_turn(
        &self,
        session: SessionId,
        id: Option<uuid::Uuid>,
    ) -> StoreResult<Option<ParkedTurn>> {
        // Of concurrent deletes of one row, exactly one returns it.
        sqlx::query(concat!(
            "DELETE FROM parked_turns WHERE session_id = $1 AND ($2::UUID IS NULL OR id = $2) ",
            "RETURNING ",
            parked_turn_columns!()
        ))
        .bind(session.as_uuid())
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .map(|row| rows::parked_turn(&row))
        .transpose()
    }

    async fn put_otp_challenge(&self, challenge: &OtpChallenge) -> StoreResult<()> {
        let c = challenge;
        sqlx::query(concat!(
            "INSERT INTO otp_challenges (",
            otp_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (session_id) DO UPDATE SET ",
            "code_hash = EXCLUDED.code_hash, salt = EXCLUDED.salt, channel = EXCLUDED.channel, ",
            "destination = EXCLUDED.destination, attempts_left = EXCLUDED.attempts_left, ",
            "created_at_ns = EXCLUDED.created_at_ns, expires_at_ns = EXCLUDED.expires_at_ns"
        ))
        .bind(c.session_id.as_uuid())
        .bind(&c.code_hash)
        .bind(&c.salt)
        .bind(&c.channel)
        .bind(&c.destination)
        .bind(i64::from(c.attempts_left))
        .bind(nanos(c.created_at)?)
        .bind(nanos(c.expires_at)?)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn get_otp_challenge(&self, session: SessionId) -> StoreResult<Option<OtpChallenge>> {
        sqlx::query(concat!(
            "SELECT ",
            otp_columns!(),
            " FROM otp_challenges WHERE session_id = $1"
        ))
        .bind(session.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .map(|row| rows::otp_challenge(&row))
        .transpose()
    }

    async fn spend_otp_attempt(&self, session: SessionId) -> StoreResult<Option<u32>> {
        // RETURNING sees the new count, which is ambiguous at 0 (it was 1, or 0), so
        // only a positive count is decremented; a challenge left alone had none.
        // Under concurrency each decrement waits for the previous one's row lock and
        // re-checks `attempts_left > 0`, so every caller sees a distinct count.
        let before: Option<i64> = sqlx::query_scalar(
            "WITH spent AS ( \
               UPDATE otp_challenges SET attempts_left = attempts_left - 1 \
               WHERE session_id = $1 AND attempts_left > 0 \
               RETURNING attempts_left + 1 AS before) \
             SELECT before FROM spent \
             UNION ALL \
             SELECT 0 FROM otp_challenges \
             WHERE session_id = $1 AND NOT EXISTS (SELECT 1 FROM spent)",
        )
        .bind(session.as_uuid())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        before.map(rows::attempts).transpose()
    }

    async fn delete_otp_challenge(&self, session: SessionId) -> StoreResult<()> {
        sqlx::query("DELETE FROM otp_challenges WHERE session_id = $1")
            .bind(session.as_uuid())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn otp_throttle_hit(
        &self,
        key: &str,
        expires_at: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<u64> {
        let now = nanos(chrono::Utc::now())?;
        // A bounded sweep of ended windows keeps the table to the open ones.
        sqlx::query(
            "DELETE FROM otp_throttle WHERE key IN ( \
               SELECT key FROM otp_throttle WHERE expires_at_ns <= $1 LIMIT 100)",
        )
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        // The upsert takes the row lock, so concurrent hits see distinct counts.
        let count: i64 = sqlx::query_scalar(
            "INSERT INTO otp_throttle (key, count, expires_at_ns) VALUES ($1, 1, $2) \
             ON CONFLICT (key) DO UPDATE SET \
               count = CASE WHEN otp_throttle.expires_at_ns <= $3 THEN 1 \
                            ELSE otp_throttle.count + 1 END, \
               expires_at_ns = CASE WHEN otp_throttle.expires_at_ns <= $3 \
                            THEN EXCLUDED.expires_at_ns ELSE otp_throttle.expires_at_ns END \
             RETURNING count",
        )
        .bind(key)
        .bind(nanos(expires_at)?)
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .map_err(backend)?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn get_org_settings(&self, org: &OrgId) -> StoreResult<Option<OrgSettings>> {
        sqlx::query(concat!(
            "SELECT ",
            settings_columns!(),
            " FROM org_settings WHERE org_id = $1"
        ))
        .bind(org.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?
        .map(|row| rows::org_settings(&row))
        .transpose()
    }

    async fn put_org_settings(&self, settings: &OrgSettings) -> StoreResult<()> {
        let s = settings;
        sqlx::query(concat!(
            "INSERT INTO org_settings (",
            settings_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (org_id) DO UPDATE SET ",
            "persona = EXCLUDED.persona, model = EXCLUDED.model, ",
            "system_prompt = EXCLUDED.system_prompt, default_tools = EXCLUDED.default_tools, ",
            "updated_at_ns = EXCLUDED.updated_at_ns"
        ))
        .bind(s.org_id.as_str())
        .bind(&s.persona)
        .bind(&s.model)
        .bind(&s.system_prompt)
        .bind(&s.default_tools)
        .bind(s.updated_at.map(nanos).transpose()?)
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn list_org_conversations(
        &self,
        query: OrgConversationQuery,
    ) -> StoreResult<ConversationPage> {
        crate::pages::list_org_conversations(&self.pool, query).await
    }

    async fn create_connector(&self, connector: &Connector) -> StoreResult<()> {
        crate::admin::create_connector(&self.pool, connector).await
    }

    async fn update_connector(&self, connector: &Connector) -> StoreResult<Option<Connector>> {
        crate::admin::update_connector(&self.pool, connector).await
    }

    async fn get_connector(&self, org: &OrgId, id: ConnectorId) -> StoreResult<Option<Connector>> {
        crate::admin::get_connector(&self.pool, org, id).await
    }

    async fn list_connectors(&self, org: &OrgId) -> StoreResult<Vec<Connector>> {
        crate::admin::list_connectors(&self.pool, org).await
    }

    async fn delete_connector(&self, org: &OrgId, id: ConnectorId) -> StoreResult<bool> {
        crate::admin::delete_connector(&self.pool, org, id).await
    }

    async fn put_indexing_run(&self, run: &IndexingRun) -> StoreResult<()> {
        crate::admin::put_indexing_run(&self.pool, run).await
    }

    async fn list_indexing_runs(&self, query: IndexingRunQuery) -> StoreResult<Vec<IndexingRun>> {
        crate::admin::list_indexing_runs(&self.pool, query).await
    }

    async fn expire_parked_turns(&self, before: chrono::DateTime<Utc>) -> StoreResult<u64> {
        crate::bounds::expire_parked_turns(&self.pool, before).await
    }

    async fn quota_charge(&self, charge: &QuotaCharge) -> StoreResult<QuotaVerdict> {
        crate::bounds::quota_charge(&self.pool, charge).await
    }

    async fn quota_expire(&self, before: chrono::DateTime<Utc>) -> StoreResult<u64> {
        crate::bounds::quota_expire(&self.pool, before).await
    }

    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: std::time::Duration,
    ) -> StoreResult<LeaseVerdict> {
        crate::bounds::acquire_lease(&self.pool, name, holder, ttl).await
    }

    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        crate::bounds::release_lease(&self.pool, name, holder).await
    }

    async fn get_handoff(&self, conversation: ConversationId) -> StoreResult<Option<Handoff>> {
        crate::handoff::get(&self.pool, conversation).await
    }

    async fn put_handoff(&self, handoff: &Handoff, expected: Option<u64>) -> StoreResult<bool> {
        crate::handoff::put(&self.pool, handoff, expected).await
    }

    async fn list_handoffs(&self, query: HandoffQuery) -> StoreResult<HandoffPage> {
        crate::handoff::list(&self.pool, query).await
    }

    async fn add_participant(&self, participant: &Participant) -> StoreResult<()> {
        crate::handoff::add_participant(&self.pool, participant).await
    }
}
