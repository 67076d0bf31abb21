package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"mxdesk/store"
)

// tx is a store.Tx (or, with write false, a store.Reader) on one
// PostgreSQL transaction.
type tx struct {
	ctx     context.Context
	q       pgx.Tx
	origin  any
	write   bool
	changes []store.Change
	// expungedKept is Options.ExpungedKept (0: the default).
	expungedKept int
}

// forUpdate locks the row a write transaction reads (SELECT … FOR
// UPDATE): an Update reads a record to rewrite it, and another node's
// Update of the same record must wait for this commit and read its result
// (READ COMMITTED alone would let both write, one change lost). Views
// take no locks.
func (t *tx) forUpdate() string {
	if t.write {
		return " FOR UPDATE"
	}
	return ""
}

func (t *tx) emit(c store.Change) {
	c.Origin = t.origin
	t.changes = append(t.changes, c)
}

func (t *tx) exec(sql string, args ...any) (pgconn.CommandTag, error) {
	return t.q.Exec(t.ctx, sql, args...)
}

// getJSON decodes the one JSON value sql selects into dst, ErrNotFound
// when it selects no row.
func (t *tx) getJSON(dst any, sql string, args ...any) error {
	var b []byte
	err := t.q.QueryRow(t.ctx, sql, args...).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	if err != nil {
		return err
	}
	return json.Unmarshal(b, dst)
}

// listJSON decodes the JSON value of each row sql selects.
func listJSON[T any](t *tx, sql string, args ...any) ([]T, error) {
	rows, err := t.q.Query(t.ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (T, error) {
		var b []byte
		var v T
		if err := row.Scan(&b); err != nil {
			return v, err
		}
		return v, json.Unmarshal(b, &v)
	})
}

// listStrings collects the one text column sql selects.
func listStrings(t *tx, sql string, args ...any) ([]string, error) {
	rows, err := t.q.Query(t.ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // the store's own structs always marshal
	}
	return b
}

// nullTime is at as a column value: NULL for the zero time ("none").
func nullTime(at time.Time) any {
	if at.IsZero() {
		return nil
	}
	return at
}

// limitOrAll is limit as a LIMIT value: NULL (no limit) for 0.
func limitOrAll(limit int) any {
	if limit <= 0 {
		return nil
	}
	return limit
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

func sortedFlags(flags []string) []string {
	out := slices.Clone(flags)
	slices.Sort(out)
	return slices.Compact(out)
}

// ---- mailboxes ----

// mailboxColumns rebuilds a Mailbox: data holds it whole but for the
// columns that change under row locks.
const mailboxColumns = `data || jsonb_build_object('UIDNext', uid_next, 'Name', name,
	'HighestModSeq', highest_modseq, 'ExpungedKept', expunged_kept, 'ExpungedFloor', expunged_floor)`

func (t *tx) Mailbox(id store.MailboxID) (store.Mailbox, error) {
	var m store.Mailbox
	err := t.getJSON(&m, `SELECT `+mailboxColumns+` FROM mailboxes WHERE id = $1`+t.forUpdate(), id)
	return m, err
}

func (t *tx) MailboxByName(owner, name string) (store.Mailbox, error) {
	var m store.Mailbox
	err := t.getJSON(&m, `SELECT `+mailboxColumns+` FROM mailboxes WHERE owner = $1 AND name = $2`+t.forUpdate(), owner, name)
	return m, err
}

func (t *tx) Mailboxes(owner string) ([]store.Mailbox, error) {
	return listJSON[store.Mailbox](t, `SELECT `+mailboxColumns+` FROM mailboxes WHERE owner = $1 ORDER BY name COLLATE "C"`, owner)
}

func (t *tx) CreateMailbox(m store.Mailbox) (store.Mailbox, error) {
	if _, err := t.MailboxByName(m.Owner, m.Name); err == nil {
		return store.Mailbox{}, store.ErrExists
	}
	var id, validity int64
	err := t.q.QueryRow(t.ctx, `SELECT nextval('mailboxes_id_seq'), nextval('uid_validity')`).Scan(&id, &validity)
	if err != nil {
		return store.Mailbox{}, err
	}
	m.ID, m.UIDValidity, m.UIDNext, m.RecentUID = store.MailboxID(id), uint32(validity), 1, 1
	m.HighestModSeq, m.ExpungedKept, m.ExpungedFloor = 1, 0, 0 // RFC 7162 3.1.1: never 0, even when empty
	if m.Created.IsZero() {
		m.Created = time.Now()
	}
	_, err = t.exec(`INSERT INTO mailboxes (id, owner, name, uid_next, data) VALUES ($1, $2, $3, 1, $4)`,
		id, m.Owner, m.Name, mustJSON(m))
	if isUniqueViolation(err) {
		return store.Mailbox{}, store.ErrExists
	}
	if err != nil {
		return store.Mailbox{}, err
	}
	t.emit(store.Change{Kind: store.MailboxCreated, Mailbox: m.ID})
	return m, nil
}

func (t *tx) UpdateMailbox(m store.Mailbox) error {
	old, err := t.Mailbox(m.ID)
	if err != nil {
		return err
	}
	if old.Name != m.Name {
		if _, err := t.MailboxByName(old.Owner, m.Name); err == nil {
			return store.ErrExists
		}
	}
	old.Name, old.Subscribed, old.SpecialUse = m.Name, m.Subscribed, m.SpecialUse
	old.Keywords, old.RecentUID = m.Keywords, m.RecentUID
	_, err = t.exec(`UPDATE mailboxes SET name = $2, data = $3 WHERE id = $1`, m.ID, old.Name, mustJSON(old))
	if isUniqueViolation(err) {
		return store.ErrExists
	}
	if err != nil {
		return err
	}
	t.emit(store.Change{Kind: store.MailboxUpdated, Mailbox: m.ID})
	return nil
}

func (t *tx) DeleteMailbox(id store.MailboxID) error {
	msgs, err := t.Messages(id, 0, 0)
	if err != nil {
		return err
	}
	for _, msg := range msgs {
		if err := t.removeMessage(msg, false); err != nil {
			return err
		}
	}
	tag, err := t.exec(`DELETE FROM mailboxes WHERE id = $1`, id)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	t.emit(store.Change{Kind: store.MailboxDeleted, Mailbox: id})
	return nil
}

// ---- blobs ----

func (t *tx) Blob(id store.BlobID) ([]byte, error) {
	var b []byte
	err := t.q.QueryRow(t.ctx, `SELECT data FROM blobs WHERE id = $1`, id).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	return b, err
}

func (t *tx) PutBlob(data []byte) (store.BlobID, error) {
	var id int64
	err := t.q.QueryRow(t.ctx, `INSERT INTO blobs (refs, data) VALUES (0, $1) RETURNING id`, data).Scan(&id)
	return store.BlobID(id), err
}

// blobRef adds delta to the blob's references; the blob goes with its
// last one.
func (t *tx) blobRef(id store.BlobID, delta int) error {
	var refs int
	err := t.q.QueryRow(t.ctx, `UPDATE blobs SET refs = refs + $2 WHERE id = $1 RETURNING refs`, id, delta).Scan(&refs)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("store: blob %d: %w", id, store.ErrNotFound)
	}
	if err != nil || refs > 0 {
		return err
	}
	_, err = t.exec(`DELETE FROM blobs WHERE id = $1`, id)
	return err
}

// ---- messages ----

func (t *tx) Messages(mbox store.MailboxID, from, to store.UID) ([]store.Message, error) {
	upper := int64(to)
	if to == 0 {
		upper = 1 << 32
	}
	return listJSON[store.Message](t, `SELECT data FROM messages WHERE mailbox = $1 AND uid BETWEEN $2 AND $3 ORDER BY uid`,
		mbox, from, upper)
}

func (t *tx) Message(mbox store.MailboxID, uid store.UID) (store.Message, error) {
	var m store.Message
	err := t.getJSON(&m, `SELECT data FROM messages WHERE mailbox = $1 AND uid = $2`+t.forUpdate(), mbox, uid)
	return m, err
}

func (t *tx) SessionMessages(session string) ([]store.Message, error) {
	return listJSON[store.Message](t, `SELECT data FROM messages WHERE session = $1 AND session <> '' ORDER BY mailbox, uid`, session)
}

// AddMessage takes the mailbox's next UID and mod-sequence with a row
// lock held to the commit: the next delivery to the mailbox waits, and a
// rollback gives them back.
func (t *tx) AddMessage(m store.Message) (store.Message, error) {
	var uid int64
	err := t.q.QueryRow(t.ctx, `UPDATE mailboxes SET uid_next = uid_next + 1, highest_modseq = highest_modseq + 1
		WHERE id = $1 RETURNING uid_next - 1, highest_modseq`, m.Mailbox).Scan(&uid, &m.ModSeq)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Message{}, fmt.Errorf("store: add to mailbox %d: %w", m.Mailbox, store.ErrNotFound)
	}
	if err != nil {
		return store.Message{}, err
	}
	if err := t.blobRef(m.Blob, +1); err != nil {
		return store.Message{}, err
	}
	m.UID = store.UID(uid)
	m.Flags = sortedFlags(m.Flags)
	_, err = t.exec(`INSERT INTO messages (mailbox, uid, blob, session, data) VALUES ($1, $2, $3, $4, $5)`,
		m.Mailbox, uid, m.Blob, m.Session, mustJSON(m))
	if err != nil {
		return store.Message{}, err
	}
	t.emit(store.Change{Kind: store.MessageAdded, Mailbox: m.Mailbox, UID: m.UID, Flags: m.Flags, ModSeq: m.ModSeq})
	return m, nil
}

func (t *tx) SetFlags(mbox store.MailboxID, uid store.UID, flags []string) error {
	m, err := t.Message(mbox, uid)
	if err != nil {
		return err
	}
	m.Flags = sortedFlags(flags)
	if m.ModSeq, err = t.bumpModSeq(mbox); err != nil {
		return err
	}
	if _, err := t.exec(`UPDATE messages SET data = $3 WHERE mailbox = $1 AND uid = $2`, mbox, uid, mustJSON(m)); err != nil {
		return err
	}
	t.emit(store.Change{Kind: store.FlagsChanged, Mailbox: mbox, UID: uid, Flags: m.Flags, ModSeq: m.ModSeq})
	return nil
}

func (t *tx) RemoveMessage(mbox store.MailboxID, uid store.UID) error {
	m, err := t.Message(mbox, uid)
	if err != nil {
		return err
	}
	return t.removeMessage(m, true)
}

func (t *tx) removeMessage(m store.Message, emit bool) error {
	if _, err := t.exec(`DELETE FROM messages WHERE mailbox = $1 AND uid = $2`, m.Mailbox, m.UID); err != nil {
		return err
	}
	if err := t.blobRef(m.Blob, -1); err != nil {
		return err
	}
	if !emit {
		return nil // the mailbox goes too, its tombstones with it (ON DELETE CASCADE)
	}
	modSeq, err := t.tombstone(m.Mailbox, m.UID)
	if err != nil {
		return err
	}
	t.emit(store.Change{Kind: store.MessageRemoved, Mailbox: m.Mailbox, UID: m.UID, ModSeq: modSeq})
	return nil
}

// ---- subscriptions ----

func (t *tx) KeptSubscriptions(owner string) ([]string, error) {
	return listStrings(t, `SELECT name FROM subscriptions WHERE owner = $1 ORDER BY name COLLATE "C"`, owner)
}

func (t *tx) KeepSubscription(owner, name string, on bool) error {
	if on {
		_, err := t.exec(`INSERT INTO subscriptions (owner, name) VALUES ($1, $2) ON CONFLICT DO NOTHING`, owner, name)
		return err
	}
	_, err := t.exec(`DELETE FROM subscriptions WHERE owner = $1 AND name = $2`, owner, name)
	return err
}

var _ store.Tx = (*tx)(nil)

// notFound is err, or ErrNotFound for no row.
func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

// listIDs collects the one bigint column sql selects.
func listIDs(t *tx, sql string, args ...any) ([]uint64, error) {
	rows, err := t.q.Query(t.ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[uint64])
}
