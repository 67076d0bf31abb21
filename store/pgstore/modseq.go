package pgstore

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"mxdesk/store"
	"mxdesk/store/badgerstore"
)

// Mod-sequences (RFC 7162) as badgerstore keeps them (its modseq.go): a
// mailbox's highest_modseq is bumped under its row lock in the
// transaction of the change it counts, and each expunge leaves a row in
// expunged, the oldest beyond ExpungedKept forgotten.

// bumpModSeq takes mbox's next mod-sequence.
func (t *tx) bumpModSeq(mbox store.MailboxID) (uint64, error) {
	var n uint64
	err := t.q.QueryRow(t.ctx, `UPDATE mailboxes SET highest_modseq = highest_modseq + 1 WHERE id = $1 RETURNING highest_modseq`, mbox).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("store: mailbox %d: %w", mbox, store.ErrNotFound)
	}
	return n, err
}

// tombstone remembers that uid left mbox, with the mod-sequence of its
// expunge, and forgets the oldest beyond the store's ExpungedKept.
func (t *tx) tombstone(mbox store.MailboxID, uid store.UID) (uint64, error) {
	var n uint64
	var kept int
	err := t.q.QueryRow(t.ctx, `UPDATE mailboxes SET highest_modseq = highest_modseq + 1, expunged_kept = expunged_kept + 1
		WHERE id = $1 RETURNING highest_modseq, expunged_kept`, mbox).Scan(&n, &kept)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("store: mailbox %d: %w", mbox, store.ErrNotFound)
	}
	if err != nil {
		return 0, err
	}
	if _, err := t.exec(`INSERT INTO expunged (mailbox, modseq, uid) VALUES ($1, $2, $3)`, mbox, n, uid); err != nil {
		return 0, err
	}
	return n, t.pruneExpunged(mbox, kept)
}

// pruneExpunged drops mbox's oldest tombstones beyond the limit, raising
// expunged_floor to the newest one dropped.
func (t *tx) pruneExpunged(mbox store.MailboxID, kept int) error {
	keep := t.expungedKept
	if keep <= 0 {
		keep = badgerstore.DefaultExpungedKept
	}
	excess := kept - keep
	if excess <= 0 {
		return nil
	}
	_, err := t.exec(`WITH dropped AS (
			DELETE FROM expunged WHERE mailbox = $1 AND modseq IN
				(SELECT modseq FROM expunged WHERE mailbox = $1 ORDER BY modseq LIMIT $2)
			RETURNING modseq)
		UPDATE mailboxes SET expunged_kept = expunged_kept - (SELECT count(*) FROM dropped),
			expunged_floor = GREATEST(expunged_floor, (SELECT coalesce(max(modseq), 0) FROM dropped))
		WHERE id = $1`, mbox, excess)
	return err
}

func (t *tx) Expunged(mbox store.MailboxID, since uint64) ([]store.UID, error) {
	rows, err := t.q.Query(t.ctx, `SELECT uid FROM expunged WHERE mailbox = $1 AND modseq > $2 ORDER BY uid`, mbox, since)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[store.UID])
}
