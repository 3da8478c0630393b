//! Agent turns: the LLM client, tools, the turn state machine and the offline
//! responder.

pub mod config;
pub mod contact;
pub mod handoff;
pub mod http;
pub mod interactions;
pub mod llm;
pub mod mcp;
pub mod observe;
pub mod offline;
pub mod otp;
pub mod phone;
pub mod runtime;
pub mod skills;
pub mod tools;
pub mod turn;
pub mod workflow;

pub use config::AgentFile;
pub use runtime::{AgentRuntime, BusyGuard, RuntimeParts, RuntimeSettings, TurnRequest};
