-- Leases: one holder of a named piece of work (an indexing run of one source) at a
-- time across replicas. Times are the database's own clock, so replicas whose
-- clocks disagree still agree on who holds what.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
