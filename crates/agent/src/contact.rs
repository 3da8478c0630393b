//! A session's contact details and identity verification, kept in its metadata
//! so they survive reconnects, restarts and replica hops.

use serde_json::{Map, Value};
use switchboard_core::{Session, SessionId, SessionUpdate, Store, StoreResult};

pub const USER_NAME: &str = "userName";
pub const CONTACT_EMAIL: &str = "contactEmail";
pub const CONTACT_PHONE: &str = "contactPhone";
pub const OTP_VERIFIED: &str = "otpVerified";

/// Whether the session proved its identity with a one-time code.
pub fn is_verified(session: &Session) -> bool {
    session.metadata.get(OTP_VERIFIED) == Some(&Value::Bool(true))
}

pub fn email(session: &Session) -> Option<String> {
    text(session, CONTACT_EMAIL)
}

pub fn phone(session: &Session) -> Option<String> {
    text(session, CONTACT_PHONE)
}

fn text(session: &Session, key: &str) -> Option<String> {
    session
        .metadata
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Records validated identity values (`name`, `email`, `phone`) as the session's
/// contact. Changing the email or phone undoes an earlier verification: it was
/// proof of the old contact.
pub async fn attach_identity(
    store: &dyn Store,
    session: SessionId,
    values: &Map<String, Value>,
) -> StoreResult<()> {
    let Some(current) = store.get_session(session).await? else {
        return Ok(());
    };
    let mut metadata = current.metadata.clone();
    for (field, key) in [
        ("name", USER_NAME),
        ("email", CONTACT_EMAIL),
        ("phone", CONTACT_PHONE),
    ] {
        if let Some(value) = values.get(field).and_then(Value::as_str) {
            if key != USER_NAME && metadata.get(key).and_then(Value::as_str) != Some(value) {
                metadata.remove(OTP_VERIFIED);
            }
            metadata.insert(key.to_owned(), Value::String(value.to_owned()));
        }
    }
    if metadata != current.metadata {
        store
            .update_session(
                session,
                SessionUpdate {
                    metadata: Some(metadata),
                    ..Default::default()
                },
            )
            .await?;
    }
    Ok(())
}
