package gateway_test

import (
	"strings"
	"testing"

	"mxdesk/config"
	"mxdesk/gateway"
	"mxdesk/testutil"
)

// A configuration for the PostgreSQL store is refused by serve with the
// key, never served from badger silently (check-store checks it:
// migratestore_test.go).
func TestPostgresBackendNotServedYet(t *testing.T) {
	cfg := testutil.Config(t, "")
	cfg.Store.Backend, cfg.Store.DSN = config.BackendPostgres, "postgres://mxdesk@127.0.0.1/mxdesk"
	if g, err := gateway.New(cfg, quietLog()); err == nil || !strings.Contains(err.Error(), `store.backend = "postgres"`) {
		if g != nil {
			g.Close()
		}
		t.Fatalf("New with the postgres backend: %v, want an error naming store.backend", err)
	}
}
