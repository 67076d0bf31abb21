package main

import (
	"context"
	"flag"
	"fmt"

	"mxdesk/config"
	"mxdesk/store/pgstore"
)

const migrateUsage = `Usage: mxdesk migrate --config FILE

Brings the PostgreSQL database of store.dsn (store.backend = "postgres")
to the schema of this mxdesk: it applies, in order, each migration built
into the binary that the database lacks, one transaction each, and prints
what it applied. Migrations only go forward; a database already migrated
by a newer mxdesk is refused. Several nodes may run it at once: they take
turns on a lock in the database.

Flags:
`

func runMigrate(args []string, std stdio) int {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	path := fs.String("config", "", "configuration `FILE` of the deployment (required)")
	if st, ok := parseFlags(fs, migrateUsage, args, std); !ok {
		return st
	}
	cfg, status := loadForOps(fs, *path, migrateUsage, std)
	if cfg == nil {
		return status
	}
	if cfg.Store.Backend != config.BackendPostgres {
		fmt.Fprintf(std.err, "mxdesk migrate: store.backend = %q: nothing to migrate (badger's store needs no migration; set store.backend = %q and store.dsn for PostgreSQL)\n",
			cfg.Store.Backend, config.BackendPostgres)
		return 1
	}
	if err := migrate(cfg, std); err != nil {
		fmt.Fprintf(std.err, "mxdesk migrate: %v\n", err)
		return 1
	}
	return 0
}

func migrate(cfg *config.Config, std stdio) error {
	var password string
	if cfg.Store.PasswordFile != "" {
		var err error
		if password, err = config.ReadStorePassword(cfg.Store.PasswordFile); err != nil {
			return fmt.Errorf("store.password_file: %w", err)
		}
	}
	ctx := context.Background()
	pool, err := pgstore.Connect(ctx, cfg.Store.DSN, password)
	if err != nil {
		return err
	}
	defer pool.Close()
	applied, err := pgstore.Migrate(ctx, pool)
	for _, v := range applied {
		fmt.Fprintf(std.out, "applied migration %d\n", v)
	}
	if err != nil {
		return fmt.Errorf("store.dsn: %w", err)
	}
	fmt.Fprintf(std.out, "schema at version %d\n", pgstore.Latest())
	return nil
}
