-- Bounds on what callers can make the store keep.

-- The server's sweeper deletes parked turns whose turn is gone once they expire.
CREATE INDEX parked_turns_by_expiry ON parked_turns (expires_at_ns);

-- Quota counters (sessions an hour, bytes stored a day): one row per subject and
-- window, the window being part of the key, so a new window starts from zero.
CREATE TABLE quota_counters (
    key           TEXT PRIMARY KEY,
    used          BIGINT NOT NULL CHECK (used >= 0),
    expires_at_ns BIGINT NOT NULL
);

CREATE INDEX quota_counters_by_expiry ON quota_counters (expires_at_ns);
