package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mxdesk/testutil/pgtest"
)

// withStore appends a [store] table to the configuration file at path.
func withStore(t *testing.T, path, table string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("\n[store]\n" + table + "\n"); err != nil {
		t.Fatal(err)
	}
}

// migrate brings a fresh database to the schema once, then finds nothing
// to do; a badger configuration has nothing to migrate.
func TestMigrate(t *testing.T) {
	badgerPath, _ := sessionConfig(t)
	if status, _, errOut := runCmd(t, "", "migrate", "--config", badgerPath); status != 1 || !strings.Contains(errOut, `store.backend = "badger": nothing to migrate`) {
		t.Errorf("badger store: status %d, stderr %q", status, errOut)
	}

	path, _ := sessionConfig(t)
	pw := filepath.Join(t.TempDir(), "db-password")
	if err := os.WriteFile(pw, []byte("not-needed-on-trust\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	withStore(t, path, `backend = "postgres"`+"\ndsn = \""+pgtest.Shared(t).NewDB(t)+"\"\npassword_file = \""+pw+"\"")
	status, out, errOut := runCmd(t, "", "migrate", "--config", path)
	if want := "applied migration 1\napplied migration 2\napplied migration 3\napplied migration 4\nschema at version 4\n"; status != 0 || out != want || errOut != "" {
		t.Errorf("first migrate: status %d, stdout %q, stderr %q; want 0, %q", status, out, errOut, want)
	}
	status, out, errOut = runCmd(t, "", "migrate", "--config", path)
	if want := "schema at version 4\n"; status != 0 || out != want || errOut != "" {
		t.Errorf("second migrate: status %d, stdout %q, stderr %q; want 0, %q", status, out, errOut, want)
	}
}

// A database that can't be reached fails with the key, never showing
// the DSN's password.
func TestMigrateUnreachable(t *testing.T) {
	path, _ := sessionConfig(t)
	withStore(t, path, `backend = "postgres"`+"\n"+`dsn = "postgres://mxdesk:hunter2@127.0.0.1:1/mxdesk?connect_timeout=5"`)
	status, out, errOut := runCmd(t, "", "migrate", "--config", path)
	if status != 1 || out != "" || !strings.Contains(errOut, "mxdesk migrate: store.dsn:") || strings.Contains(errOut, "hunter2") {
		t.Errorf("unreachable database: status %d, stdout %q, stderr %q", status, out, errOut)
	}
}
