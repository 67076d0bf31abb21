package badgerstore

import (
	"testing"

	"mxdesk/store"
	"mxdesk/store/storetest"
)

// TestConformance runs the rules every store backend keeps; each store
// is checked for consistency when its test ends.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := Open(t.TempDir(), Options{Sync: true, CheckOnClose: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
		return s
	})
}
