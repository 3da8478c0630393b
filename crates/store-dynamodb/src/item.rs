//! Reading and writing item attributes.

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use switchboard_core::{StoreError, StoreResult};

pub(crate) type Item = HashMap<String, AttributeValue>;

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: impl std::fmt::Display) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A JSON document as a string attribute.
pub(crate) fn json<T: Serialize + ?Sized>(value: &T) -> StoreResult<AttributeValue> {
    serde_json::to_string(value)
        .map(AttributeValue::S)
        .map_err(|e| StoreError::Backend(format!("dynamodb: cannot encode a record: {e}")))
}

/// An item's key.
pub(crate) fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([
        (crate::keys::PK.to_owned(), s(pk)),
        (crate::keys::SK.to_owned(), s(sk)),
    ])
}

/// A key plus the record itself, JSON in `body`.
pub(crate) fn with_body<T: Serialize>(
    pk: impl Into<String>,
    sk: impl Into<String>,
    body: &T,
) -> StoreResult<Item> {
    let mut item = key(pk, sk);
    item.insert("body".into(), json(body)?);
    Ok(item)
}

fn malformed(what: &str, name: &str) -> StoreError {
    StoreError::Backend(format!("dynamodb: item attribute '{name}' is {what}"))
}

/// Typed reads of an item's attributes.
pub(crate) trait Read {
    fn string(&self, name: &str) -> StoreResult<&str>;
    fn number(&self, name: &str) -> StoreResult<u64>;
    /// A JSON string attribute, decoded.
    fn decode<T: DeserializeOwned>(&self, name: &str) -> StoreResult<T>;
    fn body<T: DeserializeOwned>(&self) -> StoreResult<T> {
        self.decode("body")
    }
}

impl Read for Item {
    fn string(&self, name: &str) -> StoreResult<&str> {
        match self.get(name) {
            Some(AttributeValue::S(text)) => Ok(text),
            Some(_) => Err(malformed("not a string", name)),
            None => Err(malformed("missing", name)),
        }
    }

    fn number(&self, name: &str) -> StoreResult<u64> {
        match self.get(name) {
            Some(AttributeValue::N(text)) => text
                .parse()
                .map_err(|_| malformed("not a whole number", name)),
            Some(_) => Err(malformed("not a number", name)),
            None => Err(malformed("missing", name)),
        }
    }

    fn decode<T: DeserializeOwned>(&self, name: &str) -> StoreResult<T> {
        serde_json::from_str(self.string(name)?).map_err(|e| {
            StoreError::Backend(format!("dynamodb: attribute '{name}' is unreadable: {e}"))
        })
    }
}
