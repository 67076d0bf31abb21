-- The change feed across nodes (feed.go): each batch names the node that
-- wrote it, so a node can tell its own from others'; the changes table is
-- pruned by age and row count (changes_at serves the age bound), and
-- changes_pruned remembers the highest seq pruned, so a node that was away
-- longer than that knows it missed batches.
ALTER TABLE changes ADD COLUMN node text NOT NULL DEFAULT '';
CREATE INDEX changes_at ON changes (at);
CREATE TABLE changes_pruned (upto bigint NOT NULL);
INSERT INTO changes_pruned (upto) VALUES (0);
