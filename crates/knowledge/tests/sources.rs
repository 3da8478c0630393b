//! The source connectors against real folders and real local HTTP servers.

mod sources {
    pub mod files;
    pub mod github;
    pub mod helpers;
    pub mod site;
    pub mod web;
}
