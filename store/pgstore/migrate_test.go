package pgstore

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"mxdesk/store"
	"mxdesk/testutil/pgtest"
)

func pool(t *testing.T, dsn string) *pgxpool.Pool {
	t.Helper()
	p, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// Migrations run once each, in order; an unmigrated database is refused
// by Open, and so is one whose schema is newer than this mxdesk.
func TestMigrations(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Shared(t).NewDB(t)
	if _, err := Open(ctx, dsn, Options{}); !errors.Is(err, ErrSchemaOld) {
		t.Fatalf("Open of an empty database: %v, want ErrSchemaOld", err)
	}
	p := pool(t, dsn)
	applied, err := Migrate(ctx, p)
	if want := []int{1, 2, 3, 4}; err != nil || !slices.Equal(applied, want) || Latest() != 4 {
		t.Fatalf("first Migrate applied %v, %v; want %v", applied, err, want)
	}
	if again, err := Migrate(ctx, p); err != nil || len(again) != 0 {
		t.Fatalf("second Migrate applied %v, %v; want nothing", again, err)
	}
	s, err := Open(ctx, dsn, Options{})
	if err != nil {
		t.Fatalf("Open of a migrated database: %v", err)
	}
	s.Close()
	if _, err := p.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES (99, '0099_future.sql')`); err != nil {
		t.Fatal(err)
	}
	if _, err := Migrate(ctx, p); err == nil || !strings.Contains(err.Error(), "newer than this mxdesk") {
		t.Fatalf("Migrate of a newer schema: %v, want refused", err)
	}
}

// TestMigrationGivesModSeqs: migration 2 gives the mailboxes and messages
// a schema-1 store wrote their first mod-sequence (RFC 7162 3.1: at least
// 1), and the next change takes the one after.
func TestMigrationGivesModSeqs(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Shared(t).NewDB(t)
	p := pool(t, dsn)
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := migrateTo(ctx, p, ms[:1]); err != nil {
		t.Fatal(err)
	}
	// As schema 1's pgstore wrote them (no mod-sequence anywhere).
	_, err = p.Exec(ctx, `
		INSERT INTO mailboxes (id, owner, name, uid_next, data) VALUES
			(1, 'agent', 'INBOX', 2, '{"ID":1,"Owner":"agent","Name":"INBOX","UIDValidity":7,"UIDNext":2,"RecentUID":1}');
		INSERT INTO blobs (id, refs, data) VALUES (1, 1, 'body');
		INSERT INTO messages (mailbox, uid, blob, session, data) VALUES
			(1, 1, 1, '', '{"Mailbox":1,"UID":1,"Blob":1,"Size":4,"Flags":null}')`)
	if err != nil {
		t.Fatal(err)
	}
	if applied, err := migrateTo(ctx, p, ms[:2]); err != nil || !slices.Equal(applied, []int{2}) {
		t.Fatalf("Migrate applied %v, %v; want [2]", applied, err)
	}
	s, err := Open(ctx, dsn, Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.View(func(r store.Reader) error {
		mb, err := r.Mailbox(1)
		if err != nil || mb.HighestModSeq != 1 {
			t.Errorf("mailbox after migration: %+v, %v; want HIGHESTMODSEQ 1", mb, err)
		}
		m, err := r.Message(1, 1)
		if err != nil || m.ModSeq != 1 {
			t.Errorf("message after migration: %+v, %v; want mod-sequence 1", m, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) error { return tx.SetFlags(1, 1, []string{`\Seen`}) })
	if err != nil {
		t.Fatal(err)
	}
	s.View(func(r store.Reader) error {
		if m, err := r.Message(1, 1); err != nil || m.ModSeq != 2 {
			t.Errorf("flag change after migration: %+v, %v; want mod-sequence 2", m, err)
		}
		return nil
	})
}

// Nodes started at once on an empty database take turns migrating it:
// every Open succeeds, each migration is applied once.
func TestMigrateNodesAtOnce(t *testing.T) {
	dsn := pgtest.Shared(t).NewDB(t)
	const nodes = 4
	errs := make(chan error, nodes)
	start := make(chan struct{})
	for range nodes {
		go func() {
			<-start
			s, err := Open(context.Background(), dsn, Options{Migrate: true})
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	close(start)
	for range nodes {
		if err := <-errs; err != nil {
			t.Errorf("a node's Open: %v", err)
		}
	}
	var n, max int
	if err := pool(t, dsn).QueryRow(context.Background(), "SELECT count(*), max(version) FROM schema_migrations").Scan(&n, &max); err != nil {
		t.Fatal(err)
	}
	if n != Latest() || max != Latest() {
		t.Errorf("schema_migrations: %d rows up to version %d, want %d", n, max, Latest())
	}
}
