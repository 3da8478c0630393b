//! Switchboard's domain: conversations, participants, messages and sessions, the
//! [`Store`] seam every backend implements, and the in-memory store.
//!
//! No network dependencies live here; backends that need them have their own crates.

pub mod ids;
pub mod model;
pub mod store;
pub mod title;

pub use ids::*;
pub use model::*;
pub use store::{
    ConversationCursor, ConversationPage, ConversationQuery, ConversationSummary,
    ConversationUpdate, IndexingRunQuery, MessagePage, MessageQuery, NewSession, Order,
    OrgConversationQuery, SessionUpdate, Store, StoreError, StoreResult, memory::MemoryStore,
};
