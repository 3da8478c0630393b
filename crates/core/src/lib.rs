//! Switchboard's domain: conversations, participants, messages and sessions, the
//! [`Store`] seam every backend implements (with the in-memory store), and the
//! cross-replica [`Bus`] seam (with the in-process bus).
//!
//! No network dependencies live here; backends that need them have their own crates.

pub mod backplane;
pub mod handoff;
pub mod ids;
pub mod model;
pub mod store;
pub mod title;

pub use backplane::{Bus, BusError, MemoryBus, Target};
pub use handoff::{
    Handoff, HandoffCursor, HandoffPage, HandoffQuery, HandoffStatus, HandoffTrigger,
    MAX_HANDOFFS_PAGE, Operator,
};
pub use ids::*;
pub use model::*;
pub use store::{
    ActivityCursor, ConversationCursor, ConversationPage, ConversationQuery, ConversationSearch,
    ConversationSummary, ConversationSummaryPage, ConversationUpdate, IndexingRunQuery,
    LeaseVerdict, MAX_CONVERSATIONS_PAGE, MessagePage, MessageQuery, NewSession, Order,
    OrgConversationQuery, Owner, QuotaCharge, QuotaVerdict, SearchTooLong, SessionUpdate, Store,
    StoreError, StoreResult, memory::MemoryStore,
};
