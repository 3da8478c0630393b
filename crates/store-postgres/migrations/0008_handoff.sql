-- Human handoff: each conversation's handoff record (who answers it, the agent or a
-- person) and the sender of an operator's messages.
--
-- The record is kept whole in `body` (JSON); the columns beside it are what the
-- queue is read by and what the compare-and-set compares.
CREATE TABLE handoffs (
    conversation_id UUID PRIMARY KEY REFERENCES conversations (id),
    org_id          TEXT NOT NULL,
    status          TEXT NOT NULL,
    version         BIGINT NOT NULL,
    queued_at_ns    BIGINT NOT NULL,
    body            JSONB NOT NULL
);

-- list_handoffs: an organisation's queue (or live handoffs), oldest first.
CREATE INDEX handoffs_queue ON handoffs (org_id, status, queued_at_ns, conversation_id);

-- The participant who wrote a message, when direction does not say it (an operator).
ALTER TABLE messages ADD COLUMN sender UUID;
