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
func openBench(t testing.TB) *Store { return openWith(t, Options{}) }

func openWith(t testing.TB, opts Options) *Store {
	t.Helper()
	pg := pgtest.Shared(t)
	pg.Template(t, "pgstore_schema", func(dsn string) error {
		s, err := Open(context.Background(), dsn, Options{Migrate: true})
		if err == nil {
			s.Close()
		}
		return err
	})
	return openDSN(t, pg.NewDBFrom(t, "pgstore_schema"), opts)
}

func openDSN(t testing.TB, dsn string, opts Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestConformance runs the rules every store backend keeps.
func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		Open: func(t *testing.T, opts storetest.Options) store.Store {
			return openWith(t, Options{ExpungedKept: opts.ExpungedKept})
		},
		Reopen: func(t *testing.T, s store.Store) store.Store {
			p := s.(*Store)
			dsn := p.pool.Config().ConnString()
			p.Close()
			return openDSN(t, dsn, Options{ExpungedKept: p.expungedKept})
		},
	})
}
