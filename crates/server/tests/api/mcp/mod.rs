//! Model Context Protocol: agents using real MCP servers' tools (`tools`), and MCP
//! clients asking Switchboard's agents at `/mcp` (`endpoint`).

mod endpoint;
mod harness;
mod tools;
