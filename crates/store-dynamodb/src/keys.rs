//! The single-table key layout. Every item has a partition key `pk` and a sort key
//! `sk`; two sparse global indexes list an organisation's conversations.
//!
//! | item | pk | sk |
//! |---|---|---|
//! | conversation | `CONV#<id>` | `#META` |
//! | participant | `CONV#<conv>` | `PART#<joined ns>#<n>#<id>` |
//! | message | `CONV#<conv>` | `MSG#<seq>` (seq from the conversation's counter) |
//! | message id → position | `MSG#<id>` | `#` |
//! | session | `SESS#<id>` | `#` |
//! | parked turn, OTP challenge | `SESS#<id>` | `PARK`, `OTP` |
//! | park expiry marker (bounds.rs) | `PARKEXP` | `<expires ns>#<session>#<park>` |
//! | quota counter (bounds.rs) | `QUOTA#<key>` | `#` |
//! | settings, connector, name claim, run | `ORG#<org>` | `SETTINGS`, `CONNECTOR#<id>`, `CONNNAME#<name>`, `RUN#<started ns>#<id>` |
//! | one-time-code throttle counter | `OTPTHROTTLE#<key>` | `#` |
//! | lease (lease.rs) | `LEASE#<name>` | `#` |
//! | connector id, run id claims | `CONNECTOR#<id>`, `RUN#<id>` | `#` |
//! | knowledge: generation, embedder, sources, leases | `KNOW` | `GEN`, `SIG`, `SRC#<source>`, `LOCK#<source>` |
//! | knowledge: documents and chunks | `KSRC#<source>` | `DOC#<id>`, `CHUNK#<version>#<n>` |
//!
//! Index `gsi1` (`gsi1pk = ORG#<org>`, `gsi1sk = <updated ns>#<id>`) holds only
//! conversations with messages, most recently updated last; `gsi2` (`gsi2pk =
//! ORG#<org>`, `gsi2sk = <created ns>#<id>`) holds every conversation by creation.
//! Numbers in sort keys are zero-padded to 20 digits so text order is number order.

use chrono::{DateTime, Utc};
use switchboard_core::*;

pub(crate) const PK: &str = "pk";
pub(crate) const SK: &str = "sk";
pub(crate) const GSI1: &str = "gsi1";
pub(crate) const GSI1PK: &str = "gsi1pk";
pub(crate) const GSI1SK: &str = "gsi1sk";
pub(crate) const GSI2: &str = "gsi2";
pub(crate) const GSI2PK: &str = "gsi2pk";
pub(crate) const GSI2SK: &str = "gsi2sk";

/// The sort key of an item that is alone in its partition.
pub(crate) const ONLY: &str = "#";
pub(crate) const META: &str = "#META";

/// `n` zero-padded so that text order is numeric order.
pub(crate) fn pad(n: u64) -> String {
    format!("{n:020}")
}

/// Nanoseconds since the epoch; times before 1970 sort as 1970.
pub(crate) fn nanos(at: DateTime<Utc>) -> u64 {
    at.timestamp_nanos_opt()
        .map_or(0, |n| u64::try_from(n).unwrap_or(0))
}

pub(crate) fn conversation(id: ConversationId) -> String {
    format!("CONV#{id}")
}

pub(crate) fn participant(p: &Participant, n: usize) -> String {
    format!("PART#{}#{n:04}#{}", pad(nanos(p.created_at)), p.id)
}

pub(crate) fn message(seq: u64) -> String {
    format!("MSG#{}", pad(seq))
}

pub(crate) fn message_id(id: MessageId) -> String {
    format!("MSG#{id}")
}

pub(crate) fn session(id: SessionId) -> String {
    format!("SESS#{id}")
}

pub(crate) fn org(org: &OrgId) -> String {
    format!("ORG#{org}")
}

/// An organisation's conversations, in either index, ordered by `at` then id.
pub(crate) fn org_order(at: DateTime<Utc>, id: ConversationId) -> String {
    format!("{}#{id}", pad(nanos(at)))
}

pub(crate) fn connector(id: ConnectorId) -> String {
    format!("CONNECTOR#{id}")
}

pub(crate) fn connector_name(name: &str) -> String {
    format!("CONNNAME#{name}")
}

pub(crate) fn run(run: &IndexingRun) -> String {
    format!("RUN#{}#{}", pad(nanos(run.started_at)), run.id)
}

pub(crate) fn run_id(id: IndexingRunId) -> String {
    format!("RUN#{id}")
}

pub(crate) fn otp_throttle(key: &str) -> String {
    format!("OTPTHROTTLE#{key}")
}
