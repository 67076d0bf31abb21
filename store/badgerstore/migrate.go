package badgerstore

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"mxdesk/store"
)

// indexes are the indexes added after the first release, each built once
// from the records it indexes when a store without it is opened. The
// marker key c/index/<name> says it is built.
var indexes = []struct {
	name  string
	build func(rd *tx, set func(k []byte) error) error
}{
	{"session-status", func(rd *tx, set func(k []byte) error) error {
		return rd.EachSession(func(s store.Session) error { return set(statusKey(s)) })
	}},
	{"session-status-since", func(rd *tx, set func(k []byte) error) error {
		return rd.EachSession(func(s store.Session) error {
			if k := statusSinceKey(s); k != nil {
				return set(k)
			}
			return nil
		})
	}},
}

// buildIndexes builds the indexes the store does not have yet. It runs
// before the writer starts, so nothing else writes meanwhile; a batch
// (not one transaction, which a large store would overflow) writes the
// keys and the marker goes last, so a crash midway builds again.
func (s *Store) buildIndexes() error {
	for _, ix := range indexes {
		marker := key(pCounter, []byte("index/"+ix.name))
		err := s.db.View(func(txn *badger.Txn) error {
			_, err := txn.Get(marker)
			if err == nil || !errors.Is(err, badger.ErrKeyNotFound) {
				return err
			}
			wb := s.db.NewWriteBatch()
			defer wb.Cancel()
			if err := ix.build(&tx{txn: txn}, func(k []byte) error { return wb.Set(k, nil) }); err != nil {
				return err
			}
			if err := wb.Flush(); err != nil {
				return err
			}
			return s.db.Update(func(txn *badger.Txn) error { return txn.Set(marker, nil) })
		})
		if err != nil {
			return fmt.Errorf("store: build index %s: %w", ix.name, err)
		}
	}
	return nil
}
