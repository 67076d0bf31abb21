package gateway

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"mxdesk/config"
)

// spoolDir is where the MX and submission keep message bodies past
// limits.spool_threshold while they arrive: data_dir/spool.
func spoolDir(cfg *config.Config) string { return filepath.Join(cfg.DataDir, "spool") }

// prepareSpool makes data_dir/spool (0700) and removes what a previous
// run left there: a body being received when the process died, which no
// client was answered 250 for. It runs once the store is open, so no
// other mxdesk uses this data_dir.
func prepareSpool(cfg *config.Config, log *slog.Logger) (string, error) {
	dir := spoolDir(cfg)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("data_dir %s: spool directory: %w", cfg.DataDir, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("data_dir %s: spool directory: %w", cfg.DataDir, err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return "", fmt.Errorf("data_dir %s: remove a leftover spool file: %w", cfg.DataDir, err)
		}
	}
	if len(entries) > 0 {
		log.Info("removed the spool files of messages being received when mxdesk last stopped", "dir", dir, "files", len(entries))
	}
	return dir, nil
}
