package badgerstore

import (
	"maps"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"mxdesk/store"
)

func sessionCounts(t *testing.T, s *Store) map[string]map[string]int {
	t.Helper()
	var got map[string]map[string]int
	if err := s.View(func(rd store.Reader) (err error) { got, err = rd.SessionCounts(); return err }); err != nil {
		t.Fatal(err)
	}
	return got
}

func equalCounts(a, b map[string]map[string]int) bool {
	return maps.EqualFunc(a, b, func(x, y map[string]int) bool { return maps.Equal(x, y) })
}

// A store written before the status index existed gets it when opened.
func TestStatusIndexBuiltForOlderStore(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	update(t, s, func(tx store.Tx) error {
		for i, st := range []string{"Unopened", "Closed", "Closed"} {
			if err := tx.PutSession(store.Session{ID: "S-" + string(rune('A'+i)), Queue: "Support", Status: st}); err != nil {
				return err
			}
		}
		return nil
	})
	// Make it look like a store of the earlier release: no index, no marker.
	err := s.db.Update(func(txn *badger.Txn) error {
		if err := txn.Delete(key(pCounter, []byte("index/session-status"))); err != nil {
			return err
		}
		for _, id := range []string{"S-A", "S-B", "S-C"} {
			st := "Closed"
			if id == "S-A" {
				st = "Unopened"
			}
			if err := txn.Delete(statusKey(store.Session{ID: id, Queue: "Support", Status: st})); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := sessionCounts(t, s); len(got) != 0 {
		t.Fatalf("index not removed for the test: %v", got)
	}
	s.Close()
	s = open(t, dir)
	defer s.Close()
	want := map[string]map[string]int{"Support": {"Unopened": 1, "Closed": 2}}
	if got := sessionCounts(t, s); !equalCounts(got, want) {
		t.Errorf("counts after reopening = %v, want %v", got, want)
	}
}
