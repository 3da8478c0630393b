-- Everything the Store trait keeps, as on PostgreSQL (crates/store-postgres): the
-- conversations, participants, sessions and messages; parked turns and one-time-code
-- challenges and throttles; organisation settings; knowledge connectors and their
-- indexing runs; quota counters.
--
-- Timestamps are INTEGER nanoseconds since the Unix epoch (UTC), so a record reads
-- back exactly as written. Ids are 16-byte BLOB UUIDs. Enumerations are TEXT holding
-- their wire names ('web', 'inbound', 'ai-agent', ...). JSON values (metadata, lists)
-- are TEXT. Every table is STRICT: a value of the wrong type is an error, not a
-- silent conversion.

CREATE TABLE conversations (
    id              BLOB PRIMARY KEY,
    org_id          TEXT NOT NULL,
    platform        TEXT NOT NULL,
    name            TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    metadata        TEXT NOT NULL,
    created_at_ns   INTEGER NOT NULL,
    updated_at_ns   INTEGER NOT NULL,
    -- Kept by the trigger below in the statement that appends a message, so listing
    -- a sidebar does not count every conversation's messages.
    message_count   INTEGER NOT NULL DEFAULT 0
) STRICT;

-- list_conversations: an organisation's non-empty conversations, most recent first.
CREATE INDEX conversations_org_recent
    ON conversations (org_id, updated_at_ns DESC, id DESC)
    WHERE message_count > 0;
-- list_org_conversations: every conversation of an organisation, newest first.
CREATE INDEX conversations_org_created ON conversations (org_id, created_at_ns DESC, id DESC);

CREATE TABLE participants (
    -- Join order.
    seq                 INTEGER PRIMARY KEY,
    id                  BLOB NOT NULL UNIQUE,
    conversation_id     BLOB NOT NULL REFERENCES conversations (id),
    org_id              TEXT NOT NULL,
    kind                TEXT NOT NULL,
    name                TEXT NOT NULL,
    email               TEXT,
    external_id         TEXT,
    internal_id         TEXT,
    browser_fingerprint TEXT,
    created_at_ns       INTEGER NOT NULL
) STRICT;

CREATE INDEX participants_by_conversation ON participants (conversation_id, seq);
-- Conversations a verified user owns (both conversation listings filter on it).
CREATE INDEX participants_by_owner ON participants (org_id, external_id)
    WHERE kind = 'user' AND external_id IS NOT NULL;

CREATE TABLE sessions (
    id                   BLOB PRIMARY KEY,
    conversation_id      BLOB NOT NULL REFERENCES conversations (id),
    org_id               TEXT NOT NULL,
    agent_id             TEXT NOT NULL,
    agent_name           TEXT NOT NULL,
    user_participant_id  BLOB NOT NULL,
    agent_participant_id BLOB NOT NULL,
    status               TEXT NOT NULL,
    -- A JSON array of strings.
    supports             TEXT NOT NULL,
    metadata             TEXT NOT NULL,
    created_at_ns        INTEGER NOT NULL,
    updated_at_ns        INTEGER NOT NULL
) STRICT;

CREATE TABLE messages (
    -- Append order: the pagination key. Every write goes through one connection,
    -- so seq order is commit order. Messages are never deleted, so a seq is never
    -- reused.
    seq             INTEGER PRIMARY KEY,
    id              BLOB NOT NULL UNIQUE,
    conversation_id BLOB NOT NULL REFERENCES conversations (id),
    org_id          TEXT NOT NULL,
    direction       TEXT NOT NULL,
    text            TEXT NOT NULL,
    created_at_ns   INTEGER NOT NULL
) STRICT;

-- list_messages: keyset pages in either direction.
CREATE INDEX messages_by_conversation ON messages (conversation_id, seq);
-- list_conversations: the first thing the user said.
CREATE INDEX messages_first_inbound ON messages (conversation_id, seq)
    WHERE direction = 'inbound';

-- An appended message bumps its conversation in the same statement.
CREATE TRIGGER messages_bump_conversation AFTER INSERT ON messages
BEGIN
    UPDATE conversations
       SET message_count = message_count + 1,
           updated_at_ns = MAX(updated_at_ns, NEW.created_at_ns)
     WHERE id = NEW.conversation_id;
END;

-- At most one per session; no foreign key, as the memory store requires no session.
CREATE TABLE parked_turns (
    session_id    BLOB PRIMARY KEY,
    id            BLOB NOT NULL,
    request_id    TEXT NOT NULL,
    state         TEXT NOT NULL,
    created_at_ns INTEGER NOT NULL,
    expires_at_ns INTEGER NOT NULL
) STRICT;

-- The server's sweeper deletes parked turns whose turn is gone once they expire.
CREATE INDEX parked_turns_by_expiry ON parked_turns (expires_at_ns);

-- At most one per session.
CREATE TABLE otp_challenges (
    session_id    BLOB PRIMARY KEY,
    code_hash     TEXT NOT NULL,
    salt          TEXT NOT NULL,
    channel       TEXT NOT NULL,
    destination   TEXT NOT NULL,
    attempts_left INTEGER NOT NULL CHECK (attempts_left >= 0),
    created_at_ns INTEGER NOT NULL,
    expires_at_ns INTEGER NOT NULL
) STRICT;

-- One-time-code throttle: a counter per key (a destination or client address and
-- its time window, hashed). Rows whose time is up are swept by the writes themselves.
CREATE TABLE otp_throttle (
    key           TEXT PRIMARY KEY,
    count         INTEGER NOT NULL CHECK (count > 0),
    expires_at_ns INTEGER NOT NULL
) STRICT;

CREATE INDEX otp_throttle_expiry ON otp_throttle (expires_at_ns);

CREATE TABLE org_settings (
    org_id        TEXT PRIMARY KEY,
    persona       TEXT,
    model         TEXT,
    system_prompt TEXT,
    -- A JSON array of strings.
    default_tools TEXT NOT NULL,
    updated_at_ns INTEGER
) STRICT;

CREATE TABLE connectors (
    id            BLOB PRIMARY KEY,
    org_id        TEXT NOT NULL,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    -- The kind's settings. Names of secrets only, never secrets.
    config        TEXT NOT NULL,
    enabled       INTEGER NOT NULL,
    created_at_ns INTEGER NOT NULL,
    updated_at_ns INTEGER NOT NULL,
    UNIQUE (org_id, name)
) STRICT;

-- No foreign key to connectors: a run's record outlives its connector.
CREATE TABLE indexing_runs (
    id                BLOB PRIMARY KEY,
    org_id            TEXT NOT NULL,
    connector_id      BLOB NOT NULL,
    connector_name    TEXT NOT NULL,
    status            TEXT NOT NULL,
    started_at_ns     INTEGER NOT NULL,
    finished_at_ns    INTEGER,
    documents_seen    INTEGER NOT NULL,
    chunks_indexed    INTEGER NOT NULL,
    documents_skipped INTEGER NOT NULL,
    documents_removed INTEGER NOT NULL,
    error             TEXT
) STRICT;

-- list_indexing_runs: an organisation's (or one connector's) most recent runs.
CREATE INDEX indexing_runs_recent ON indexing_runs (org_id, started_at_ns DESC, id DESC);
CREATE INDEX indexing_runs_by_connector
    ON indexing_runs (org_id, connector_id, started_at_ns DESC, id DESC);

-- Quota counters (sessions an hour, bytes stored a day): one row per subject and
-- window, the window being part of the key, so a new window starts from zero.
CREATE TABLE quota_counters (
    key           TEXT PRIMARY KEY,
    used          INTEGER NOT NULL CHECK (used >= 0),
    expires_at_ns INTEGER NOT NULL
) STRICT;

CREATE INDEX quota_counters_by_expiry ON quota_counters (expires_at_ns);
