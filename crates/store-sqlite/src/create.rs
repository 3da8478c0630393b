//! `create_session`: a conversation, its participants and a session, in one transaction.

use crate::db::{Db, execute};
use crate::error::{backend_rusqlite as backend, is_missing_reference, write_error};
use crate::rows::*;
use rusqlite::{Connection, TransactionBehavior, params};
use switchboard_core::*;

pub(crate) async fn create_session(db: &Db, new: NewSession) -> StoreResult<()> {
    db.write(move |connection| {
        // IMMEDIATE: the write lock is taken before the first statement.
        let tx = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        if let Some(conversation) = &new.conversation {
            insert_conversation(&tx, conversation)?;
        }
        for participant in &new.participants {
            insert_participant(&tx, participant)?;
        }
        insert_session(&tx, &new.session)?;
        tx.commit().map_err(backend)
    })
    .await
}

/// A failed insert of `what`: a duplicate id is a conflict, and a missing conversation
/// (the resume of one that does not exist) is named as such.
fn insert_failed(
    what: String,
    conversation: ConversationId,
) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |error| {
        if is_missing_reference(&error) {
            StoreError::Backend(format!("conversation {conversation} does not exist"))
        } else {
            write_error(what)(error)
        }
    }
}

fn insert_conversation(tx: &Connection, c: &Conversation) -> StoreResult<()> {
    let sql = concat!(
        "INSERT INTO conversations (",
        conversation_columns!(),
        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
    );
    let values = params![
        c.id.as_uuid(),
        c.org_id.as_str(),
        name_of(&c.platform)?,
        c.name,
        c.idempotency_key,
        to_json(&c.metadata)?,
        nanos(c.created_at)?,
        nanos(c.updated_at)?,
    ];
    execute(tx, sql, values).map_err(insert_failed(format!("conversation {}", c.id), c.id))?;
    Ok(())
}

pub(crate) fn insert_participant(tx: &Connection, p: &Participant) -> StoreResult<()> {
    let sql = concat!(
        "INSERT INTO participants (",
        participant_columns!(),
        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
    );
    let values = params![
        p.id.as_uuid(),
        p.conversation_id.as_uuid(),
        p.org_id.as_str(),
        name_of(&p.kind)?,
        p.name,
        p.email,
        p.external_id,
        p.internal_id,
        p.browser_fingerprint,
        nanos(p.created_at)?,
    ];
    execute(tx, sql, values).map_err(insert_failed(
        format!("participant {}", p.id),
        p.conversation_id,
    ))?;
    Ok(())
}

fn insert_session(tx: &Connection, s: &Session) -> StoreResult<()> {
    let sql = concat!(
        "INSERT INTO sessions (",
        session_columns!(),
        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
    );
    let values = params![
        s.id.as_uuid(),
        s.conversation_id.as_uuid(),
        s.org_id.as_str(),
        s.agent_id.as_str(),
        s.agent_name,
        s.user_participant_id.as_uuid(),
        s.agent_participant_id.as_uuid(),
        name_of(&s.status)?,
        to_json(&s.supports)?,
        to_json(&s.metadata)?,
        nanos(s.created_at)?,
        nanos(s.updated_at)?,
    ];
    execute(tx, sql, values).map_err(insert_failed(
        format!("session {}", s.id),
        s.conversation_id,
    ))?;
    Ok(())
}
