-- Shared presence (issue 22): each node's agents connected over IMAP,
-- written by the node every heartbeat outside the change feed. A row not
-- renewed for three heartbeats is a dead node's and ignored; any node
-- deletes rows older than a minute.
CREATE TABLE presence (
	node        text        NOT NULL,
	login       text        NOT NULL,
	connections integer     NOT NULL,
	seen_at     timestamptz NOT NULL,
	PRIMARY KEY (node, login)
);
CREATE INDEX presence_login ON presence (login, seen_at);
