//! Agent turns: the LLM client, tools, the turn state machine and the offline
//! responder.

pub mod llm;
