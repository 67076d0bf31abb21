package pgstore

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

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
	if want := []int{1}; err != nil || !slices.Equal(applied, want) || Latest() != 1 {
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
