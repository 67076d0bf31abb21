package config

import (
	"fmt"
	"os"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// The values of store.backend.
const (
	BackendBadger   = "badger"   // the embedded store in data_dir (default)
	BackendPostgres = "postgres" // a PostgreSQL database shared by nodes (store.dsn)
)

// checkStoreBackend validates store.backend and the keys that go with
// "postgres": a dsn that parses, and at most one place for the password.
func (p *parser) checkStoreBackend() {
	c := &p.cfg.Store
	switch c.Backend {
	case BackendBadger:
		for _, k := range []struct{ key, value string }{{"store.dsn", c.DSN}, {"store.password_file", c.PasswordFile}} {
			if k.value != "" {
				p.errorf(k.key, "is only for store.backend = %q (the store is badger's, in data_dir)", BackendPostgres)
			}
		}
	case BackendPostgres:
		p.checkPostgresDSN(c)
	default:
		p.errorf("store.backend", "%q: want %q or %q", c.Backend, BackendBadger, BackendPostgres)
	}
}

func (p *parser) checkPostgresDSN(c *Store) {
	if c.DSN == "" {
		p.errorf("store.dsn", `is required with store.backend = "postgres" ("postgres://mxdesk@db.example.com/mxdesk" or "host=db.example.com user=mxdesk dbname=mxdesk")`)
		return
	}
	cfg, err := pgconn.ParseConfig(c.DSN)
	if err != nil {
		// pgconn's error quotes the DSN, password included: say less.
		p.errorf("store.dsn", "not a PostgreSQL URL or key=value string")
		return
	}
	if c.PasswordFile == "" {
		return
	}
	if cfg.Password != "" {
		p.errorf("store.password_file", "store.dsn has a password too: keep it in one place (password_file keeps it out of the configuration)")
	}
	if _, err := ReadStorePassword(c.PasswordFile); err != nil {
		p.errorf("store.password_file", "%v", err)
	}
}

// ReadStorePassword reads the database password in path
// (store.password_file): its first line.
func ReadStorePassword(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	pw, _, _ := strings.Cut(string(b), "\n")
	pw = strings.TrimSuffix(pw, "\r")
	if pw == "" {
		return "", fmt.Errorf("%s: the first line is empty: want the password", path)
	}
	return pw, nil
}
