//! End-to-end tests of the server over real WebSockets. Every event received is
//! checked against the protocol's JSON Schemas by the test client.

mod admin;
mod admin_connectors;
mod admin_conversations;
mod admin_documents;
mod admin_openapi;
mod admin_publish;
mod admin_settings;
mod agent_ids;
mod agents;
mod approval;
mod auth;
mod auth_jwks;
mod auth_jwt;
mod binary;
mod browser;
mod cli;
mod cli_ingest;
mod conversations;
mod crash;
#[cfg(feature = "dynamodb")]
mod dynamodb;
mod gateway_failures;
mod handoff;
mod indexing;
mod interactions;
mod knowledge;
mod knowledge_postgres;
mod knowledge_sqlite;
mod limits;
mod logs;
mod mcp;
mod messages;
mod observability;
mod offline;
mod otp;
mod python_client;
mod python_venv;
mod replicas;
mod resumable;
mod sessions;
mod shutdown;
mod slow_requests;
#[cfg(feature = "sqlite")]
mod sqlite;
mod storage_limits;
mod tenancy;
mod tool_endpoint;
mod tools;
mod transport;
mod turns;
mod widget;
