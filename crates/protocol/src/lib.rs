//! Wire types of the smooth-operator WebSocket protocol.
//!
//! Inbound frames are decoded exactly once, by [`decode_frame`], into an [`Action`].
//! Outbound frames are [`Event`] values, serialized in one place ([`Event::to_json`]).
//! Shapes follow the JSON Schemas in `spec/`; the test suite validates every event it
//! receives against them.

mod action;
mod error;
mod event;

pub use action::*;
pub use error::{DecodeError, ErrorCode};
pub use event::*;

/// Milliseconds since the Unix epoch, the protocol's timestamp unit.
pub fn now_ms() -> i64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
