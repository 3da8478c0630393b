//! Agent turns: the LLM client, tools, the turn state machine and the offline
//! responder.

pub mod config;
pub mod http;
pub mod llm;
pub mod offline;
pub mod runtime;
pub mod tools;
pub mod turn;

pub use config::AgentFile;
pub use runtime::{AgentRuntime, BusyGuard, RuntimeSettings, TurnRequest};
