//! `create_session`: a conversation, its participants and a session, in one transaction.

use crate::error::{backend, is_missing_reference, write_error};
use crate::rows::*;
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use switchboard_core::*;

pub(crate) async fn create_session(pool: &PgPool, new: NewSession) -> StoreResult<()> {
    let mut tx = pool.begin().await.map_err(backend)?;
    if let Some(conversation) = &new.conversation {
        insert_conversation(&mut tx, conversation).await?;
    }
    for participant in &new.participants {
        insert_participant(&mut tx, participant).await?;
    }
    insert_session(&mut tx, &new.session).await?;
    tx.commit().await.map_err(backend)
}

/// A failed insert of `what`: a duplicate id is a conflict, and a missing conversation
/// (the resume of one that does not exist) is named as such.
fn insert_failed(
    what: String,
    conversation: ConversationId,
) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |error| {
        if is_missing_reference(&error) {
            StoreError::Backend(format!("conversation {conversation} does not exist"))
        } else {
            write_error(what)(error)
        }
    }
}

async fn insert_conversation(tx: &mut PgConnection, c: &Conversation) -> StoreResult<()> {
    sqlx::query(concat!(
        "INSERT INTO conversations (",
        conversation_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    ))
    .bind(c.id.as_uuid())
    .bind(c.org_id.as_str())
    .bind(name_of(&c.platform)?)
    .bind(&c.name)
    .bind(&c.idempotency_key)
    .bind(Json(&c.metadata))
    .bind(nanos(c.created_at)?)
    .bind(nanos(c.updated_at)?)
    .execute(tx)
    .await
    .map_err(insert_failed(format!("conversation {}", c.id), c.id))?;
    Ok(())
}

pub(crate) async fn insert_participant(tx: &mut PgConnection, p: &Participant) -> StoreResult<()> {
    sqlx::query(concat!(
        "INSERT INTO participants (",
        participant_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    ))
    .bind(p.id.as_uuid())
    .bind(p.conversation_id.as_uuid())
    .bind(p.org_id.as_str())
    .bind(name_of(&p.kind)?)
    .bind(&p.name)
    .bind(&p.email)
    .bind(&p.external_id)
    .bind(&p.internal_id)
    .bind(&p.browser_fingerprint)
    .bind(nanos(p.created_at)?)
    .execute(tx)
    .await
    .map_err(insert_failed(
        format!("participant {}", p.id),
        p.conversation_id,
    ))?;
    Ok(())
}

async fn insert_session(tx: &mut PgConnection, s: &Session) -> StoreResult<()> {
    sqlx::query(concat!(
        "INSERT INTO sessions (",
        session_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    ))
    .bind(s.id.as_uuid())
    .bind(s.conversation_id.as_uuid())
    .bind(s.org_id.as_str())
    .bind(s.agent_id.as_str())
    .bind(&s.agent_name)
    .bind(s.user_participant_id.as_uuid())
    .bind(s.agent_participant_id.as_uuid())
    .bind(name_of(&s.status)?)
    .bind(&s.supports)
    .bind(Json(&s.metadata))
    .bind(nanos(s.created_at)?)
    .bind(nanos(s.updated_at)?)
    .execute(tx)
    .await
    .map_err(insert_failed(
        format!("session {}", s.id),
        s.conversation_id,
    ))?;
    Ok(())
}
