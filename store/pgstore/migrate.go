package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The schema's migrations, applied in the order of their number and never
// changed once released: a change is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one numbered schema step.
type migration struct {
	version int
	name    string
	sql     string
}

// migrateLock is the advisory lock that keeps two nodes from migrating
// the same database at once.
const migrateLock = 0x6d78_6d69 // "mxmi"

// ErrSchemaOld is returned by Open when the database lacks migrations
// this mxdesk has: run mxdesk migrate.
var ErrSchemaOld = errors.New("the database schema is older than this mxdesk: run mxdesk migrate")

func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("pgstore: migration %s is not named NNNN_what.sql", e.Name())
		}
		b, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("pgstore: migration %s: want version %d", m.name, i+1)
		}
	}
	return out, nil
}

// Latest is the schema version this mxdesk writes.
func Latest() int {
	ms, err := migrations()
	if err != nil {
		panic(err) // the embedded files are checked by the tests
	}
	return len(ms)
}

// Migrate brings the database's schema to Latest, one transaction per
// migration, and returns the versions it applied. A database newer than
// this mxdesk is refused: migrations only go forward.
func Migrate(ctx context.Context, pool *pgxpool.Pool) (applied []int, err error) {
	ms, err := migrations()
	if err != nil {
		return nil, err
	}
	return migrateTo(ctx, pool, ms)
}

// migrateTo applies the migrations ms (the first ones, in order): a test
// stops at an older version to write data the next one must carry.
func migrateTo(ctx context.Context, pool *pgxpool.Pool, ms []migration) (applied []int, err error) {
	// Under the lock: two CREATE TABLE IF NOT EXISTS at once can both
	// try to create it, and one fails (a unique violation in the catalog).
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrateLock); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: migrate: %w", err)
	}
	for _, m := range ms {
		done, err := apply(ctx, pool, m)
		if err != nil {
			return applied, fmt.Errorf("pgstore: migration %s: %w", m.name, err)
		}
		if done {
			applied = append(applied, m.version)
		}
	}
	v, err := schemaVersion(ctx, pool)
	if err == nil && v > Latest() {
		err = fmt.Errorf("pgstore: the database schema is at version %d, newer than this mxdesk's %d: upgrade mxdesk", v, Latest())
	}
	return applied, err
}

// apply runs m unless it was applied already (by another node, perhaps
// at the same moment: the advisory lock makes them take turns).
func apply(ctx context.Context, pool *pgxpool.Pool, m migration) (bool, error) {
	done := false
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrateLock); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM schema_migrations WHERE version = $1", m.version).Scan(&n); err != nil || n > 0 {
			return err
		}
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version, m.name)
		done = err == nil
		return err
	})
	return done, err
}

// schemaVersion is the highest migration applied (0: none).
func schemaVersion(ctx context.Context, pool *pgxpool.Pool) (int, error) {
	var v int
	err := pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v)
	var pgErr interface{ SQLState() string }
	if errors.As(err, &pgErr) && pgErr.SQLState() == "42P01" { // undefined_table
		return 0, nil
	}
	return v, err
}
