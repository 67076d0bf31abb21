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
func openTest(t *testing.T) *Store { return openBench(t) }

// openBench is openTest for tests and benchmarks alike.
func openBench(t testing.TB) *Store {
	t.Helper()
	pg := pgtest.Shared(t)
	pg.Template(t, "pgstore_schema", func(dsn string) error {
		s, err := Open(context.Background(), dsn, Options{Migrate: true})
		if err == nil {
			s.Close()
		}
		return err
	})
	s, err := Open(context.Background(), pg.NewDBFrom(t, "pgstore_schema"), Options{})
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
