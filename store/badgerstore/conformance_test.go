package badgerstore

import (
	"testing"

	"mxdesk/store"
	"mxdesk/store/storetest"
)

// TestConformance runs the rules every store backend keeps; each store
// is checked for consistency when it is closed.
func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		Open: func(t *testing.T, opts storetest.Options) store.Store {
			return openConformance(t, t.TempDir(), opts.ExpungedKept)
		},
		Reopen: func(t *testing.T, s store.Store) store.Store {
			b := s.(*Store)
			if err := b.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
			return openConformance(t, b.dir, b.expungedKept)
		},
	})
}

func openConformance(t *testing.T, dir string, expungedKept int) *Store {
	s, err := Open(dir, Options{Sync: true, CheckOnClose: true, ExpungedKept: expungedKept})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}
