package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	"mxdesk/config"
	"mxdesk/store/badgerstore"
	"mxdesk/store/pgstore"
)

// MigrateStore copies the badger store in cfg's data_dir into the
// PostgreSQL database of store.dsn (mxdesk migrate-store --from badger
// --to postgres), keeping every ID, UID, mod-sequence and token. It runs
// offline: the badger store is opened read-only (badgerstore.ErrLocked
// while a server holds it). It checks the source first, brings the
// database to this mxdesk's schema, refuses a database that already
// holds mxdesk data, copies in one transaction and checks the copy,
// whose counts must be the source's. It writes progress lines, the rows
// copied per table and both checks' summaries to out.
func MigrateStore(cfg *config.Config, log *slog.Logger, out io.Writer) error {
	if cfg.Store.DSN == "" {
		return fmt.Errorf("store.dsn is not set: set store.backend = %q and store.dsn to the database to copy into", config.BackendPostgres)
	}
	src, err := openBadgerToCopy(cfg, log)
	if err != nil {
		return err
	}
	defer src.Close()
	want, err := src.Check()
	if err != nil {
		return fmt.Errorf("data_dir %s: check: %w", cfg.DataDir, err)
	}
	if len(want.Problems) > 0 {
		return fmt.Errorf("data_dir %s: the badger store is inconsistent (%d problems; mxdesk check-store lists them): not copying it", cfg.DataDir, len(want.Problems))
	}
	fmt.Fprintf(out, "source consistent: %s\n", want.Summary())
	dst, err := openPostgresStore(cfg, log, true)
	if err != nil {
		return err
	}
	defer dst.Close()
	counts, err := dst.Import(context.Background(), src.Export, func(table string, rows int) {
		fmt.Fprintf(out, "copied %d rows into %s\n", rows, table)
	})
	if errors.Is(err, pgstore.ErrNotEmpty) {
		return fmt.Errorf("store.dsn: %w", err)
	}
	if err != nil {
		return fmt.Errorf("store.dsn: copy failed, nothing was kept: %w", err)
	}
	printCopied(out, counts)
	return checkCopy(dst, want, out)
}

// openBadgerToCopy opens cfg's badger store read-only.
func openBadgerToCopy(cfg *config.Config, log *slog.Logger) (*badgerstore.Store, error) {
	if _, err := os.Stat(storeDir(cfg)); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no store in data_dir %s (mxdesk serve has never run with it)", cfg.DataDir)
	}
	opts := storeOptions(cfg, log)
	opts.ReadOnly = true
	st, err := badgerstore.Open(storeDir(cfg), opts)
	if err != nil {
		return nil, fmt.Errorf("data_dir %s: %w", cfg.DataDir, err)
	}
	return st, nil
}

// printCopied writes the rows copied per table, in copy order.
func printCopied(out io.Writer, counts map[string]int) {
	parts := make([]string, 0, len(counts))
	for _, table := range pgstore.ImportTables() {
		parts = append(parts, fmt.Sprintf("%s %d", table, counts[table]))
	}
	fmt.Fprintf(out, "copied: %s\n", strings.Join(parts, ", "))
}

// checkCopy checks the copy and compares its counts with the source's.
func checkCopy(dst *pgstore.Store, want badgerstore.Report, out io.Writer) error {
	got, err := dst.Check(context.Background())
	if err != nil {
		return fmt.Errorf("store.dsn: %w", err)
	}
	for _, p := range got.Problems {
		fmt.Fprintln(out, p)
	}
	if len(got.Problems) > 0 {
		return fmt.Errorf("store.dsn: the copy is inconsistent: %d problems (%s)", len(got.Problems), got.Summary())
	}
	if got.Summary() != want.Summary() {
		return fmt.Errorf("store.dsn: the copy holds %s, the source %s", got.Summary(), want.Summary())
	}
	fmt.Fprintf(out, "copy consistent: %s\n", got.Summary())
	return nil
}

// checkPostgres is CheckStore for store.backend = "postgres": the
// database's schema must be this mxdesk's (mxdesk migrate).
func checkPostgres(cfg *config.Config, log *slog.Logger) (badgerstore.Report, error) {
	st, err := openPostgresStore(cfg, log, false)
	if err != nil {
		return badgerstore.Report{}, err
	}
	defer st.Close()
	r, err := st.Check(context.Background())
	if err != nil {
		return r, fmt.Errorf("store.dsn: %w", err)
	}
	return r, nil
}
