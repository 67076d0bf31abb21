package pgstore

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/jackc/pgx/v5"

	"mxdesk/store"
	"mxdesk/store/badgerstore"
)

// Report and Problem are badgerstore's, so that mxdesk check-store prints
// the same report on either backend. A Problem's Key is "table/key".
type (
	Report  = badgerstore.Report
	Problem = badgerstore.Problem
)

// checkRules find what the schema's constraints don't forbid: each
// selects (key, what is wrong) for every row that breaks its rule. The
// indexed columns are compared with the JSON record they were written
// from, the counts with the rows they count.
var checkRules = []string{
	// Mailboxes: the record is its row's.
	`SELECT 'mailboxes/' || id, 'holds mailbox ' || (data->>'ID') FROM mailboxes WHERE (data->>'ID')::bigint <> id`,
	`SELECT 'mailboxes/' || id, 'UIDNEXT ' || uid_next || ' is below 1' FROM mailboxes WHERE uid_next < 1`,
	// Messages: UIDs below their mailbox's UIDNEXT, mod-sequences within
	// its HIGHESTMODSEQ, columns as the record says.
	`SELECT 'messages/' || m.mailbox || '/' || m.uid, 'UID ' || m.uid || ' is not below the mailbox''s UIDNEXT ' || b.uid_next
		FROM messages m JOIN mailboxes b ON b.id = m.mailbox WHERE m.uid >= b.uid_next`,
	`SELECT 'messages/' || m.mailbox || '/' || m.uid, 'mod-sequence ' || (m.data->>'ModSeq') || ' is not in 1..HIGHESTMODSEQ ' || b.highest_modseq
		FROM messages m JOIN mailboxes b ON b.id = m.mailbox
		WHERE coalesce((m.data->>'ModSeq')::bigint, 0) NOT BETWEEN 1 AND b.highest_modseq`,
	`SELECT 'messages/' || mailbox || '/' || uid, 'holds message ' || (data->>'Mailbox') || '/' || (data->>'UID') || ' of blob ' || (data->>'Blob') || ', session ' || coalesce(data->>'Session', '""')
		FROM messages WHERE (data->>'Mailbox')::bigint <> mailbox OR (data->>'UID')::bigint <> uid
			OR (data->>'Blob')::bigint <> blob OR coalesce(data->>'Session', '') <> session`,
	`SELECT 'messages/' || mailbox || '/' || uid, 'message of missing session ' || quote_literal(session)
		FROM messages m WHERE session <> '' AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.id = m.session)`,
	// Expunged UIDs: within the mailbox's mod-sequences, above its floor,
	// counted by expunged_kept.
	`SELECT 'expunged/' || x.mailbox || '/' || x.modseq, 'mod-sequence is not in (floor ' || b.expunged_floor || ', HIGHESTMODSEQ ' || b.highest_modseq || ']'
		FROM expunged x JOIN mailboxes b ON b.id = x.mailbox WHERE x.modseq > b.highest_modseq OR x.modseq <= b.expunged_floor`,
	`SELECT 'mailboxes/' || b.id, 'expunged_kept is ' || b.expunged_kept || ', ' || count(x.uid) || ' expunged UIDs kept'
		FROM mailboxes b LEFT JOIN expunged x ON x.mailbox = b.id GROUP BY b.id HAVING b.expunged_kept <> count(x.uid)`,
	// Bodies: the reference count is the records that hold one.
	`SELECT 'blobs/' || b.id, 'reference count is ' || b.refs || ', records hold ' || coalesce(r.n, 0) || ' references'
		FROM blobs b LEFT JOIN (SELECT blob, count(*) AS n FROM (
			SELECT blob FROM messages UNION ALL SELECT blob FROM outbound
			UNION ALL SELECT blob FROM quarantine UNION ALL SELECT blob FROM sent_copies) refs GROUP BY blob) r ON r.blob = b.id
		WHERE b.refs <> coalesce(r.n, 0)`,
	// Sessions: the indexed columns as the record says, the token leads
	// to the session.
	`SELECT 'sessions/' || id, 'columns disagree with the record (queue, status, status_since, due, waiting_since, active_agent)'
		FROM sessions WHERE data->>'ID' <> id OR data->>'Queue' <> queue OR data->>'Status' <> status
			OR coalesce(data->>'ActiveAgent', '') <> active_agent
			OR ` + timeDiffers("status_since", "StatusSince", true) + ` OR ` + timeDiffers("due", "Due", true) + `
			OR ` + timeDiffers("waiting_since", "WaitingSince", true),
	`SELECT 'sessions/' || s.id, 'token ' || quote_literal(s.data->>'Token') || ' leads to ' || coalesce(quote_literal(t.session), 'nothing')
		FROM sessions s LEFT JOIN tokens t ON t.token = s.data->>'Token'
		WHERE coalesce(s.data->>'Token', '') <> '' AND t.session IS DISTINCT FROM s.id`,
	`SELECT 'archived/' || a.id, 'token ' || quote_literal(a.data->>'Token') || ' leads to ' || coalesce(quote_literal(t.session), 'nothing')
		FROM archived a LEFT JOIN tokens t ON t.token = a.data->>'Token'
		WHERE coalesce(a.data->>'Token', '') <> '' AND t.session IS DISTINCT FROM a.id`,
	`SELECT 'tokens/' || token, 'leads to missing session ' || quote_literal(session) FROM tokens t
		WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.id = t.session) AND NOT EXISTS (SELECT 1 FROM archived a WHERE a.id = t.session)`,
	`SELECT 'message_ids/' || message_id, 'leads to missing session ' || quote_literal(session) FROM message_ids m
		WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.id = m.session) AND NOT EXISTS (SELECT 1 FROM archived a WHERE a.id = m.session)`,
	`SELECT 'events/' || seq, 'event of missing session ' || quote_literal(session) FROM events e
		WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.id = e.session)`,
	// The queues: columns as the record says.
	`SELECT 'outbound/' || id, 'columns disagree with the record (id, session, next_attempt, blob)' FROM outbound
		WHERE (data->>'ID')::bigint <> id OR data->>'Session' <> session OR (data->>'Blob')::bigint <> blob
			OR ` + timeDiffers("next_attempt", "NextAttempt", false),
	`SELECT 'hooks/' || id, 'columns disagree with the record (id, session, dead, next_attempt)' FROM hooks
		WHERE (data->>'ID')::bigint <> id OR data->>'Session' <> session OR coalesce((data->>'Dead')::boolean, false) <> dead
			OR ` + timeDiffers("next_attempt", "NextAttempt", false),
	`SELECT 'quarantine/' || id, 'columns disagree with the record (id, blob)' FROM quarantine
		WHERE (data->>'ID')::bigint <> id OR (data->>'Blob')::bigint <> blob`,
	`SELECT 'archived/' || id, 'holds archived session ' || quote_literal(data->>'ID') FROM archived WHERE data->>'ID' <> id`,
	`SELECT 'api_tokens/' || name, 'hash column disagrees with the record' FROM api_tokens WHERE data->>'Name' <> name OR data->>'Hash' <> hash`,
	`SELECT 'campaign_rows/' || campaign || '/' || row_num, 'columns disagree with the record (campaign, row, session)' FROM campaign_rows
		WHERE (data->>'Campaign')::bigint <> campaign OR (data->>'Row')::int <> row_num OR coalesce(data->>'Session', '') <> session`,
	// Sequences: the next ID is above every one in use.
	`SELECT 'sequences/' || name, 'is at ' || last || ', below ' || used || ' in use' FROM (
		SELECT 'mailboxes_id_seq' AS name, (SELECT last_value FROM mailboxes_id_seq) AS last, (SELECT max(id) FROM mailboxes) AS used
		UNION ALL SELECT 'blobs_id_seq', (SELECT last_value FROM blobs_id_seq), (SELECT max(id) FROM blobs)
		UNION ALL SELECT 'events_seq_seq', (SELECT last_value FROM events_seq_seq), (SELECT max(seq) FROM events)
		UNION ALL SELECT 'outbound_id_seq', (SELECT last_value FROM outbound_id_seq), (SELECT max(id) FROM outbound)
		UNION ALL SELECT 'quarantine_id_seq', (SELECT last_value FROM quarantine_id_seq), (SELECT max(id) FROM quarantine)
		UNION ALL SELECT 'hooks_id_seq', (SELECT last_value FROM hooks_id_seq), (SELECT max(id) FROM hooks)
		UNION ALL SELECT 'campaigns_id_seq', (SELECT last_value FROM campaigns_id_seq), (SELECT max(id) FROM campaigns)
		UNION ALL SELECT 'sent_copies_seq_seq', (SELECT last_value FROM sent_copies_seq_seq), (SELECT max(seq) FROM sent_copies)
		UNION ALL SELECT 'uid_validity', (SELECT last_value FROM uid_validity), (SELECT max((data->>'UIDValidity')::bigint) FROM mailboxes)
	) s WHERE used > last`,
}

// timeDiffers is SQL saying that the timestamp column differs from the
// record's field by more than the microsecond PostgreSQL keeps (the
// column was truncated to it, the cast of the record's text rounds);
// with zeroIsNull, Go's zero time is the column's NULL.
func timeDiffers(column, field string, zeroIsNull bool) string {
	rec := `(data->>'` + field + `')::timestamptz`
	if zeroIsNull {
		rec = `nullif(` + rec + `, '0001-01-01 00:00:00+00')`
	}
	return `((` + column + ` IS NULL) <> (` + rec + ` IS NULL) OR (` + column + ` - ` + rec + `) NOT BETWEEN interval '-1 microsecond' AND interval '1 microsecond')`
}

// reportCounts fill the Report's counts.
var reportCounts = `SELECT (SELECT count(*) FROM mailboxes), (SELECT count(*) FROM messages), (SELECT count(*) FROM blobs),
	(SELECT count(*) FROM sessions), (SELECT count(*) FROM outbound), (SELECT count(*) FROM quarantine),
	(SELECT count(*) FROM archived), (SELECT count(*) FROM hooks)`

// Check reads the database in one snapshot and reports every row that
// breaks a rule the schema does not enforce: reference counts, UIDs and
// mod-sequences within their mailbox's, the indexed columns against
// their records, tokens and Message-IDs leading to sessions, campaign
// counts against their rows, sequences above the IDs in use. The error
// is for a database it could not read.
func (s *Store) Check(ctx context.Context) (Report, error) {
	var r Report
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(q pgx.Tx) error {
		var err error
		r, err = check(ctx, q)
		return err
	})
	if err != nil {
		return r, fmt.Errorf("pgstore: check: %w", err)
	}
	return r, nil
}

// check runs every rule in q.
func check(ctx context.Context, q pgx.Tx) (Report, error) {
	var r Report
	err := q.QueryRow(ctx, reportCounts).Scan(&r.Mailboxes, &r.Messages, &r.Blobs, &r.Sessions, &r.Outbound,
		&r.Quarantined, &r.Archived, &r.Hooks)
	if err != nil {
		return r, err
	}
	for _, rule := range checkRules {
		if err := collectProblems(ctx, q, &r, rule); err != nil {
			return r, err
		}
	}
	return r, checkCampaignCounts(&tx{ctx: ctx, q: q}, &r)
}

func collectProblems(ctx context.Context, q pgx.Tx, r *Report, rule string) error {
	rows, err := q.Query(ctx, rule)
	if err != nil {
		return err
	}
	problems, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Problem, error) {
		var p Problem
		return p, row.Scan(&p.Key, &p.What)
	})
	r.Problems = append(r.Problems, problems...)
	return err
}

// checkCampaignCounts recounts each campaign's rows as
// PutCampaignRecipient counts them (store.CountRecipient).
func checkCampaignCounts(t *tx, r *Report) error {
	campaigns, err := t.Campaigns()
	if err != nil {
		return err
	}
	for _, c := range campaigns {
		want := map[string]int{}
		for from := 0; ; {
			rows, err := t.CampaignRecipients(c.ID, from, 1000)
			if err != nil {
				return err
			}
			for _, row := range rows {
				store.CountRecipient(want, row, +1)
			}
			if len(rows) < 1000 {
				break
			}
			from = rows[len(rows)-1].Row + 1
		}
		if !sameCounts(c.Counts, want) {
			r.Problems = append(r.Problems, Problem{Key: fmt.Sprintf("campaigns/%d", c.ID),
				What: fmt.Sprintf("counts are %v, the rows count %v", c.Counts, want)})
		}
	}
	return nil
}

// sameCounts compares counts, a missing key as 0.
func sameCounts(a, b map[string]int) bool {
	for _, k := range slices.Concat(slices.Collect(maps.Keys(a)), slices.Collect(maps.Keys(b))) {
		if a[k] != b[k] {
			return false
		}
	}
	return true
}
