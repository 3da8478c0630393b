-- Human handoff: each conversation's handoff record (who answers it, the agent or a
-- person) and the sender of an operator's messages.
--
-- The record is kept whole in `body` (JSON text); the columns beside it are what
-- the queue is read by and what the compare-and-set compares.
CREATE TABLE handoffs (
    conversation_id BLOB PRIMARY KEY REFERENCES conversations (id),
    org_id          TEXT NOT NULL,
    status          TEXT NOT NULL,
    version         INTEGER NOT NULL,
    queued_at_ns    INTEGER NOT NULL,
    body            TEXT NOT NULL
) STRICT;

-- list_handoffs: an organisation's queue (or live handoffs), oldest first.
CREATE INDEX handoffs_queue ON handoffs (org_id, status, queued_at_ns, conversation_id);

-- The participant who wrote a message, when direction does not say it (an operator).
ALTER TABLE messages ADD COLUMN sender BLOB;
