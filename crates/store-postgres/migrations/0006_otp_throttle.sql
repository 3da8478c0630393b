-- One-time-code throttle: a counter per key (a destination or client address and
-- its time window, hashed), shared by every replica. Rows whose time is up are
-- swept by the writes themselves.
CREATE TABLE otp_throttle (
    key           TEXT PRIMARY KEY,
    count         BIGINT NOT NULL CHECK (count > 0),
    expires_at_ns BIGINT NOT NULL
);

CREATE INDEX otp_throttle_expiry ON otp_throttle (expires_at_ns);
