package pgstore

import (
	"context"
	"strings"
	"testing"

	"mxdesk/store/storetest"
)

// Check finds each kind of damage the schema's constraints let through,
// naming the row; the store as the writer leaves it is clean.
func TestCheckFindsDamage(t *testing.T) {
	p := openTest(t)
	storetest.FillEveryKind(t, p)
	checkClean(t, p)
	for _, c := range []struct {
		name, damage, key, what string
	}{
		{"reference count", `UPDATE blobs SET refs = refs + 1 WHERE id = (SELECT min(id) FROM blobs)`,
			"blobs/", "reference count is 3, records hold 2 references"},
		{"UID not below UIDNEXT", `UPDATE mailboxes SET uid_next = 2 WHERE name = 'Queues/Support'`,
			"messages/", "is not below the mailbox's UIDNEXT 2"},
		{"UIDNEXT below 1", `UPDATE mailboxes SET uid_next = 0 WHERE owner = 'alice'`, "mailboxes/", "UIDNEXT 0 is below 1"},
		{"mod-sequence above the mailbox's", `UPDATE mailboxes SET highest_modseq = 2 WHERE name = 'Queues/Support'`,
			"messages/", "is not in 1..HIGHESTMODSEQ 2"},
		{"expunged above the mailbox's", `UPDATE mailboxes SET highest_modseq = 1 WHERE name = 'Queues/Support'`,
			"expunged/", "mod-sequence is not in (floor 0, HIGHESTMODSEQ 1]"},
		{"expunged count", `UPDATE mailboxes SET expunged_kept = 5 WHERE name = 'Queues/Support'`,
			"mailboxes/", "expunged_kept is 5, 1 expunged UIDs kept"},
		{"mailbox record", `UPDATE mailboxes SET data = jsonb_set(data, '{ID}', '99') WHERE owner = 'alice'`,
			"mailboxes/", "holds mailbox 99"},
		{"message column", `UPDATE messages SET blob = (SELECT max(id) FROM blobs) WHERE mailbox = (SELECT id FROM mailboxes WHERE owner = 'alice')`,
			"messages/", "holds message"},
		{"message of a missing session", `UPDATE messages SET session = 'S-NOPE', data = jsonb_set(data, '{Session}', '"S-NOPE"') WHERE uid = 1 AND session <> ''`,
			"messages/", "message of missing session 'S-NOPE'"},
		{"session due index", `UPDATE sessions SET due = NULL WHERE id = 'S-AAAAA'`, "sessions/S-AAAAA", "columns disagree"},
		{"session waiting index", `UPDATE sessions SET waiting_since = waiting_since + interval '1 second' WHERE id = 'S-BBBBB'`,
			"sessions/S-BBBBB", "columns disagree"},
		{"session agent index", `UPDATE sessions SET active_agent = '' WHERE id = 'S-AAAAA'`, "sessions/S-AAAAA", "columns disagree"},
		{"session token", `DELETE FROM tokens WHERE token = 'tok-b'`, "sessions/S-BBBBB", "token 'tok-b' leads to nothing"},
		{"archived token", `UPDATE tokens SET session = 'S-AAAAA' WHERE token = 'tok-c'`, "archived/S-CCCCC", "token 'tok-c' leads to 'S-AAAAA'"},
		{"archived record", `UPDATE archived SET data = jsonb_set(data, '{ID}', '"S-X"')`, "archived/S-CCCCC", "holds archived session 'S-X'"},
		{"token of nothing", `INSERT INTO tokens VALUES ('tok-z', 'S-NOPE')`, "tokens/tok-z", "leads to missing session 'S-NOPE'"},
		{"Message-ID of nothing", `UPDATE message_ids SET session = 'S-NOPE' WHERE session = 'S-BBBBB'`,
			"message_ids/m-S-BBBBB@example.org", "leads to missing session 'S-NOPE'"},
		{"event of nothing", `UPDATE events SET session = 'S-NOPE' WHERE seq = (SELECT min(seq) FROM events)`,
			"events/", "event of missing session 'S-NOPE'"},
		{"outbound index", `UPDATE outbound SET next_attempt = next_attempt + interval '1 hour'`, "outbound/", "columns disagree"},
		{"CRM line", `UPDATE hooks SET dead = NOT dead WHERE id = (SELECT min(id) FROM hooks)`, "hooks/", "columns disagree"},
		{"quarantine body", `UPDATE quarantine SET blob = (SELECT min(id) FROM blobs)`, "quarantine/", "columns disagree"},
		{"API token hash", `UPDATE api_tokens SET hash = 'ff'`, "api_tokens/crm", "hash column disagrees"},
		{"campaign counts", `UPDATE campaigns SET data = jsonb_set(data, '{Counts,sent}', '5')`, "campaigns/", "the rows count"},
		{"campaign row session", `UPDATE campaign_rows SET session = '' WHERE row_num = 1`, "campaign_rows/", "columns disagree"},
		// Last: setval is not undone by a rollback.
		{"sequence", `SELECT setval('hooks_id_seq', 1)`, "sequences/hooks_id_seq", "is at 1, below 3 in use"},
		{"UIDVALIDITY", `SELECT setval('uid_validity', 1000)`, "sequences/uid_validity", "is at 1000, below"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := checkDamaged(t, p, c.damage)
			for _, pr := range r.Problems {
				if strings.HasPrefix(pr.Key, c.key) && strings.Contains(pr.What, c.what) {
					return
				}
			}
			t.Errorf("after %s: problems %v, want %s…: …%s…", c.damage, r.Problems, c.key, c.what)
		})
	}
}

// checkDamaged applies damage in a transaction, checks what it sees and
// rolls it back: the store stays clean for the next case.
func checkDamaged(t *testing.T, p *Store, damage string) Report {
	t.Helper()
	ctx := context.Background()
	q, err := p.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Rollback(ctx)
	if _, err := q.Exec(ctx, damage); err != nil {
		t.Fatal(err)
	}
	r, err := check(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
