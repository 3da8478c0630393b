//! The [`Store`] methods: sessions, conversations, messages, parks, one-time codes
//! and settings. Reads of the table are strongly consistent.

use crate::DynamoStore;
use crate::create::{Refused, put, transact};
use crate::error::{backend, condition_failed};
use crate::item::{Item, Read, json, key, n, s, with_body};
use crate::keys::{self, *};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{ReturnValue, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use switchboard_core::*;

/// A conversation as stored: the record as created, with what changed since.
pub(crate) fn conversation_of(item: &Item) -> StoreResult<Conversation> {
    let mut conversation: Conversation = item.body()?;
    conversation.name = item.string("name")?.to_owned();
    conversation.metadata = item.decode("metadata")?;
    conversation.updated_at = time(item.number("updated_ns")?);
    Ok(conversation)
}

fn session_of(item: &Item) -> StoreResult<Session> {
    let mut session: Session = item.body()?;
    session.status = item.decode("status")?;
    session.metadata = item.decode("metadata")?;
    session.updated_at = time(item.number("updated_ns")?);
    Ok(session)
}

fn time(nanos: u64) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(i64::try_from(nanos).unwrap_or(i64::MAX))
}

impl DynamoStore {
    pub(crate) async fn get(&self, pk: String, sk: &str) -> StoreResult<Option<Item>> {
        Ok(self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?
            .item)
    }

    pub(crate) async fn put_item(&self, item: Item) -> StoreResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    /// Moves an item's `updated_ns` to `at` unless it is later already (replicas'
    /// clocks disagree; `updated_at` never moves back). For a conversation, its
    /// place in the recent list moves along.
    async fn bump(&self, pk: String, sk: &str, at: DateTime<Utc>, list: Option<ConversationId>) {
        let mut expression = "SET updated_ns = :at".to_owned();
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .condition_expression("attribute_exists(pk) AND updated_ns < :at")
            .expression_attribute_values(":at", n(nanos(at)));
        if let Some(id) = list {
            expression.push_str(", gsi1sk = :order");
            update = update.expression_attribute_values(":order", s(keys::org_order(at, id)));
        }
        match update.update_expression(expression).send().await {
            Ok(_) => {}
            Err(e) if condition_failed(&e) => {}
            // The write it follows succeeded; a stale `updated_at` is only cosmetic.
            Err(e) => tracing::warn!(error = %backend(e), "cannot move updated_at"),
        }
    }

    /// Applies `SET` assignments to an existing item and returns it; `None` when
    /// there is no such item.
    async fn update_existing(
        &self,
        pk: String,
        sk: &str,
        sets: Vec<(&str, aws_sdk_dynamodb::types::AttributeValue)>,
    ) -> StoreResult<Option<Item>> {
        if sets.is_empty() {
            return self.get(pk, sk).await;
        }
        let expression = sets
            .iter()
            .map(|(name, _)| format!("#{name} = :{name}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .update_expression(format!("SET {expression}"))
            .condition_expression("attribute_exists(pk)")
            .return_values(ReturnValue::AllNew);
        for (name, value) in sets {
            update = update
                .expression_attribute_names(format!("#{name}"), name)
                .expression_attribute_values(format!(":{name}"), value);
        }
        match update.send().await {
            Ok(out) => Ok(out.attributes),
            Err(e) if condition_failed(&e) => Ok(None),
            Err(e) => Err(backend(e)),
        }
    }
}

#[async_trait]
impl Store for DynamoStore {
    async fn create_session(&self, new: NewSession) -> StoreResult<()> {
        crate::create::create_session(self, new).await
    }

    async fn get_session(&self, id: SessionId) -> StoreResult<Option<Session>> {
        self.get(keys::session(id), ONLY)
            .await?
            .as_ref()
            .map(session_of)
            .transpose()
    }

    async fn get_conversation(&self, id: ConversationId) -> StoreResult<Option<Conversation>> {
        self.get(keys::conversation(id), META)
            .await?
            .as_ref()
            .map(conversation_of)
            .transpose()
    }

    async fn update_conversation(
        &self,
        id: ConversationId,
        update: ConversationUpdate,
    ) -> StoreResult<Option<Conversation>> {
        let mut sets = Vec::new();
        if let Some(name) = update.name {
            sets.push(("name", s(name)));
        }
        if let Some(metadata) = update.metadata {
            sets.push(("metadata", json(&metadata)?));
        }
        let Some(item) = self
            .update_existing(keys::conversation(id), META, sets)
            .await?
        else {
            return Ok(None);
        };
        let mut conversation = conversation_of(&item)?;
        let now = Utc::now();
        self.bump(keys::conversation(id), META, now, Some(id)).await;
        conversation.updated_at = conversation.updated_at.max(now);
        Ok(Some(conversation))
    }

    async fn list_participants(&self, id: ConversationId) -> StoreResult<Vec<Participant>> {
        crate::pages::query_prefix(self, keys::conversation(id), "PART#")
            .await?
            .iter()
            .map(Read::body)
            .collect()
    }

    async fn append_message(&self, message: &Message) -> StoreResult<()> {
        let conversation = keys::conversation(message.conversation_id);
        // The conversation's counter orders its messages by append, whatever the
        // replicas' clocks say.
        let counted = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(conversation.clone(), META)))
            .update_expression("ADD seq :one")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        let seq = match counted {
            Ok(out) => out.attributes.unwrap_or_default().number("seq")?,
            Err(e) if condition_failed(&e) => {
                return Err(StoreError::Backend(format!(
                    "conversation {} does not exist",
                    message.conversation_id
                )));
            }
            Err(e) => return Err(backend(e)),
        };
        let mut stored = with_body(conversation.clone(), keys::message(seq), message)?;
        stored.insert("id".into(), s(message.id.to_string()));
        let mut position = key(keys::message_id(message.id), ONLY);
        position.insert(
            "conversation".into(),
            s(message.conversation_id.to_string()),
        );
        position.insert("seq".into(), n(seq));
        let items = vec![
            put(&self.table, stored)?,
            put(&self.table, position)?,
            count_message(&self.table, message)?,
        ];
        match transact(self, items).await {
            Ok(()) => {}
            Err(Refused::Write(_)) => {
                return Err(StoreError::Conflict(format!("message {}", message.id)));
            }
            Err(Refused::Failed(error)) => return Err(error),
        }
        self.bump(
            conversation,
            META,
            message.created_at,
            Some(message.conversation_id),
        )
        .await;
        Ok(())
    }

    async fn list_messages(&self, query: MessageQuery) -> StoreResult<MessagePage> {
        crate::pages::list_messages(self, query).await
    }

    async fn list_conversations(
        &self,
        query: ConversationQuery,
    ) -> StoreResult<ConversationSummaryPage> {
        crate::pages::list_conversations(self, query).await
    }

    async fn update_session(
        &self,
        id: SessionId,
        update: SessionUpdate,
    ) -> StoreResult<Option<Session>> {
        let mut sets = Vec::new();
        if let Some(status) = update.status {
            sets.push(("status", json(&status)?));
        }
        if let Some(metadata) = update.metadata {
            sets.push(("metadata", json(&metadata)?));
        }
        let Some(item) = self.update_existing(keys::session(id), ONLY, sets).await? else {
            return Ok(None);
        };
        let mut session = session_of(&item)?;
        let now = Utc::now();
        self.bump(keys::session(id), ONLY, now, None).await;
        session.updated_at = session.updated_at.max(now);
        Ok(Some(session))
    }

    async fn put_parked_turn(&self, turn: &ParkedTurn) -> StoreResult<()> {
        let mut item = with_body(keys::session(turn.session_id), "PARK", turn)?;
        item.insert("park_id".into(), s(turn.id.to_string()));
        self.put_park(item, turn).await
    }

    async fn get_parked_turn(&self, session: SessionId) -> StoreResult<Option<ParkedTurn>> {
        self.get(keys::session(session), "PARK")
            .await?
            .as_ref()
            .map(Read::body)
            .transpose()
    }

    async fn take_parked_turn(
        &self,
        session: SessionId,
        id: Option<uuid::Uuid>,
    ) -> StoreResult<Option<ParkedTurn>> {
        // A conditional delete: of concurrent takers, exactly one gets the item back.
        let mut delete = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::session(session), "PARK")))
            .return_values(ReturnValue::AllOld);
        delete = match id {
            Some(id) => delete
                .condition_expression("attribute_exists(pk) AND park_id = :id")
                .expression_attribute_values(":id", s(id.to_string())),
            None => delete.condition_expression("attribute_exists(pk)"),
        };
        match delete.send().await {
            Ok(out) => out.attributes.as_ref().map(Read::body).transpose(),
            Err(e) if condition_failed(&e) => Ok(None),
            Err(e) => Err(backend(e)),
        }
    }

    async fn put_otp_challenge(&self, challenge: &OtpChallenge) -> StoreResult<()> {
        let mut item = with_body(keys::session(challenge.session_id), "OTP", challenge)?;
        item.insert("attempts".into(), n(challenge.attempts_left));
        self.put_item(item).await
    }

    async fn get_otp_challenge(&self, session: SessionId) -> StoreResult<Option<OtpChallenge>> {
        let Some(item) = self.get(keys::session(session), "OTP").await? else {
            return Ok(None);
        };
        let mut challenge: OtpChallenge = item.body()?;
        challenge.attempts_left = attempts(&item)?;
        Ok(Some(challenge))
    }

    async fn spend_otp_attempt(&self, session: SessionId) -> StoreResult<Option<u32>> {
        // Decrements only a positive count, so each caller sees a distinct one.
        let spent = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::session(session), "OTP")))
            .update_expression("SET attempts = attempts - :one")
            .condition_expression("attempts > :zero")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":zero", n(0))
            .return_values(ReturnValue::UpdatedOld)
            .send()
            .await;
        match spent {
            Ok(out) => Ok(Some(attempts(&out.attributes.unwrap_or_default())?)),
            // None left, or no challenge at all.
            Err(e) if condition_failed(&e) => {
                Ok(self.get(keys::session(session), "OTP").await?.map(|_| 0))
            }
            Err(e) => Err(backend(e)),
        }
    }

    async fn delete_otp_challenge(&self, session: SessionId) -> StoreResult<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::session(session), "OTP")))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn otp_throttle_hit(&self, key: &str, expires_at: DateTime<Utc>) -> StoreResult<u64> {
        crate::throttle::hit(self, key, expires_at).await
    }

    async fn get_org_settings(&self, org: &OrgId) -> StoreResult<Option<OrgSettings>> {
        self.get(keys::org(org), "SETTINGS")
            .await?
            .as_ref()
            .map(Read::body)
            .transpose()
    }

    async fn put_org_settings(&self, settings: &OrgSettings) -> StoreResult<()> {
        self.put_item(with_body(
            keys::org(&settings.org_id),
            "SETTINGS",
            settings,
        )?)
        .await
    }

    async fn list_org_conversations(
        &self,
        query: OrgConversationQuery,
    ) -> StoreResult<ConversationPage> {
        crate::pages::list_org_conversations(self, query).await
    }

    async fn create_connector(&self, connector: &Connector) -> StoreResult<()> {
        crate::admin::create_connector(self, connector).await
    }

    async fn update_connector(&self, connector: &Connector) -> StoreResult<Option<Connector>> {
        crate::admin::update_connector(self, connector).await
    }

    async fn get_connector(&self, org: &OrgId, id: ConnectorId) -> StoreResult<Option<Connector>> {
        self.get(keys::org(org), &keys::connector(id))
            .await?
            .as_ref()
            .map(Read::body)
            .transpose()
    }

    async fn list_connectors(&self, org: &OrgId) -> StoreResult<Vec<Connector>> {
        let mut connectors: Vec<Connector> =
            crate::pages::query_prefix(self, keys::org(org), "CONNECTOR#")
                .await?
                .iter()
                .map(Read::body)
                .collect::<StoreResult<_>>()?;
        connectors.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
        Ok(connectors)
    }

    async fn delete_connector(&self, org: &OrgId, id: ConnectorId) -> StoreResult<bool> {
        crate::admin::delete_connector(self, org, id).await
    }

    async fn put_indexing_run(&self, run: &IndexingRun) -> StoreResult<()> {
        crate::admin::put_indexing_run(self, run).await
    }

    async fn list_indexing_runs(&self, query: IndexingRunQuery) -> StoreResult<Vec<IndexingRun>> {
        crate::admin::list_indexing_runs(self, query).await
    }

    async fn expire_parked_turns(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.expire_parks(before).await
    }

    async fn quota_charge(&self, charge: &QuotaCharge) -> StoreResult<QuotaVerdict> {
        self.charge(charge).await
    }

    /// DynamoDB deletes expired counters by itself (their TTL attribute); nothing
    /// reads a counter after its window.
    async fn quota_expire(&self, _before: DateTime<Utc>) -> StoreResult<u64> {
        Ok(0)
    }

    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: std::time::Duration,
    ) -> StoreResult<LeaseVerdict> {
        crate::lease::acquire(self, name, holder, ttl).await
    }

    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        crate::lease::release(self, name, holder).await
    }

    async fn get_handoff(&self, conversation: ConversationId) -> StoreResult<Option<Handoff>> {
        crate::handoff::get(self, conversation).await
    }

    async fn put_handoff(&self, handoff: &Handoff, expected: Option<u64>) -> StoreResult<bool> {
        crate::handoff::put_handoff(self, handoff, expected).await
    }

    async fn list_handoffs(&self, query: HandoffQuery) -> StoreResult<HandoffPage> {
        crate::handoff::list(self, query).await
    }

    async fn add_participant(&self, participant: &Participant) -> StoreResult<()> {
        crate::handoff::add_participant(self, participant).await
    }
}

fn attempts(item: &Item) -> StoreResult<u32> {
    u32::try_from(item.number("attempts")?)
        .map_err(|_| StoreError::Backend("dynamodb: attempts out of range".into()))
}

/// The conversation counts the message, joins its organisation's recent list, and
/// remembers its first user text (the sidebar's preview).
fn count_message(table: &str, message: &Message) -> StoreResult<TransactWriteItem> {
    let mut expression = "ADD msgs :one SET gsi1pk = :org".to_owned();
    let mut update = Update::builder()
        .table_name(table)
        .set_key(Some(key(keys::conversation(message.conversation_id), META)))
        .expression_attribute_values(":one", n(1))
        .expression_attribute_values(":org", s(keys::org(&message.org_id)));
    if message.direction == Direction::Inbound {
        expression.push_str(", first_in = if_not_exists(first_in, :text)");
        update = update.expression_attribute_values(":text", s(&message.text));
    }
    let update = update
        .update_expression(expression)
        .build()
        .map_err(backend)?;
    Ok(TransactWriteItem::builder().update(update).build())
}
