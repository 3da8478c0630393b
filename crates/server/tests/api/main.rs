//! End-to-end tests of the server over real WebSockets. Every event received is
//! checked against the protocol's JSON Schemas by the test client.

mod agents;
mod approval;
mod auth;
mod binary;
mod conversations;
mod crash;
mod gateway_failures;
mod interactions;
mod knowledge;
mod limits;
mod messages;
mod offline;
mod otp;
mod sessions;
mod shutdown;
mod tool_endpoint;
mod tools;
mod transport;
mod turns;
