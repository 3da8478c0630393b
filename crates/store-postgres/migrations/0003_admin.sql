-- What the admin API keeps: knowledge connectors and their indexing runs, and the
-- indexes behind its conversation listings.
-- Timestamps are BIGINT nanoseconds since the Unix epoch (UTC), as in 0001.

CREATE TABLE connectors (
    id            UUID PRIMARY KEY,
    org_id        TEXT NOT NULL,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    -- The kind's settings. Names of secrets only, never secrets.
    config        JSONB NOT NULL,
    enabled       BOOLEAN NOT NULL,
    created_at_ns BIGINT NOT NULL,
    updated_at_ns BIGINT NOT NULL,
    UNIQUE (org_id, name)
);

-- No foreign key to connectors: a run's record outlives its connector.
CREATE TABLE indexing_runs (
    id                UUID PRIMARY KEY,
    org_id            TEXT NOT NULL,
    connector_id      UUID NOT NULL,
    connector_name    TEXT NOT NULL,
    status            TEXT NOT NULL,
    started_at_ns     BIGINT NOT NULL,
    finished_at_ns    BIGINT,
    documents_seen    BIGINT NOT NULL,
    chunks_indexed    BIGINT NOT NULL,
    documents_skipped BIGINT NOT NULL,
    documents_removed BIGINT NOT NULL,
    error             TEXT
);

-- list_indexing_runs: an organisation's (or one connector's) most recent runs.
CREATE INDEX indexing_runs_recent ON indexing_runs (org_id, started_at_ns DESC, id DESC);
CREATE INDEX indexing_runs_by_connector
    ON indexing_runs (org_id, connector_id, started_at_ns DESC, id DESC);

-- list_org_conversations: every conversation of an organisation, newest first.
CREATE INDEX conversations_org_created ON conversations (org_id, created_at_ns DESC, id DESC);

-- Conversations a verified user owns (both conversation listings filter on it).
CREATE INDEX participants_by_owner ON participants (org_id, external_id)
    WHERE kind = 'user' AND external_id IS NOT NULL;
