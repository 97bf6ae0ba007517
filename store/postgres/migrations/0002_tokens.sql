-- Version 2: API tokens (by the hash of their secret, never the secret)
-- and enrollment claims.

CREATE TABLE tokens (
	id         text COLLATE "C" PRIMARY KEY,
	hash       bytea NOT NULL UNIQUE,
	kind       text COLLATE "C" NOT NULL,
	host       text COLLATE "C",
	revoked    boolean NOT NULL,
	data       jsonb NOT NULL
);
-- Live host tokens by host: enrollment revokes a host's earlier tokens
-- without a scan of every token.
CREATE INDEX tokens_live_host ON tokens (host) WHERE kind = 'host' AND NOT revoked;

CREATE TABLE enrollments (
	host text COLLATE "C" PRIMARY KEY,
	data jsonb NOT NULL
);
