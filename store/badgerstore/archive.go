package badgerstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"

	"mxdesk/store"
)

// statusSinceKey is the sst/ key of s: the archive finds the sessions
// closed longest ago without reading every session.
func statusSinceKey(s store.Session) []byte {
	if s.ID == "" || s.StatusSince.IsZero() {
		return nil
	}
	return key(pStatusAt, []byte(s.Status), []byte{0}, u64(uint64(s.StatusSince.UnixNano())), []byte(s.ID))
}

func (t *tx) SessionsInStatus(status string, until time.Time, fn func(id string, since time.Time) (bool, error)) error {
	prefix := key(pStatusAt, []byte(status), []byte{0})
	end := uint64(until.UnixNano())
	err := t.scan(prefix, func(item *badger.Item) error {
		k := item.Key()[len(prefix):]
		if len(k) < 8 {
			return fmt.Errorf("store: bad status time key %q", item.Key())
		}
		at := binary.BigEndian.Uint64(k)
		if at > end {
			return errStop
		}
		more, err := fn(string(k[8:]), time.Unix(0, int64(at)))
		if err == nil && !more {
			return errStop
		}
		return err
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	return err
}

func (t *tx) Archived(id string) (store.Archived, error) {
	var a store.Archived
	err := t.getJSON(key(pArchived, []byte(id)), &a)
	return a, err
}

func (t *tx) DeleteSession(id string, a store.Archived) error {
	s, err := t.Session(id)
	if err != nil {
		return err
	}
	if _, waiting, err := t.lineHead(id); err != nil || waiting {
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
	if err := t.deleteUnder(key(pEvent, []byte(id), []byte{0})); err != nil {
		return err
	}
	if err := t.removeSessionOutbound(id); err != nil {
		return err
	}
	if err := t.removeSessionHooks(id); err != nil {
		return err
	}
	for _, k := range [][]byte{waitingKey(s), activeKey(s), statusKey(s), statusSinceKey(s)} {
		if err := t.reindex(k, nil); err != nil {
			return err
		}
	}
	if !s.Due.IsZero() {
		if err := t.txn.Delete(dueKey(s.Due, id)); err != nil {
			return err
		}
	}
	if err := t.txn.Delete(key(pSession, []byte(id))); err != nil {
		return err
	}
	// tok/ and mid/ stay: they lead to the archived record now.
	a.ID, a.Token = id, s.Token
	return t.setJSON(key(pArchived, []byte(id)), a)
}

func (t *tx) DropArchived(id string) error {
	if _, err := t.Archived(id); err != nil {
		return err
	}
	return t.txn.Delete(key(pArchived, []byte(id)))
}

// deleteUnder deletes every key with prefix.
func (t *tx) deleteUnder(prefix []byte) error {
	var keys [][]byte
	err := t.scan(prefix, func(item *badger.Item) error {
		keys = append(keys, item.KeyCopy(nil))
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := t.txn.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// removeSessionOutbound drops the queued outbound messages of a session.
// The queue is short (it drains within hours), so a scan is cheap.
func (t *tx) removeSessionOutbound(session string) error {
	var ids []uint64
	err := t.scan([]byte(pOutbound), func(item *badger.Item) error {
		var o store.Outbound
		if err := t.getJSON(item.Key(), &o); err != nil {
			return err
		}
		if o.Session == session {
			ids = append(ids, o.ID)
		}
		return nil
	})
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
