package badgerstore

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"time"

	"github.com/dgraph-io/badger/v4"

	"mxdesk/store"
)

// The CRM outbox (SPEC §11): crm/<id> holds each event; crml/<session>
// NUL <id> lists the live (not dead) events of a session in order, its
// line; crmd/<next attempt><id> indexes the first of each line, the only
// one that may be sent.
const (
	pHook     = "crm/"
	pHookLine = "crml/"
	pHookDue  = "crmd/"
)

func hookKey(id uint64) []byte { return key(pHook, u64(id)) }

func hookLineKey(h store.Hook) []byte {
	return key(pHookLine, []byte(h.Session), []byte{0}, u64(h.ID))
}

func hookDueKey(h store.Hook) []byte {
	return key(pHookDue, u64(uint64(h.NextAttempt.UnixNano())), u64(h.ID))
}

func (t *tx) Hook(id uint64) (store.Hook, error) {
	var h store.Hook
	err := t.getJSON(hookKey(id), &h)
	return h, err
}

func (t *tx) DueHooks(until time.Time, limit int) ([]store.Hook, error) {
	var out []store.Hook
	end := uint64(until.UnixNano())
	err := t.scan([]byte(pHookDue), func(item *badger.Item) error {
		k := item.Key()[len(pHookDue):]
		if len(k) != 16 || binary.BigEndian.Uint64(k) > end || len(out) >= limit {
			return errStop
		}
		h, err := t.Hook(binary.BigEndian.Uint64(k[8:]))
		if err != nil {
			return err
		}
		out = append(out, h)
		return nil
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	return out, err
}

func (t *tx) Hooks(limit int) ([]store.Hook, error) {
	var out []store.Hook
	err := t.scan([]byte(pHook), func(item *badger.Item) error {
		if limit > 0 && len(out) >= limit {
			return errStop
		}
		var h store.Hook
		if err := item.Value(func(v []byte) error { return json.Unmarshal(v, &h) }); err != nil {
			return err
		}
		out = append(out, h)
		return nil
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	return out, err
}

// lineHead is the first live event of session's line (ok false: none).
func (t *tx) lineHead(session string) (h store.Hook, ok bool, err error) {
	prefix := key(pHookLine, []byte(session), []byte{0})
	err = t.scan(prefix, func(item *badger.Item) error {
		k := item.Key()[len(prefix):]
		if len(k) != 8 {
			return nil
		}
		h, err = t.Hook(binary.BigEndian.Uint64(k))
		ok = err == nil
		if err != nil {
			return err
		}
		return errStop
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	return h, ok, err
}

// changeLine applies change to session's line and moves the due index to
// the line's new first event, publishing HookQueued when it changed.
func (t *tx) changeLine(session string, change func() error) error {
	before, had, err := t.lineHead(session)
	if err != nil {
		return err
	}
	if had {
		if err := t.txn.Delete(hookDueKey(before)); err != nil {
			return err
		}
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
	return t.txn.Set(hookDueKey(after), nil)
}

func (t *tx) EnqueueHook(h store.Hook) (store.Hook, error) {
	id, err := t.counter("crm")
	if err != nil {
		return h, err
	}
	h.ID = id
	return h, t.changeLine(h.Session, func() error { return t.putHook(h, store.Hook{}) })
}

// putHook stores h (which was old, zero for a new one) and keeps its
// place in its session's line.
func (t *tx) putHook(h, old store.Hook) error {
	if old.ID != 0 && !old.Dead {
		if err := t.txn.Delete(hookLineKey(old)); err != nil {
			return err
		}
	}
	if !h.Dead {
		if err := t.txn.Set(hookLineKey(h), nil); err != nil {
			return err
		}
	}
	return t.setJSON(hookKey(h.ID), h)
}

func (t *tx) UpdateHook(h store.Hook) error {
	old, err := t.Hook(h.ID)
	if err != nil {
		return err
	}
	next := old
	next.Since, next.NextAttempt, next.Attempts, next.LastError, next.Dead = h.Since, h.NextAttempt, h.Attempts, h.LastError, h.Dead
	return t.changeLine(old.Session, func() error { return t.putHook(next, old) })
}

func (t *tx) RemoveHook(id uint64) error {
	old, err := t.Hook(id)
	if err != nil {
		return err
	}
	return t.changeLine(old.Session, func() error {
		if !old.Dead {
			if err := t.txn.Delete(hookLineKey(old)); err != nil {
				return err
			}
		}
		return t.txn.Delete(hookKey(id))
	})
}

// removeSessionHooks drops the CRM events of an archived session: only
// dead letters, since DeleteSession refuses a session with live ones.
func (t *tx) removeSessionHooks(session string) error {
	var dead []uint64
	err := t.scan([]byte(pHook), func(item *badger.Item) error {
		var h store.Hook
		if err := item.Value(func(v []byte) error { return json.Unmarshal(v, &h) }); err != nil {
			return err
		}
		if h.Session == session {
			dead = append(dead, h.ID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, id := range dead {
		if err := t.txn.Delete(hookKey(id)); err != nil {
			return err
		}
	}
	return nil
}
