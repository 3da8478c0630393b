//! End-to-end tests of the server over real WebSockets. Every event received is
//! checked against the protocol's JSON Schemas by the test client.

mod binary;
mod conversations;
mod gateway_failures;
mod messages;
mod sessions;
mod shutdown;
mod transport;
mod turns;
