package pgstore

import (
	"context"
	"testing"

	"mxdesk/store"
	"mxdesk/store/storetest"
	"mxdesk/testutil/pgtest"
)

// openTest opens a store on a fresh database of the package's postgres,
// migrated; it is closed when the test ends.
func openTest(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), pgtest.Shared(t).NewDB(t), Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestConformance runs the rules every store backend keeps.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTest(t) })
}
