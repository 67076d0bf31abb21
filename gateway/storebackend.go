package gateway

import (
	"fmt"

	"mxdesk/config"
)

// checkBackend refuses a store the gateway can't serve yet: the
// PostgreSQL store exists (store/pgstore, mxdesk migrate) but the
// gateway's duties (space reserve, backup, check-store, the cross-node
// change feed) are not wired to it (issue 22, docs/scale-out.md).
func checkBackend(cfg *config.Config) error {
	if cfg.Store.Backend == config.BackendBadger || cfg.Store.Backend == "" {
		return nil
	}
	return fmt.Errorf("store.backend = %q: serving from PostgreSQL is not finished yet (docs/scale-out.md); mxdesk migrate prepares the database, serve needs store.backend = %q for now",
		cfg.Store.Backend, config.BackendBadger)
}
