package pgstore

import (
	"errors"
	"time"

	"mxdesk/store"
)

// ---- outbound queue ----

func (t *tx) Outbound(id uint64) (store.Outbound, error) {
	var o store.Outbound
	err := t.getJSON(&o, `SELECT data FROM outbound WHERE id = $1`+t.forUpdate(), id)
	return o, err
}

func (t *tx) DueOutbound(until time.Time, limit int) ([]store.Outbound, error) {
	return listJSON[store.Outbound](t, `SELECT data FROM outbound WHERE next_attempt <= $1 ORDER BY next_attempt, id LIMIT $2`, until, limit)
}

func (t *tx) OutboundCount() (int, error) {
	var n int
	err := t.q.QueryRow(t.ctx, `SELECT count(*) FROM outbound`).Scan(&n)
	return n, err
}

func (t *tx) Enqueue(o store.Outbound) (store.Outbound, error) {
	if err := t.q.QueryRow(t.ctx, `SELECT nextval('outbound_id_seq')`).Scan(&o.ID); err != nil {
		return o, err
	}
	if err := t.blobRef(o.Blob, +1); err != nil {
		return o, err
	}
	_, err := t.exec(`INSERT INTO outbound (id, session, next_attempt, blob, data) VALUES ($1, $2, $3, $4, $5)`,
		o.ID, o.Session, o.NextAttempt, o.Blob, mustJSON(o))
	if err != nil {
		return o, err
	}
	t.emit(store.Change{Kind: store.OutboundQueued, Outbound: o.ID})
	return o, nil
}

func (t *tx) UpdateOutbound(o store.Outbound) error {
	old, err := t.Outbound(o.ID)
	if err != nil {
		return err
	}
	old.To, old.NextAttempt, old.Attempts, old.LastError = o.To, o.NextAttempt, o.Attempts, o.LastError
	_, err = t.exec(`UPDATE outbound SET next_attempt = $2, data = $3 WHERE id = $1`, o.ID, old.NextAttempt, mustJSON(old))
	return err
}

func (t *tx) RemoveOutbound(id uint64) error {
	var blob store.BlobID
	err := t.q.QueryRow(t.ctx, `DELETE FROM outbound WHERE id = $1 RETURNING blob`, id).Scan(&blob)
	if err != nil {
		return notFound(err)
	}
	return t.blobRef(blob, -1)
}

func (t *tx) removeSessionOutbound(session string) error {
	ids, err := listIDs(t, `SELECT id FROM outbound WHERE session = $1 ORDER BY id`, session)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := t.RemoveOutbound(id); err != nil {
			return err
		}
	}
	return nil
}

// ---- quarantine ----

func (t *tx) Quarantined(id uint64) (store.Quarantined, error) {
	var q store.Quarantined
	err := t.getJSON(&q, `SELECT data FROM quarantine WHERE id = $1`, id)
	return q, err
}

func (t *tx) QuarantineList() ([]store.Quarantined, error) {
	return listJSON[store.Quarantined](t, `SELECT data FROM quarantine ORDER BY id`)
}

func (t *tx) Quarantine(q store.Quarantined) (store.Quarantined, error) {
	if err := t.q.QueryRow(t.ctx, `SELECT nextval('quarantine_id_seq')`).Scan(&q.ID); err != nil {
		return q, err
	}
	if err := t.blobRef(q.Blob, +1); err != nil {
		return q, err
	}
	_, err := t.exec(`INSERT INTO quarantine (id, blob, data) VALUES ($1, $2, $3)`, q.ID, q.Blob, mustJSON(q))
	return q, err
}

func (t *tx) Unquarantine(id uint64) error {
	var blob store.BlobID
	if err := t.q.QueryRow(t.ctx, `DELETE FROM quarantine WHERE id = $1 RETURNING blob`, id).Scan(&blob); err != nil {
		return notFound(err)
	}
	return t.blobRef(blob, -1)
}

// ---- CRM outbox ----

func (t *tx) Hook(id uint64) (store.Hook, error) {
	var h store.Hook
	err := t.getJSON(&h, `SELECT data FROM hooks WHERE id = $1`+t.forUpdate(), id)
	return h, err
}

// DueHooks lists the heads of the lines (the live event of lowest id of
// each session) that are due.
func (t *tx) DueHooks(until time.Time, limit int) ([]store.Hook, error) {
	return listJSON[store.Hook](t, `SELECT data FROM (
			SELECT DISTINCT ON (session) id, next_attempt, data FROM hooks WHERE NOT dead ORDER BY session, id
		) heads WHERE next_attempt <= $1 ORDER BY next_attempt, id LIMIT $2`, until, limit)
}

func (t *tx) Hooks(limit int) ([]store.Hook, error) {
	return listJSON[store.Hook](t, `SELECT data FROM hooks ORDER BY id LIMIT $1`, limitOrAll(limit))
}

// lineHead is the first live event of session's line, if any.
func (t *tx) lineHead(session string) (store.Hook, bool, error) {
	var h store.Hook
	err := t.getJSON(&h, `SELECT data FROM hooks WHERE session = $1 AND NOT dead ORDER BY id LIMIT 1`, session)
	if errors.Is(err, store.ErrNotFound) {
		return h, false, nil
	}
	return h, err == nil, err
}

// changeLine runs change on session's line and publishes HookQueued when
// the line gets a new head, or its head a new time.
func (t *tx) changeLine(session string, change func() error) error {
	before, had, err := t.lineHead(session)
	if err != nil {
		return err
	}
	if err := change(); err != nil {
		return err
	}
	after, has, err := t.lineHead(session)
	if err != nil || !has {
		return err
	}
	if !had || after.ID != before.ID || !after.NextAttempt.Equal(before.NextAttempt) {
		t.emit(store.Change{Kind: store.HookQueued})
	}
	return nil
}

func (t *tx) EnqueueHook(h store.Hook) (store.Hook, error) {
	if err := t.q.QueryRow(t.ctx, `SELECT nextval('hooks_id_seq')`).Scan(&h.ID); err != nil {
		return h, err
	}
	return h, t.changeLine(h.Session, func() error {
		_, err := t.exec(`INSERT INTO hooks (id, session, dead, next_attempt, data) VALUES ($1, $2, $3, $4, $5)`,
			h.ID, h.Session, h.Dead, h.NextAttempt, mustJSON(h))
		return err
	})
}

func (t *tx) UpdateHook(h store.Hook) error {
	old, err := t.Hook(h.ID)
	if err != nil {
		return err
	}
	next := old
	next.Since, next.NextAttempt, next.Attempts, next.LastError, next.Dead = h.Since, h.NextAttempt, h.Attempts, h.LastError, h.Dead
	return t.changeLine(old.Session, func() error {
		_, err := t.exec(`UPDATE hooks SET dead = $2, next_attempt = $3, data = $4 WHERE id = $1`,
			next.ID, next.Dead, next.NextAttempt, mustJSON(next))
		return err
	})
}

func (t *tx) RemoveHook(id uint64) error {
	h, err := t.Hook(id)
	if err != nil {
		return err
	}
	return t.changeLine(h.Session, func() error {
		_, err := t.exec(`DELETE FROM hooks WHERE id = $1`, id)
		return err
	})
}

// ---- sent copies ----

func (t *tx) SentCopies(account string, limit int) ([]store.SentCopy, error) {
	rows, err := t.q.Query(t.ctx, `SELECT account, outbound, blob FROM sent_copies WHERE account = $1 ORDER BY seq LIMIT $2`,
		account, limitOrAll(limit))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.SentCopy
	for rows.Next() {
		var c store.SentCopy
		if err := rows.Scan(&c.Account, &c.Outbound, &c.Blob); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (t *tx) PutSentCopy(c store.SentCopy) error {
	tag, err := t.exec(`INSERT INTO sent_copies (account, outbound, blob) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		c.Account, c.Outbound, c.Blob)
	if err != nil || tag.RowsAffected() == 0 {
		return err
	}
	return t.blobRef(c.Blob, +1)
}

func (t *tx) RemoveSentCopy(account string, outbound uint64) error {
	var blob store.BlobID
	err := t.q.QueryRow(t.ctx, `DELETE FROM sent_copies WHERE account = $1 AND outbound = $2 RETURNING blob`, account, outbound).Scan(&blob)
	if errors.Is(notFound(err), store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return t.blobRef(blob, -1)
}

// LeaseOutbound leases a due message (store.OutboundLeaser): FOR UPDATE
// SKIP LOCKED passes over a row another node is leasing, and a row it
// leased and committed meanwhile is read again and no longer due.
func (t *tx) LeaseOutbound(id uint64, now, until time.Time) (store.Outbound, bool, error) {
	var o store.Outbound
	err := t.getJSON(&o, `SELECT data FROM outbound WHERE id = $1 AND next_attempt <= $2 FOR UPDATE SKIP LOCKED`, id, now)
	if errors.Is(err, store.ErrNotFound) {
		return o, false, nil
	}
	if err != nil {
		return o, false, err
	}
	o.NextAttempt = until
	if _, err := t.exec(`UPDATE outbound SET next_attempt = $2, data = $3 WHERE id = $1`, id, until, mustJSON(o)); err != nil {
		return o, false, err
	}
	return o, true, nil
}
