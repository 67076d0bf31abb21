package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// On the PostgreSQL store, backup and restore name PostgreSQL's own
// tools and write nothing, without connecting to the database.
func TestBackupRestoreOnPostgres(t *testing.T) {
	path, _ := sessionConfig(t)
	withStore(t, path, `backend = "postgres"`+"\n"+`dsn = "postgres://mxdesk@127.0.0.1:1/mxdesk"`)
	out := filepath.Join(t.TempDir(), "mxdesk.backup")
	status, _, errOut := runCmd(t, "", "backup", "--config", path, "--out", out)
	if status != 1 || !strings.Contains(errOut, `store.backend = "postgres"`) || !strings.Contains(errOut, "pg_dump") {
		t.Errorf("backup: status %d, stderr %q; want 1 naming store.backend and pg_dump", status, errOut)
	}
	if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("backup left %s: %v", out, err)
	}
	if err := os.WriteFile(out, []byte("a pg_dump file, say"), 0o600); err != nil {
		t.Fatal(err)
	}
	status, _, errOut = runCmd(t, "", "restore", "--config", path, "--in", out)
	if status != 1 || !strings.Contains(errOut, `store.backend = "postgres"`) || !strings.Contains(errOut, "pg_restore") {
		t.Errorf("restore: status %d, stderr %q; want 1 naming store.backend and pg_restore", status, errOut)
	}
}
