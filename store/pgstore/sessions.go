package pgstore

import (
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"mxdesk/store"
)

func (t *tx) Session(id string) (store.Session, error) {
	var s store.Session
	err := t.getJSON(&s, `SELECT data FROM sessions WHERE id = $1`+t.forUpdate(), id)
	return s, err
}

// PutSession writes the session with its indexed columns; the token stays
// in tokens after the session is deleted (it leads to the archive).
func (t *tx) PutSession(s store.Session) error {
	old, err := t.Session(s.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	_, err = t.exec(`INSERT INTO sessions (id, queue, status, status_since, due, waiting_since, active_agent, data)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (id) DO UPDATE SET queue = $2, status = $3, status_since = $4, due = $5,
			waiting_since = $6, active_agent = $7, data = $8`,
		sessionRow(s)...)
	if err != nil || s.Token == "" || s.Token == old.Token {
		return err
	}
	if old.Token != "" {
		if _, err := t.exec(`DELETE FROM tokens WHERE token = $1`, old.Token); err != nil {
			return err
		}
	}
	_, err = t.exec(`INSERT INTO tokens (token, session) VALUES ($1, $2) ON CONFLICT (token) DO UPDATE SET session = $2`, s.Token, s.ID)
	return err
}

// sessionRow is s as the sessions table's columns, in their order.
func sessionRow(s store.Session) []any {
	return []any{s.ID, s.Queue, s.Status, nullTime(s.StatusSince), nullTime(s.Due), nullTime(s.WaitingSince), s.ActiveAgent, mustJSON(s)}
}

// lookup returns the one text value sql selects, ErrNotFound for none.
func (t *tx) lookup(sql string, args ...any) (string, error) {
	var v string
	err := t.q.QueryRow(t.ctx, sql, args...).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", store.ErrNotFound
	}
	return v, err
}

func (t *tx) SessionByToken(token string) (string, error) {
	return t.lookup(`SELECT session FROM tokens WHERE token = $1`, token)
}

func (t *tx) SessionByMessageID(messageID string) (string, error) {
	return t.lookup(`SELECT session FROM message_ids WHERE message_id = $1`, messageID)
}

func (t *tx) IndexMessageID(messageID, session string) error {
	_, err := t.exec(`INSERT INTO message_ids (message_id, session) VALUES ($1, $2)
		ON CONFLICT (message_id) DO UPDATE SET session = $2`, messageID, session)
	return err
}

func (t *tx) Events(session string) ([]store.Event, error) {
	return listJSON[store.Event](t, `SELECT data FROM events WHERE session = $1 ORDER BY seq`, session)
}

func (t *tx) AddEvent(e store.Event) error {
	_, err := t.exec(`INSERT INTO events (session, data) VALUES ($1, $2)`, e.Session, mustJSON(e))
	return err
}

func (t *tx) DueSessions(until time.Time, limit int) ([]string, error) {
	return listStrings(t, `SELECT id FROM sessions WHERE due IS NOT NULL AND due <= $1 ORDER BY due, id LIMIT $2`, until, limit)
}

// EachSession reads the sessions first, then calls fn: fn may read the
// store meanwhile (one transaction is one connection).
func (t *tx) EachSession(fn func(store.Session) error) error {
	all, err := listJSON[store.Session](t, `SELECT data FROM sessions ORDER BY id COLLATE "C"`)
	if err != nil {
		return err
	}
	for _, s := range all {
		if err := fn(s); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) WaitingSessions(queue string, limit int) ([]store.Waiting, error) {
	rows, err := t.q.Query(t.ctx, `SELECT id, data->>'WaitingSince' FROM sessions
		WHERE queue = $1 AND waiting_since IS NOT NULL ORDER BY waiting_since, id LIMIT $2`, queue, limitOrAll(limit))
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Waiting, error) {
		var w store.Waiting
		var since string
		if err := row.Scan(&w.Session, &since); err != nil {
			return w, err
		}
		w.Since, err = time.Parse(time.RFC3339Nano, since)
		return w, err
	})
}

func (t *tx) ActiveCount(agent string) (int, error) {
	var n int
	err := t.q.QueryRow(t.ctx, `SELECT count(*) FROM sessions WHERE active_agent = $1 AND active_agent <> ''`, agent).Scan(&n)
	return n, err
}

func (t *tx) ActiveSessions(agent string) ([]string, error) {
	return listStrings(t, `SELECT id FROM sessions WHERE active_agent = $1 AND active_agent <> '' ORDER BY id COLLATE "C"`, agent)
}

func (t *tx) SessionCounts() (map[string]map[string]int, error) {
	rows, err := t.q.Query(t.ctx, `SELECT queue, status, count(*) FROM sessions GROUP BY queue, status`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]map[string]int{}
	for rows.Next() {
		var q, st string
		var n int
		if err := rows.Scan(&q, &st, &n); err != nil {
			return nil, err
		}
		if out[q] == nil {
			out[q] = map[string]int{}
		}
		out[q][st] = n
	}
	return out, rows.Err()
}

// SessionsInStatus reads the matching sessions first, then calls fn (as
// EachSession).
func (t *tx) SessionsInStatus(status string, until time.Time, fn func(id string, since time.Time) (bool, error)) error {
	all, err := listJSON[store.Session](t, `SELECT data FROM sessions
		WHERE status = $1 AND status_since IS NOT NULL AND status_since <= $2 ORDER BY status_since, id`, status, until)
	if err != nil {
		return err
	}
	for _, s := range all {
		if more, err := fn(s.ID, s.StatusSince); err != nil || !more {
			return err
		}
	}
	return nil
}

// ---- remembered state ----

func (t *tx) AgentState(login string) (store.AgentState, error) {
	a := store.AgentState{Login: login}
	err := t.getJSON(&a, `SELECT data FROM agent_states WHERE login = $1`+t.forUpdate(), login)
	if errors.Is(err, store.ErrNotFound) {
		return store.AgentState{Login: login}, nil
	}
	return a, err
}

func (t *tx) PutAgentState(a store.AgentState) error {
	_, err := t.exec(`INSERT INTO agent_states (login, data) VALUES ($1, $2) ON CONFLICT (login) DO UPDATE SET data = $2`,
		a.Login, mustJSON(a))
	return err
}

func (t *tx) AutoMail(address string) (store.AutoMail, error) {
	a := store.AutoMail{Address: address}
	err := t.getJSON(&a, `SELECT data FROM auto_mail WHERE address = $1 AND (expires_at IS NULL OR expires_at > now())`, address)
	if errors.Is(err, store.ErrNotFound) {
		return store.AutoMail{Address: address}, nil
	}
	return a, err
}

func (t *tx) PutAutoMail(a store.AutoMail, ttl time.Duration) error {
	var expires any
	if ttl > 0 {
		expires = time.Now().Add(ttl)
	}
	_, err := t.exec(`INSERT INTO auto_mail (address, expires_at, data) VALUES ($1, $2, $3)
		ON CONFLICT (address) DO UPDATE SET expires_at = $2, data = $3`, a.Address, expires, mustJSON(a))
	return err
}

func (t *tx) ImportState(account string) (store.ImportState, error) {
	var s store.ImportState
	err := t.getJSON(&s, `SELECT data FROM import_states WHERE account = $1`+t.forUpdate(), account)
	return s, err
}

func (t *tx) PutImportState(s store.ImportState) error {
	_, err := t.exec(`INSERT INTO import_states (account, data) VALUES ($1, $2) ON CONFLICT (account) DO UPDATE SET data = $2`,
		s.Account, mustJSON(s))
	return err
}

// ---- archive ----

func (t *tx) Archived(id string) (store.Archived, error) {
	var a store.Archived
	err := t.getJSON(&a, `SELECT data FROM archived WHERE id = $1`, id)
	return a, err
}

// DeleteSession removes what the session has but its token and
// Message-IDs, which lead to a from then on.
func (t *tx) DeleteSession(id string, a store.Archived) error {
	s, err := t.Session(id)
	if err != nil {
		return err
	}
	if _, live, err := t.lineHead(id); err != nil || live {
		if err == nil {
			err = fmt.Errorf("%w: session %s has CRM events still to deliver", store.ErrBusy, id)
		}
		return err
	}
	msgs, err := t.SessionMessages(id)
	if err != nil {
		return err
	}
	for _, m := range msgs {
		if err := t.removeMessage(m, true); err != nil {
			return err
		}
	}
	if err := t.removeSessionOutbound(id); err != nil {
		return err
	}
	for _, sql := range []string{`DELETE FROM events WHERE session = $1`, `DELETE FROM hooks WHERE session = $1`, `DELETE FROM sessions WHERE id = $1`} {
		if _, err := t.exec(sql, id); err != nil {
			return err
		}
	}
	a.ID, a.Token = id, s.Token
	_, err = t.exec(`INSERT INTO archived (id, data) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET data = $2`, id, mustJSON(a))
	return err
}

func (t *tx) DropArchived(id string) error {
	tag, err := t.exec(`DELETE FROM archived WHERE id = $1`, id)
	if err == nil && tag.RowsAffected() == 0 {
		err = store.ErrNotFound
	}
	return err
}
