//! Between table rows and domain records: the column lists each query selects, and
//! the conversions of timestamps and enumerations.

use crate::error::backend;
use chrono::{DateTime, Utc};
use serde::{Serialize, de::DeserializeOwned};
use sqlx::Row;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use switchboard_core::*;

// Column lists, as macros so that queries can `concat!` them into static SQL.
macro_rules! conversation_columns {
    () => {
        "id, org_id, platform, name, idempotency_key, metadata, created_at_ns, updated_at_ns"
    };
}
macro_rules! participant_columns {
    () => {
        "id, conversation_id, org_id, kind, name, email, external_id, internal_id, \
         browser_fingerprint, created_at_ns"
    };
}
macro_rules! session_columns {
    () => {
        "id, conversation_id, org_id, agent_id, agent_name, user_participant_id, \
         agent_participant_id, status, supports, metadata, created_at_ns, updated_at_ns"
    };
}
macro_rules! message_columns {
    () => {
        "id, conversation_id, org_id, direction, text, created_at_ns, sender"
    };
}
macro_rules! parked_turn_columns {
    () => {
        "id, session_id, request_id, state, created_at_ns, expires_at_ns"
    };
}
macro_rules! otp_columns {
    () => {
        "session_id, code_hash, salt, channel, destination, attempts_left, created_at_ns, \
         expires_at_ns"
    };
}
macro_rules! settings_columns {
    () => {
        "org_id, persona, model, system_prompt, default_tools, updated_at_ns"
    };
}
macro_rules! connector_columns {
    () => {
        "id, org_id, name, kind, config, enabled, created_at_ns, updated_at_ns"
    };
}
macro_rules! run_columns {
    () => {
        "id, org_id, connector_id, connector_name, status, started_at_ns, finished_at_ns, \
         documents_seen, chunks_indexed, documents_skipped, documents_removed, error"
    };
}
pub(crate) use {
    connector_columns, conversation_columns, message_columns, otp_columns, parked_turn_columns,
    participant_columns, run_columns, session_columns, settings_columns,
};

/// Nanoseconds since the Unix epoch: exact, unlike `timestamptz` (microseconds).
pub(crate) fn nanos(at: DateTime<Utc>) -> StoreResult<i64> {
    at.timestamp_nanos_opt()
        .ok_or_else(|| StoreError::Backend(format!("timestamp {at} is outside 1677..2262")))
}

fn time(row: &PgRow, column: &str) -> StoreResult<DateTime<Utc>> {
    Ok(DateTime::from_timestamp_nanos(get(row, column)?))
}

fn optional_time(row: &PgRow, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
    Ok(get::<Option<i64>>(row, column)?.map(DateTime::from_timestamp_nanos))
}

/// An enumeration's wire name (`"inbound"`, `"ai-agent"`), as stored.
pub(crate) fn name_of<T: Serialize>(value: &T) -> StoreResult<String> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => Ok(name),
        _ => Err(StoreError::Backend("an enumeration without a name".into())),
    }
}

fn named<T: DeserializeOwned>(row: &PgRow, column: &str) -> StoreResult<T> {
    let name: String = get(row, column)?;
    serde_json::from_value(serde_json::Value::String(name))
        .map_err(|e| StoreError::Backend(format!("column {column}: {e}")))
}

fn get<'r, T>(row: &'r PgRow, column: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(column).map_err(backend)
}

fn id<T: From<uuid::Uuid>>(row: &PgRow, column: &str) -> StoreResult<T> {
    Ok(get::<uuid::Uuid>(row, column)?.into())
}

fn json<T: DeserializeOwned>(row: &PgRow, column: &str) -> StoreResult<T> {
    Ok(get::<Json<T>>(row, column)?.0)
}

pub(crate) fn conversation(row: &PgRow) -> StoreResult<Conversation> {
    Ok(Conversation {
        id: id(row, "id")?,
        org_id: OrgId::new(get::<String>(row, "org_id")?),
        platform: named(row, "platform")?,
        name: get(row, "name")?,
        idempotency_key: get(row, "idempotency_key")?,
        metadata: json(row, "metadata")?,
        created_at: time(row, "created_at_ns")?,
        updated_at: time(row, "updated_at_ns")?,
    })
}

pub(crate) fn participant(row: &PgRow) -> StoreResult<Participant> {
    Ok(Participant {
        id: id(row, "id")?,
        conversation_id: id(row, "conversation_id")?,
        org_id: OrgId::new(get::<String>(row, "org_id")?),
        kind: named(row, "kind")?,
        name: get(row, "name")?,
        email: get(row, "email")?,
        external_id: get(row, "external_id")?,
        internal_id: get(row, "internal_id")?,
        browser_fingerprint: get(row, "browser_fingerprint")?,
        created_at: time(row, "created_at_ns")?,
    })
}

pub(crate) fn session(row: &PgRow) -> StoreResult<Session> {
    Ok(Session {
        id: id(row, "id")?,
        conversation_id: id(row, "conversation_id")?,
        org_id: OrgId::new(get::<String>(row, "org_id")?),
        agent_id: AgentId::new(get::<String>(row, "agent_id")?),
        agent_name: get(row, "agent_name")?,
        user_participant_id: id(row, "user_participant_id")?,
        agent_participant_id: id(row, "agent_participant_id")?,
        status: named(row, "status")?,
        supports: get(row, "supports")?,
        metadata: json(row, "metadata")?,
        created_at: time(row, "created_at_ns")?,
        updated_at: time(row, "updated_at_ns")?,
    })
}

pub(crate) fn message(row: &PgRow) -> StoreResult<Message> {
    Ok(Message {
        id: id(row, "id")?,
        conversation_id: id(row, "conversation_id")?,
        org_id: OrgId::new(get::<String>(row, "org_id")?),
        direction: named(row, "direction")?,
        text: get(row, "text")?,
        created_at: time(row, "created_at_ns")?,
        sender: get::<Option<uuid::Uuid>>(row, "sender")?.map(Into::into),
    })
}

pub(crate) fn parked_turn(row: &PgRow) -> StoreResult<ParkedTurn> {
    Ok(ParkedTurn {
        id: get(row, "id")?,
        session_id: id(row, "session_id")?,
        request_id: get(row, "request_id")?,
        created_at: time(row, "created_at_ns")?,
        expires_at: time(row, "expires_at_ns")?,
        state: json(row, "state")?,
    })
}

pub(crate) fn otp_challenge(row: &PgRow) -> StoreResult<OtpChallenge> {
    let attempts_left: i64 = get(row, "attempts_left")?;
    Ok(OtpChallenge {
        session_id: id(row, "session_id")?,
        code_hash: get(row, "code_hash")?,
        salt: get(row, "salt")?,
        channel: get(row, "channel")?,
        destination: get(row, "destination")?,
        attempts_left: attempts(attempts_left)?,
        created_at: time(row, "created_at_ns")?,
        expires_at: time(row, "expires_at_ns")?,
    })
}

/// A stored attempt count as the domain's `u32`.
pub(crate) fn attempts(stored: i64) -> StoreResult<u32> {
    u32::try_from(stored)
        .map_err(|_| StoreError::Backend(format!("attempts_left {stored} is out of range")))
}

pub(crate) fn org_settings(row: &PgRow) -> StoreResult<OrgSettings> {
    Ok(OrgSettings {
        org_id: OrgId::new(get::<String>(row, "org_id")?),
        persona: get(row, "persona")?,
        model: get(row, "model")?,
        system_prompt: get(row, "system_prompt")?,
        default_tools: get(row, "default_tools")?,
        updated_at: optional_time(row, "updated_at_ns")?,
    })
}

pub(crate) fn connector(row: &PgRow) -> StoreResult<Connector> {
    Ok(Connector {
        id: id(row, "id")?,
        org_id: OrgId::new(get::<String>(row, "org_id")?),
        name: get(row, "name")?,
        kind: named(row, "kind")?,
        config: json(row, "config")?,
        enabled: get(row, "enabled")?,
        created_at: time(row, "created_at_ns")?,
        updated_at: time(row, "updated_at_ns")?,
    })
}

pub(crate) fn indexing_run(row: &PgRow) -> StoreResult<IndexingRun> {
    let count = |column: &str| -> StoreResult<u64> {
        let stored: i64 = get(row, column)?;
        u64::try_from(stored)
            .map_err(|_| StoreError::Backend(format!("{column} {stored} is out of range")))
    };
    Ok(IndexingRun {
        id: id(row, "id")?,
        org_id: OrgId::new(get::<String>(row, "org_id")?),
        connector_id: id(row, "connector_id")?,
        connector_name: get(row, "connector_name")?,
        status: named(row, "status")?,
        started_at: time(row, "started_at_ns")?,
        finished_at: optional_time(row, "finished_at_ns")?,
        documents_seen: count("documents_seen")?,
        chunks_indexed: count("chunks_indexed")?,
        documents_skipped: count("documents_skipped")?,
        documents_removed: count("documents_removed")?,
        error: get(row, "error")?,
    })
}

/// A count as stored (BIGINT).
pub(crate) fn stored_count(count: u64) -> StoreResult<i64> {
    i64::try_from(count).map_err(|_| StoreError::Backend(format!("count {count} is out of range")))
}
