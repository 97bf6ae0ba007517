-- patchwatch PostgreSQL schema, version 1: the bbolt layout (store/) as
-- tables. Text keys sort bytewise (COLLATE "C"), as bbolt's keys do. Records the service reads whole stay JSON (jsonb), as in bbolt;
-- what is looked up or ordered by is a column with an index.

CREATE TABLE meta (
	key   text COLLATE "C" PRIMARY KEY,
	value bytea NOT NULL
);

CREATE TABLE advisories (
	id     text COLLATE "C" PRIMARY KEY,
	digest bytea NOT NULL, -- sha256 of the encoded advisory: an identical copy changes nothing
	data   jsonb NOT NULL
);

-- The fix index: which advisories fix a package on a release.
CREATE TABLE fixes (
	release  text COLLATE "C" NOT NULL,
	package  text COLLATE "C" NOT NULL,
	advisory text COLLATE "C" NOT NULL REFERENCES advisories (id) ON DELETE CASCADE,
	PRIMARY KEY (release, package, advisory)
);
CREATE INDEX fixes_advisory ON fixes (advisory);

-- json, not jsonb: a host's inventory (~100 KB) is rewritten on every
-- report and read whole; json stores the text as sent, without the
-- conversion jsonb costs, and still answers data->'owner'.
CREATE TABLE hosts (
	name         text COLLATE "C" PRIMARY KEY,
	index_digest bytea,
	data         json NOT NULL
);

-- The host index: which hosts hold a (release, package).
CREATE TABLE host_packages (
	release text COLLATE "C" NOT NULL,
	package text COLLATE "C" NOT NULL,
	host    text COLLATE "C" NOT NULL,
	PRIMARY KEY (release, package, host)
);
CREATE INDEX host_packages_host ON host_packages (host);

-- HostState as JSON: its times keep their nanoseconds, as in bbolt.
CREATE TABLE host_state (
	host text COLLATE "C" PRIMARY KEY,
	data jsonb NOT NULL
);

-- Finding records, open and resolved (the history).
CREATE TABLE findings (
	host     text COLLATE "C" NOT NULL,
	advisory text COLLATE "C" NOT NULL,
	data     jsonb NOT NULL,
	PRIMARY KEY (host, advisory)
);

-- Read models, kept in the transaction that changes a host's findings.
CREATE TABLE host_records (
	name        text COLLATE "C" PRIMARY KEY,
	owner_lower text COLLATE "C" NOT NULL,
	data        jsonb NOT NULL
);
CREATE INDEX host_records_owner ON host_records (owner_lower, name);

-- Open findings' details; also the advisory index (advisory, host).
CREATE TABLE finding_details (
	host     text COLLATE "C" NOT NULL,
	advisory text COLLATE "C" NOT NULL,
	data     jsonb NOT NULL,
	PRIMARY KEY (host, advisory)
);
CREATE INDEX finding_details_advisory ON finding_details (advisory, host);

CREATE TABLE binary_sources (
	release text COLLATE "C" NOT NULL,
	binary_package text COLLATE "C" NOT NULL,
	source  text COLLATE "C" NOT NULL,
	tracks  boolean NOT NULL,
	PRIMARY KEY (release, binary_package, source)
);
CREATE INDEX binary_sources_source ON binary_sources (release, source, binary_package);

CREATE TABLE cursors (
	feed  text COLLATE "C" PRIMARY KEY,
	value bytea NOT NULL
);

CREATE TABLE kev (
	cve  text COLLATE "C" PRIMARY KEY,
	data jsonb NOT NULL
);

CREATE TABLE debian_urgency (
	release text COLLATE "C" NOT NULL,
	package text COLLATE "C" NOT NULL,
	cve     text COLLATE "C" NOT NULL,
	urgency text COLLATE "C" NOT NULL,
	PRIMARY KEY (release, package, cve)
);

CREATE TABLE feed_status (
	feed text COLLATE "C" PRIMARY KEY,
	data jsonb NOT NULL
);

CREATE TABLE silences (
	id   text COLLATE "C" PRIMARY KEY,
	data jsonb NOT NULL
);

-- The notifier's input, queued in the transaction of the change.
CREATE TABLE notify_events (
	seq  bigserial PRIMARY KEY,
	data jsonb NOT NULL
);

CREATE TABLE outbox (
	id         text COLLATE "C" PRIMARY KEY,
	created_at timestamptz NOT NULL,
	next_at    timestamptz NOT NULL,
	failed     boolean NOT NULL,
	data       jsonb NOT NULL
);
CREATE INDEX outbox_due ON outbox (next_at) WHERE NOT failed;

CREATE TABLE notified (
	host     text COLLATE "C" NOT NULL,
	advisory text COLLATE "C" NOT NULL,
	at       bytea NOT NULL, -- time.MarshalBinary, exact to the nanosecond
	PRIMARY KEY (host, advisory)
);

CREATE TABLE notify_meta (
	key   text COLLATE "C" PRIMARY KEY,
	value bytea NOT NULL
);
