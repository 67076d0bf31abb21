package gateway

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"mxdesk/config"
	"mxdesk/store/badgerstore"
)

// storeDir is where cfg's store lives.
func storeDir(cfg *config.Config) string { return filepath.Join(cfg.DataDir, "store") }

// storeOptions are the store options of cfg, for Open and Restore alike.
func storeOptions(cfg *config.Config, log *slog.Logger) badgerstore.Options {
	return badgerstore.Options{Sync: cfg.SyncWrites(), MaxValueBytes: cfg.SMTP.MaxMessageBytes + 64<<10,
		MinFreeBytes: int64(cfg.Store.MinFreeSpace), Logger: log,
		ExpungedKept: cfg.IMAP.ExpungedKept}
}

// BackupOffline writes a backup of cfg's store to w while no server runs
// (a running server holds the store: ask it over the admin socket, GET
// /v1/backup).
func BackupOffline(cfg *config.Config, log *slog.Logger, w io.Writer) error {
	if isPostgres(cfg) {
		return errNoBackupOnPostgres()
	}
	if _, err := os.Stat(storeDir(cfg)); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no store in data_dir %s (mxdesk serve has never run with it)", cfg.DataDir)
	}
	st, err := openBadger(cfg, log)
	if err != nil {
		return err
	}
	return errors.Join(st.Backup(w), st.Close())
}

// Restore creates cfg's store from the backup r. It refuses a data_dir
// whose store directory holds anything, and one a server runs on; what a
// failed restore wrote is removed.
func Restore(cfg *config.Config, log *slog.Logger, r io.Reader) error {
	if isPostgres(cfg) {
		return fmt.Errorf("store.backend = %q: mxdesk restore fills only badger's store; restore the PostgreSQL database with pg_restore (or from pg_basebackup) instead (docs/operations.md)",
			config.BackendPostgres)
	}
	if _, err := checkAdminSocket(AdminSocket(cfg)); err != nil {
		return err
	}
	dir := storeDir(cfg)
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("data_dir %s: %w", cfg.DataDir, err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("data_dir %s already has a store (%s is not empty): restore only into a new, empty data_dir", cfg.DataDir, dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data_dir %s: %w", cfg.DataDir, err)
	}
	if err := badgerstore.Restore(dir, storeOptions(cfg, log), r); err != nil {
		if rmErr := os.RemoveAll(dir); rmErr != nil {
			err = errors.Join(err, fmt.Errorf("removing the partial store %s: %w", dir, rmErr))
		}
		return err
	}
	return nil
}

// CheckStore checks the consistency of cfg's store while no server runs
// (badgerstore.Check): it opens the store read-only, and fails with
// badgerstore.ErrLocked when a server holds it. On PostgreSQL it runs
// pgstore.Check, servers running or not.
func CheckStore(cfg *config.Config, log *slog.Logger) (badgerstore.Report, error) {
	if cfg.Store.Backend == config.BackendPostgres {
		return checkPostgres(cfg, log) // migratestore.go
	}
	if _, err := os.Stat(storeDir(cfg)); errors.Is(err, fs.ErrNotExist) {
		return badgerstore.Report{}, fmt.Errorf("no store in data_dir %s (mxdesk serve has never run with it)", cfg.DataDir)
	}
	opts := storeOptions(cfg, log)
	opts.ReadOnly = true
	st, err := badgerstore.Open(storeDir(cfg), opts)
	if err != nil {
		return badgerstore.Report{}, err
	}
	r, err := st.Check()
	return r, errors.Join(err, st.Close())
}
