//! Leases: one holder of a named piece of work at a time (an indexing run of one
//! source), across every server sharing the store. A holder that dies stops
//! renewing, and its lease lapses after its time to live.

/// What [`crate::Store::acquire_lease`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseVerdict {
    /// The caller holds the lease (taken now, or renewed) for the time asked.
    Granted,
    /// Someone else holds it, and their time is not up.
    Held { holder: String },
}
