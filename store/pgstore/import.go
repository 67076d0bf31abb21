package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"mxdesk/store"
)

// Copying another store into this one (mxdesk migrate-store): records
// arrive through a store.Sink with their identities and are bulk-inserted
// with COPY, table by table in the order they come, all in one
// transaction, so an interrupted copy leaves the database as empty as it
// found it. The sequences are then set above the copied IDs.

// ErrNotEmpty is returned by Import for a database that already holds
// mxdesk data: a copy never merges into a live desk.
var ErrNotEmpty = errors.New("the database already holds mxdesk data: migrate-store copies into an empty database only")

// importTables are the tables Import fills, in the order store.Sink's
// records come, with their columns in the order the importer gives them.
var importTables = []struct {
	name    string
	columns []string
}{
	{"mailboxes", []string{"id", "owner", "name", "uid_next", "highest_modseq", "expunged_kept", "expunged_floor", "data"}},
	{"blobs", []string{"id", "refs", "data"}},
	{"messages", []string{"mailbox", "uid", "blob", "session", "data"}},
	{"expunged", []string{"mailbox", "modseq", "uid"}},
	{"subscriptions", []string{"owner", "name"}},
	{"sessions", []string{"id", "queue", "status", "status_since", "due", "waiting_since", "active_agent", "data"}},
	{"tokens", []string{"token", "session"}},
	{"message_ids", []string{"message_id", "session"}},
	{"events", []string{"seq", "session", "data"}},
	{"outbound", []string{"id", "session", "next_attempt", "blob", "data"}},
	{"hooks", []string{"id", "session", "dead", "next_attempt", "data"}},
	{"quarantine", []string{"id", "blob", "data"}},
	{"archived", []string{"id", "data"}},
	{"agent_states", []string{"login", "data"}},
	{"auto_mail", []string{"address", "expires_at", "data"}},
	{"import_states", []string{"account", "data"}},
	{"sent_copies", []string{"seq", "account", "outbound", "blob"}},
	{"api_tokens", []string{"name", "hash", "data"}},
	{"requests", []string{"uri", "message_id"}},
	{"campaigns", []string{"id", "data"}},
	{"campaign_rows", []string{"campaign", "row_num", "session", "data"}},
	{"suppressions", []string{"address", "data"}},
}

// ImportTables lists the tables Import fills, in the order it fills them
// (the keys of its counts).
func ImportTables() []string {
	names := make([]string, len(importTables))
	for i, t := range importTables {
		names[i] = t.name
	}
	return names
}

// columnsOf are the columns Import fills in table.
func columnsOf(table string) []string {
	for _, t := range importTables {
		if t.name == table {
			return t.columns
		}
	}
	panic("pgstore: no import table " + table)
}

// importSequences are the sequences set after a copy: each above its
// table's highest ID and above the source's counter.
var importSequences = []struct {
	table, column string
	counter       func(store.Counters) uint64
}{
	{"mailboxes", "id", func(c store.Counters) uint64 { return c.Mailbox }},
	{"blobs", "id", func(c store.Counters) uint64 { return c.Blob }},
	{"events", "seq", func(c store.Counters) uint64 { return c.Event }},
	{"outbound", "id", func(c store.Counters) uint64 { return c.Outbound }},
	{"quarantine", "id", func(c store.Counters) uint64 { return c.Quarantine }},
	{"hooks", "id", func(c store.Counters) uint64 { return c.Hook }},
	{"campaigns", "id", func(c store.Counters) uint64 { return c.Campaign }},
	{"sent_copies", "seq", func(store.Counters) uint64 { return 0 }},
}

// Import copies the records export hands to its Sink into the database,
// which must hold no mxdesk data (ErrNotEmpty), and calls progress after
// each batch with the table and how many rows it holds so far. It
// returns the rows copied per table.
func (s *Store) Import(ctx context.Context, export func(store.Sink) error, progress func(table string, rows int)) (map[string]int, error) {
	im := &importer{ctx: ctx, counts: map[string]int{}, progress: progress}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{}, func(q pgx.Tx) error {
		im.q = q
		if err := checkEmpty(ctx, q); err != nil {
			return err
		}
		if err := export(im); err != nil {
			return err
		}
		if err := im.flush(); err != nil {
			return err
		}
		return im.setSequences()
	})
	return im.counts, err
}

// checkEmpty refuses a database with rows in any table Import fills.
func checkEmpty(ctx context.Context, q pgx.Tx) error {
	var full []string
	for _, table := range ImportTables() {
		var some bool
		if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+table+`)`).Scan(&some); err != nil {
			return fmt.Errorf("pgstore: %w", err)
		}
		if some {
			full = append(full, table)
		}
	}
	if len(full) > 0 {
		return fmt.Errorf("%w (rows in %s)", ErrNotEmpty, strings.Join(full, ", "))
	}
	return nil
}

// Batches of COPY: bounded in rows and in body bytes (variables for the
// tests, which make them small).
var (
	importBatchRows  = 2000
	importBatchBytes = 16 << 20
)

// importer is the store.Sink of Import: it gathers the rows of one table
// and copies them when the table changes or the batch is full.
type importer struct {
	ctx      context.Context
	q        pgx.Tx
	table    string
	rows     [][]any
	bytes    int
	counts   map[string]int
	counters store.Counters
	sentSeq  int64
	progress func(table string, rows int)
}

func (im *importer) add(table string, size int, row ...any) error {
	if table != im.table {
		if err := im.flush(); err != nil {
			return err
		}
		im.table = table
	}
	im.rows = append(im.rows, row)
	im.bytes += size
	if len(im.rows) >= importBatchRows || im.bytes >= importBatchBytes {
		return im.flush()
	}
	return nil
}

func (im *importer) flush() error {
	if len(im.rows) == 0 {
		return nil
	}
	n, err := im.q.CopyFrom(im.ctx, pgx.Identifier{im.table}, columnsOf(im.table), pgx.CopyFromRows(im.rows))
	if err != nil {
		return fmt.Errorf("pgstore: copy into %s: %w", im.table, err)
	}
	im.counts[im.table] += int(n)
	im.rows, im.bytes = im.rows[:0], 0
	if im.progress != nil {
		im.progress(im.table, im.counts[im.table])
	}
	return nil
}

// setSequences sets each sequence to the highest of its table's IDs and
// the source's counter, and UIDVALIDITY's above every copied one, so the
// next ones a node hands out are new.
func (im *importer) setSequences() error {
	for _, sq := range importSequences {
		_, err := im.q.Exec(im.ctx, `SELECT setval(pg_get_serial_sequence($1, $2), v) FROM
			(SELECT GREATEST($3::bigint, (SELECT coalesce(max(`+sq.column+`), 0) FROM `+sq.table+`)) AS v) m WHERE v > 0`,
			sq.table, sq.column, int64(sq.counter(im.counters)))
		if err != nil {
			return fmt.Errorf("pgstore: sequence of %s: %w", sq.table, err)
		}
	}
	_, err := im.q.Exec(im.ctx, `SELECT setval('uid_validity', GREATEST((SELECT last_value FROM uid_validity), $1::bigint,
		(SELECT coalesce(max((data->>'UIDValidity')::bigint), 0) FROM mailboxes)))`, int64(im.counters.UIDValidity))
	if err != nil {
		return fmt.Errorf("pgstore: sequence uid_validity: %w", err)
	}
	return nil
}

// ---- store.Sink ----

func (im *importer) Counters(c store.Counters) error { im.counters = c; return nil }

func (im *importer) Mailbox(m store.Mailbox) error {
	return im.add("mailboxes", 0, m.ID, m.Owner, m.Name, m.UIDNext, m.HighestModSeq, m.ExpungedKept, m.ExpungedFloor, mustJSON(m))
}

func (im *importer) Blob(id store.BlobID, refs int, data []byte) error {
	return im.add("blobs", len(data), id, refs, data)
}

func (im *importer) Message(m store.Message) error {
	return im.add("messages", 0, m.Mailbox, m.UID, m.Blob, m.Session, mustJSON(m))
}

func (im *importer) Expunged(mbox store.MailboxID, modSeq uint64, uid store.UID) error {
	return im.add("expunged", 0, mbox, modSeq, uid)
}

func (im *importer) Subscription(owner, name string) error {
	return im.add("subscriptions", 0, owner, name)
}

func (im *importer) Session(s store.Session) error { return im.add("sessions", 0, sessionRow(s)...) }

func (im *importer) Token(token, session string) error { return im.add("tokens", 0, token, session) }

func (im *importer) MessageID(messageID, session string) error {
	return im.add("message_ids", 0, messageID, session)
}

func (im *importer) Event(seq uint64, e store.Event) error {
	return im.add("events", 0, seq, e.Session, mustJSON(e))
}

func (im *importer) Outbound(o store.Outbound) error {
	return im.add("outbound", 0, o.ID, o.Session, o.NextAttempt, o.Blob, mustJSON(o))
}

func (im *importer) Hook(h store.Hook) error {
	return im.add("hooks", 0, h.ID, h.Session, h.Dead, h.NextAttempt, mustJSON(h))
}

func (im *importer) Quarantined(q store.Quarantined) error {
	return im.add("quarantine", 0, q.ID, q.Blob, mustJSON(q))
}

func (im *importer) Archived(a store.Archived) error { return im.add("archived", 0, a.ID, mustJSON(a)) }

func (im *importer) AgentState(a store.AgentState) error {
	return im.add("agent_states", 0, a.Login, mustJSON(a))
}

func (im *importer) AutoMail(a store.AutoMail, expires time.Time) error {
	return im.add("auto_mail", 0, a.Address, nullTime(expires), mustJSON(a))
}

func (im *importer) ImportState(s store.ImportState) error {
	return im.add("import_states", 0, s.Account, mustJSON(s))
}

// SentCopy numbers the copies in the order they come (each account's by
// outbound ID, the order badger lists them in).
func (im *importer) SentCopy(c store.SentCopy) error {
	im.sentSeq++
	return im.add("sent_copies", 0, im.sentSeq, c.Account, c.Outbound, c.Blob)
}

func (im *importer) APIToken(t store.APIToken) error {
	return im.add("api_tokens", 0, t.Name, t.Hash, mustJSON(t))
}

func (im *importer) Request(uri, messageID string) error {
	return im.add("requests", 0, uri, messageID)
}

func (im *importer) Campaign(c store.Campaign) error {
	return im.add("campaigns", 0, c.ID, mustJSON(c))
}

func (im *importer) CampaignRecipient(r store.CampaignRecipient) error {
	return im.add("campaign_rows", 0, r.Campaign, r.Row, r.Session, mustJSON(r))
}

func (im *importer) Suppression(s store.Suppression) error {
	return im.add("suppressions", 0, s.Address, mustJSON(s))
}

var _ store.Sink = (*importer)(nil)
