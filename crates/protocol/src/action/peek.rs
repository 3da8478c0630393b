//! Reading a frame's `requestId` alone, for frames refused without being decoded.

use serde::Deserializer;
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// The `requestId` of a frame, read without decoding the rest: other fields are
/// skipped without being built, so a refused frame (one over the rate limit) costs
/// one pass over its text and no allocation beyond the id.
///
/// `None` unless the text is a JSON object whose `requestId` is a string (the last
/// one, when the key repeats), as [`crate::decode_frame`] reads it. Skipped values
/// are walked without recursion, so nesting too deep for the decoder still yields
/// the id here, at no cost in stack.
pub fn peek_request_id(text: &str) -> Option<String> {
    let mut de = serde_json::Deserializer::from_str(text);
    let id = de.deserialize_map(FrameId).ok()?;
    de.end().ok()?;
    id
}

/// Visits the top-level object, keeping only `requestId`.
struct FrameId;

impl<'de> Visitor<'de> for FrameId {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut id = None;
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::RequestId => id = map.next_value::<StringOrNone>()?.0,
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(id)
    }
}

/// A field name, compared without being copied.
enum Key {
    RequestId,
    Other,
}

impl<'de> de::Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
                Ok(if key == "requestId" {
                    Key::RequestId
                } else {
                    Key::Other
                })
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// A string value, or `None` for a value of any other type (which is skipped).
struct StringOrNone(Option<String>);

impl<'de> de::Deserialize<'de> for StringOrNone {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StringOrNoneVisitor)
    }
}

struct StringOrNoneVisitor;

impl<'de> Visitor<'de> for StringOrNoneVisitor {
    type Value = StringOrNone;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(StringOrNone(Some(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(StringOrNone(Some(v)))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(StringOrNone(None))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(StringOrNone(None))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(StringOrNone(None))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(StringOrNone(None))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(StringOrNone(None))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(StringOrNone(None))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(StringOrNone(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_string_request_id_of_an_object_counts() {
        let cases = [
            (r#"{"action":"ping","requestId":"r1"}"#, Some("r1")),
            (r#"{"requestId":"a\"b","x":[1,{"y":null}]}"#, Some("a\"b")),
            (r#"{"requestId":"first","requestId":"last"}"#, Some("last")),
            (r#"{"requestId":7}"#, None),
            (r#"{"requestId":"r","requestId":null}"#, None),
            (r#"["r1"]"#, None),
            (r#""r1""#, None),
            (r#"{"requestId":"r1"} trailing"#, None),
            (r#"{"requestId":"r1""#, None),
            ("", None),
        ];
        for (text, id) in cases {
            assert_eq!(peek_request_id(text).as_deref(), id, "{text}");
        }
    }
}
