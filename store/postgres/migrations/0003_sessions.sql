-- Version 3: web console sessions (by the hash of their ID) and the
-- fingerprint of the urgency rules the stored findings were evaluated with
-- (kept in meta, no table needed).

CREATE TABLE console_sessions (
	hash     bytea PRIMARY KEY,
	token_id text COLLATE "C" NOT NULL,
	expires  timestamptz NOT NULL,
	data     jsonb NOT NULL
);
-- Revoking a token ends its sessions without a scan.
CREATE INDEX console_sessions_token ON console_sessions (token_id);
