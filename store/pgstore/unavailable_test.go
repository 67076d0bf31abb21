package pgstore

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"

	"mxdesk/store"
	"mxdesk/testutil/pgtest"
)

// terminateOthers ends every other session on the database at dsn, as a
// server restart does, and waits until they are gone: the store's pooled
// connections are then dead without the pool knowing.
func terminateOthers(t *testing.T, dsn string) {
	t.Helper()
	ctx := context.Background()
	p := pool(t, dsn)
	// Two statements: in one, nothing orders the terminations after the
	// filter.
	rows, err := p.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
	if err != nil {
		t.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil || len(pids) == 0 {
		t.Fatalf("the store's connections: %v, %v", pids, err)
	}
	for _, pid := range pids {
		var ended bool
		if err := p.QueryRow(ctx, "SELECT pg_terminate_backend($1, 10000)", pid).Scan(&ended); err != nil || !ended {
			t.Fatalf("terminating %d: %v %v", pid, ended, err)
		}
	}
}

// A connection the server closed while it sat in the pool costs no
// Update and no View: the pool hands it out (it was used less than a
// second ago, so it is not pinged), BEGIN fails on it, and the call is
// run once more on a fresh connection.
func TestLostPooledConnectionRetried(t *testing.T) {
	s := openTest(t)
	dsn := s.pool.Config().ConnString()
	create := func(name string) error {
		return s.Update(context.Background(), store.UpdateOptions{}, func(tx store.Tx) error {
			_, err := tx.CreateMailbox(store.Mailbox{Name: name})
			return err
		})
	}
	if err := create("Queues/Support"); err != nil {
		t.Fatal(err)
	}
	terminateOthers(t, dsn)
	if err := create("Queues/Billing"); err != nil {
		t.Errorf("Update on a pool whose connection the server closed: %v", err)
	}
	terminateOthers(t, dsn)
	var names []string
	err := s.View(func(r store.Reader) error {
		mbs, err := r.Mailboxes("")
		for _, mb := range mbs {
			names = append(names, mb.Name)
		}
		return err
	})
	if err != nil || len(names) != 2 {
		t.Errorf("View on a pool whose connection the server closed: %v %v, want both mailboxes", names, err)
	}
}

// With the server out of reach, Update and View fail with
// store.ErrUnavailable (the servers answer 451 4.3.0 and NO
// [UNAVAILABLE]), Ping too.
func TestServerGoneIsUnavailable(t *testing.T) {
	pg := pgtest.New(t)
	dsn := pg.NewDB(t)
	s := openDSN(t, dsn, Options{Migrate: true})
	pg.Stop(t)
	err := s.Update(context.Background(), store.UpdateOptions{}, func(tx store.Tx) error {
		_, err := tx.CreateMailbox(store.Mailbox{Name: "Queues/Support"})
		return err
	})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Update with the server stopped: %v, want store.ErrUnavailable", err)
	}
	if err := s.View(func(r store.Reader) error { _, err := r.Mailboxes(""); return err }); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("View with the server stopped: %v, want store.ErrUnavailable", err)
	}
	if err := s.Ping(context.Background()); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Ping with the server stopped: %v, want store.ErrUnavailable", err)
	}
	pg.Start(t)
	if err := s.Ping(context.Background()); err != nil {
		t.Errorf("Ping after the server started again: %v", err)
	}
}
