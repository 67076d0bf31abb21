-- Mod-sequences (RFC 7162), the public API's tokens and requests, and
-- campaigns, as the store interface gained them.

-- A mailbox's HIGHESTMODSEQ is a column bumped under the row lock, as
-- uid_next is: each append, flag change and expunge takes the next one in
-- its own transaction. Existing mailboxes and messages start at 1 (RFC
-- 7162 3.1: every message has a mod-sequence, at least 1).
ALTER TABLE mailboxes
	ADD COLUMN highest_modseq bigint  NOT NULL DEFAULT 1,
	ADD COLUMN expunged_kept  integer NOT NULL DEFAULT 0,
	ADD COLUMN expunged_floor bigint  NOT NULL DEFAULT 0;
UPDATE messages SET data = jsonb_set(data, '{ModSeq}', '1') WHERE NOT data ? 'ModSeq';

-- Expunged UIDs with the mod-sequence of their expunge (QRESYNC's
-- VANISHED), the oldest forgotten beyond the store's ExpungedKept
-- (the mailbox's expunged_floor then rises to the newest forgotten).
CREATE TABLE expunged (
	mailbox bigint NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
	modseq  bigint NOT NULL,
	uid     bigint NOT NULL,
	PRIMARY KEY (mailbox, modseq)
);

-- The public API's tokens (only the SHA-256 of the secret) and the
-- Message-ID of the mail that queued each request.
CREATE TABLE api_tokens (
	name text PRIMARY KEY,
	hash text  NOT NULL,
	data jsonb NOT NULL
);
CREATE INDEX api_tokens_hash ON api_tokens (hash);
CREATE TABLE requests (
	uri        text PRIMARY KEY,
	message_id text NOT NULL
);

-- Campaigns keep their Counts in data, updated under the campaign's row
-- lock with each recipient row put.
CREATE TABLE campaigns (
	id   bigserial PRIMARY KEY,
	data jsonb NOT NULL
);
CREATE TABLE campaign_rows (
	campaign bigint  NOT NULL REFERENCES campaigns (id),
	row_num  integer NOT NULL,
	session  text    NOT NULL,
	data     jsonb   NOT NULL,
	PRIMARY KEY (campaign, row_num)
);
CREATE INDEX campaign_rows_session ON campaign_rows (session) WHERE session <> '';
CREATE TABLE suppressions (
	address text PRIMARY KEY,
	data    jsonb NOT NULL
);
