-- The first schema of mxdesk's PostgreSQL store. Each record is kept whole
-- as JSON (data, the store package's struct) beside the columns that are
-- indexed or looked up; the columns are written from the same struct in
-- the same statement, so they never disagree.

-- UIDVALIDITY: store-wide, starting at the time the schema was made, so a
-- name reused for a new mailbox never gets an old value (RFC 3501 2.3.1.1).
CREATE SEQUENCE uid_validity AS bigint MAXVALUE 4294967295;
SELECT setval('uid_validity', extract(epoch FROM now())::bigint);

CREATE TABLE mailboxes (
	id       bigserial PRIMARY KEY,
	owner    text   NOT NULL,
	name     text   NOT NULL,
	uid_next bigint NOT NULL, -- the row lock on it orders a mailbox's UIDs
	data     jsonb  NOT NULL,
	UNIQUE (owner, name)
);

CREATE TABLE blobs (
	id   bigserial PRIMARY KEY,
	refs integer NOT NULL,
	data bytea   NOT NULL
);

CREATE TABLE messages (
	mailbox bigint NOT NULL REFERENCES mailboxes (id),
	uid     bigint NOT NULL,
	blob    bigint NOT NULL REFERENCES blobs (id),
	session text   NOT NULL,
	data    jsonb  NOT NULL,
	PRIMARY KEY (mailbox, uid)
);
CREATE INDEX messages_session ON messages (session) WHERE session <> '';

CREATE TABLE sessions (
	id            text PRIMARY KEY,
	queue         text NOT NULL,
	status        text NOT NULL,
	status_since  timestamptz,
	due           timestamptz,
	waiting_since timestamptz,
	active_agent  text NOT NULL,
	data          jsonb NOT NULL
);
CREATE INDEX sessions_due ON sessions (due, id) WHERE due IS NOT NULL;
CREATE INDEX sessions_waiting ON sessions (queue, waiting_since, id) WHERE waiting_since IS NOT NULL;
CREATE INDEX sessions_active ON sessions (active_agent, id) WHERE active_agent <> '';
CREATE INDEX sessions_status_since ON sessions (status, status_since, id) WHERE status_since IS NOT NULL;

-- Tokens and Message-IDs outlive their session: they lead to the archived
-- record once it is deleted.
CREATE TABLE tokens (
	token   text PRIMARY KEY,
	session text NOT NULL
);
CREATE TABLE message_ids (
	message_id text PRIMARY KEY,
	session    text NOT NULL
);

CREATE TABLE events (
	seq     bigserial PRIMARY KEY,
	session text  NOT NULL,
	data    jsonb NOT NULL
);
CREATE INDEX events_session ON events (session, seq);

CREATE TABLE outbound (
	id           bigserial PRIMARY KEY,
	session      text        NOT NULL,
	next_attempt timestamptz NOT NULL,
	blob         bigint      NOT NULL REFERENCES blobs (id),
	data         jsonb       NOT NULL
);
CREATE INDEX outbound_next_attempt ON outbound (next_attempt, id);
CREATE INDEX outbound_session ON outbound (session);

CREATE TABLE agent_states (
	login text PRIMARY KEY,
	data  jsonb NOT NULL
);

CREATE TABLE auto_mail (
	address    text PRIMARY KEY,
	expires_at timestamptz, -- NULL: kept
	data       jsonb NOT NULL
);

CREATE TABLE quarantine (
	id   bigserial PRIMARY KEY,
	blob bigint NOT NULL REFERENCES blobs (id),
	data jsonb  NOT NULL
);

CREATE TABLE archived (
	id   text PRIMARY KEY,
	data jsonb NOT NULL
);

-- A session's CRM events form a line in id order; its head is the live
-- (not dead) event of lowest id.
CREATE TABLE hooks (
	id           bigserial PRIMARY KEY,
	session      text        NOT NULL,
	dead         boolean     NOT NULL,
	next_attempt timestamptz NOT NULL,
	data         jsonb       NOT NULL
);
CREATE INDEX hooks_line ON hooks (session, id) WHERE NOT dead;

CREATE TABLE import_states (
	account text PRIMARY KEY,
	data    jsonb NOT NULL
);

CREATE TABLE subscriptions (
	owner text NOT NULL,
	name  text NOT NULL,
	PRIMARY KEY (owner, name)
);

CREATE TABLE sent_copies (
	seq      bigserial PRIMARY KEY,
	account  text   NOT NULL,
	outbound bigint NOT NULL,
	blob     bigint NOT NULL REFERENCES blobs (id),
	UNIQUE (account, outbound)
);

-- The change feed: every committed batch of changes under a commit
-- sequence given while holding the feed lock, so seq order is commit
-- order; NOTIFY mxdesk_changes carries the seq.
CREATE TABLE changes (
	seq  bigserial PRIMARY KEY,
	at   timestamptz NOT NULL DEFAULT now(),
	data jsonb NOT NULL
);
