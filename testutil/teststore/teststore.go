// Package teststore gives tests the store of the current run, so that the
// router's and the IMAP server's suites hold both backends to the same
// rules (issue 22): badger in a directory, checked for consistency when
// it closes (badgerstore.Check), or a fresh database on the package's
// PostgreSQL (testutil/pgtest) when the run is the postgres one, checked
// (pgstore.Check) when its test ends.
//
// MXDESK_TEST_STORE chooses: "badger" or "postgres" runs a package's tests
// on that backend alone; unset, a package whose TestMain exits through
// BothBackends runs them on badger, then once more, in a child process of
// the same test binary with the same flags, on postgres:
//
//	func TestMain(m *testing.M) { os.Exit(teststore.BothBackends(panics.Guard(m.Run()))) }
package teststore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"mxdesk/store"
	"mxdesk/store/badgerstore"
	"mxdesk/store/pgstore"
	"mxdesk/testutil/pgtest"
)

// Env is the environment variable that chooses the backend of a run.
const Env = "MXDESK_TEST_STORE"

// The backends Env names.
const (
	Badger   = "badger"
	Postgres = "postgres"
)

// Backend is the backend of this run: Env's value, badger when unset. An
// unknown value panics, naming Env: no run may pass on a backend it did
// not mean.
func Backend() string {
	switch v := os.Getenv(Env); v {
	case "":
		return Badger
	case Badger, Postgres:
		return v
	default:
		panic(fmt.Sprintf("teststore: %s=%q: want %q or %q", Env, v, Badger, Postgres))
	}
}

// OnPostgres reports whether this run's stores are PostgreSQL databases.
func OnPostgres() bool { return Backend() == Postgres }

// Options tune the stores Open opens.
type Options struct {
	// NoSync skips badger's fsync per commit (benchmarks); postgres
	// always commits durably.
	NoSync bool
	// ExpungedKept bounds the expunged UIDs kept per mailbox
	// (imap.expunged_kept); 0: the default.
	ExpungedKept int
}

// Open opens the store of the run kept under dir (a new temporary
// directory when ""): badger's files in dir, or on postgres the database
// that dir stands for, created empty on its first Open in the test and
// found again by later ones, so a harness restarts on the same data by
// opening the same dir. The caller closes the store; the database is
// dropped when the test that created it ends.
func Open(t testing.TB, dir string, opts Options) store.Store {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	if OnPostgres() {
		return openPostgres(t, dir, opts)
	}
	st, err := badgerstore.Open(dir, badgerstore.Options{Sync: !opts.NoSync, CheckOnClose: true, ExpungedKept: opts.ExpungedKept})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// template is the database holding the migrated schema, copied per test.
const template = "teststore_schema"

var (
	dbsMu sync.Mutex
	dbs   = map[string]string{} // dir given to Open -> its database's DSN
)

func openPostgres(t testing.TB, dir string, opts Options) store.Store {
	t.Helper()
	dsn := databaseFor(t, filepath.Clean(dir))
	st, err := pgstore.Open(context.Background(), dsn, pgstore.Options{ExpungedKept: opts.ExpungedKept})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// databaseFor is the DSN of dir's database, made from the template on
// first use.
func databaseFor(t testing.TB, dir string) string {
	t.Helper()
	dbsMu.Lock()
	defer dbsMu.Unlock()
	if dsn, ok := dbs[dir]; ok {
		return dsn
	}
	pg := pgtest.Shared(t)
	pg.Template(t, template, func(dsn string) error {
		s, err := pgstore.Open(context.Background(), dsn, pgstore.Options{Migrate: true})
		if err == nil {
			s.Close()
		}
		return err
	})
	dsn := pg.NewDBFrom(t, template)
	dbs[dir] = dsn
	t.Cleanup(func() {
		dbsMu.Lock()
		delete(dbs, dir)
		dbsMu.Unlock()
		checkDatabase(t, dsn)
	})
	return dsn
}

// checkDatabase runs the store's consistency check (pgstore.Check) on a
// test's database once the test closed its stores, as badger's
// CheckOnClose does.
func checkDatabase(t testing.TB, dsn string) {
	t.Helper()
	st, err := pgstore.Open(context.Background(), dsn, pgstore.Options{})
	if err != nil {
		t.Errorf("checking the test's database: %v", err)
		return
	}
	defer st.Close()
	rep, err := st.Check(context.Background())
	if err != nil {
		t.Errorf("checking the test's database: %v", err)
		return
	}
	for _, p := range rep.Problems {
		t.Errorf("store inconsistent: %s", p)
	}
}
