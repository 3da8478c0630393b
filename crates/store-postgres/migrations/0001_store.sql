-- Everything the Store trait keeps: conversations, participants, sessions, messages,
-- parked turns, one-time-code challenges and organisation settings.
--
-- Timestamps are BIGINT nanoseconds since the Unix epoch (UTC), so a record reads back
-- exactly as it was written (timestamptz keeps only microseconds). To read one in
-- psql: to_timestamp(created_at_ns / 1e9).
-- Enumerations are TEXT holding their wire names ('web', 'inbound', 'ai-agent', ...).

CREATE TABLE conversations (
    id              UUID PRIMARY KEY,
    org_id          TEXT NOT NULL,
    platform        TEXT NOT NULL,
    name            TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    metadata        JSONB NOT NULL,
    created_at_ns   BIGINT NOT NULL,
    updated_at_ns   BIGINT NOT NULL,
    -- Kept by append_message in the same statement as the insert, so listing a
    -- sidebar does not count every conversation's messages.
    message_count   BIGINT NOT NULL DEFAULT 0
);

-- list_conversations: an organisation's non-empty conversations, most recent first.
CREATE INDEX conversations_org_recent
    ON conversations (org_id, updated_at_ns DESC, id DESC)
    WHERE message_count > 0;

CREATE TABLE participants (
    -- Join order.
    seq                 BIGSERIAL NOT NULL,
    id                  UUID PRIMARY KEY,
    conversation_id     UUID NOT NULL REFERENCES conversations (id),
    org_id              TEXT NOT NULL,
    kind                TEXT NOT NULL,
    name                TEXT NOT NULL,
    email               TEXT,
    external_id         TEXT,
    internal_id         TEXT,
    browser_fingerprint TEXT,
    created_at_ns       BIGINT NOT NULL
);

CREATE INDEX participants_by_conversation ON participants (conversation_id, seq);

CREATE TABLE sessions (
    id                   UUID PRIMARY KEY,
    conversation_id      UUID NOT NULL REFERENCES conversations (id),
    org_id               TEXT NOT NULL,
    agent_id             TEXT NOT NULL,
    agent_name           TEXT NOT NULL,
    user_participant_id  UUID NOT NULL,
    agent_participant_id UUID NOT NULL,
    status               TEXT NOT NULL,
    supports             TEXT[] NOT NULL,
    metadata             JSONB NOT NULL,
    created_at_ns        BIGINT NOT NULL,
    updated_at_ns        BIGINT NOT NULL
);

CREATE TABLE messages (
    -- Append order: the pagination key. Appends to one conversation serialize on its
    -- row (append_message updates it first), so seq order is commit order.
    seq             BIGSERIAL NOT NULL,
    id              UUID PRIMARY KEY,
    conversation_id UUID NOT NULL REFERENCES conversations (id),
    org_id          TEXT NOT NULL,
    direction       TEXT NOT NULL,
    text            TEXT NOT NULL,
    created_at_ns   BIGINT NOT NULL
);

-- list_messages: keyset pages in either direction, and cursor lookups.
CREATE UNIQUE INDEX messages_by_conversation ON messages (conversation_id, seq);
-- list_conversations: the first thing the user said.
CREATE INDEX messages_first_inbound ON messages (conversation_id, seq)
    WHERE direction = 'inbound';

-- At most one per session; no foreign key, as the memory store requires no session.
CREATE TABLE parked_turns (
    session_id    UUID PRIMARY KEY,
    id            UUID NOT NULL,
    request_id    TEXT NOT NULL,
    state         JSONB NOT NULL,
    created_at_ns BIGINT NOT NULL,
    expires_at_ns BIGINT NOT NULL
);

-- At most one per session.
CREATE TABLE otp_challenges (
    session_id    UUID PRIMARY KEY,
    code_hash     TEXT NOT NULL,
    salt          TEXT NOT NULL,
    channel       TEXT NOT NULL,
    destination   TEXT NOT NULL,
    attempts_left BIGINT NOT NULL CHECK (attempts_left >= 0),
    created_at_ns BIGINT NOT NULL,
    expires_at_ns BIGINT NOT NULL
);

CREATE TABLE org_settings (
    org_id        TEXT PRIMARY KEY,
    persona       TEXT,
    model         TEXT,
    system_prompt TEXT,
    default_tools TEXT[] NOT NULL,
    updated_at_ns BIGINT
);
