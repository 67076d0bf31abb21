package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func storePasswordFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "db-password")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// The store is badger's unless store.backend says "postgres".
func TestStoreBackendDefault(t *testing.T) {
	c, errs := parse(t, base)
	if errs != nil || c.Store.Backend != BackendBadger {
		t.Fatalf("store.backend = %q, %v; want %q", c.Store.Backend, errs, BackendBadger)
	}
	pw := storePasswordFile(t, "s3cret\n")
	c, errs = parse(t, edit(t, "[listen]", "[store]\nbackend = \"postgres\"\ndsn = \"postgres://mxdesk@db.example.test/mxdesk\"\npassword_file = \""+pw+"\"\n[listen]"))
	if errs != nil || c.Store.Backend != BackendPostgres || c.Store.DSN != "postgres://mxdesk@db.example.test/mxdesk" {
		t.Fatalf("postgres store: %+v, %v", c.Store, errs)
	}
	if got, err := ReadStorePassword(pw); got != "s3cret" || err != nil {
		t.Errorf("ReadStorePassword = %q, %v", got, err)
	}
}

// Each wrong store key is reported with its key and line.
func TestStoreBackendValidation(t *testing.T) {
	pw := storePasswordFile(t, "s3cret\n")
	empty := storePasswordFile(t, "\n")
	for _, tt := range []struct {
		name, keys, key, msg string
	}{
		{"unknown backend", `backend = "mysql"`, "store.backend", `"mysql": want "badger" or "postgres"`},
		{"dsn required", `backend = "postgres"`, "store.dsn", `is required with store.backend = "postgres"`},
		{"dsn unparsable", "backend = \"postgres\"\ndsn = \"postgres://[::1\"", "store.dsn", "not a PostgreSQL URL or key=value string"},
		{"dsn with badger", `dsn = "postgres://db.example.test/mxdesk"`, "store.dsn", `is only for store.backend = "postgres"`},
		{"password_file with badger", `password_file = "` + pw + `"`, "store.password_file", `is only for store.backend = "postgres"`},
		{"two passwords", "backend = \"postgres\"\ndsn = \"postgres://mxdesk:pw@db.example.test/mxdesk\"\npassword_file = \"" + pw + "\"", "store.password_file", "store.dsn has a password too"},
		{"missing password file", "backend = \"postgres\"\ndsn = \"host=db.example.test\"\npassword_file = \"/nonexistent/pw\"", "store.password_file", "no such file"},
		{"empty password file", "backend = \"postgres\"\ndsn = \"host=db.example.test\"\npassword_file = \"" + empty + "\"", "store.password_file", "the first line is empty"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := parse(t, edit(t, "[listen]", "[store]\n"+tt.keys+"\n[listen]"))
			for _, e := range errs {
				if e.Key == tt.key && strings.Contains(e.Msg, tt.msg) {
					if e.Line == 0 {
						t.Errorf("%s: no line", e.Key)
					}
					if strings.Contains(e.Msg, ":pw@") {
						t.Errorf("the error shows the DSN's password: %s", e.Msg)
					}
					return
				}
			}
			t.Errorf("want an error with key %q containing %q, got:\n%v", tt.key, tt.msg, errs)
		})
	}
}
