package main

import (
	"flag"
	"fmt"
	"log/slog"

	"mxdesk/config"
	"mxdesk/gateway"
)

const migrateStoreUsage = `Usage: mxdesk migrate-store --from badger --to postgres --config FILE

Copies the badger store of the configuration's data_dir into the
PostgreSQL database of store.dsn (with store.password_file), keeping
everything clients, links and reply addresses rely on: mailbox IDs,
UIDVALIDITY, UIDs, UIDNEXT, flags, mod-sequences, expunged UIDs, body
IDs, sessions and their tokens, events, the delivery, CRM and sent-copy
queues, quarantine, archived sessions, agent states, API tokens and
campaigns. The database's sequences are set above the copied IDs.

Stop the server first: the badger store is opened read-only, and a running
server holds its lock (migrate-store says so and exits 1). The source is
checked first (as check-store does); the database is brought to this
mxdesk's schema and must hold no mxdesk data (else it is refused, naming
store.dsn); the copy is one transaction, so a failed one leaves the
database empty. It prints a line per batch copied, the rows per table,
then the check of the copy, whose counts must be the source's.

Flags:
`

func runMigrateStore(args []string, std stdio) int {
	fs := flag.NewFlagSet("migrate-store", flag.ContinueOnError)
	from := fs.String("from", "", "the store to copy: `badger` (the data_dir's)")
	to := fs.String("to", "", "where to copy it: `postgres` (store.dsn's database)")
	path := fs.String("config", "", "configuration `FILE` of the deployment (required)")
	if st, ok := parseFlags(fs, migrateStoreUsage, args, std); !ok {
		return st
	}
	if *from != config.BackendBadger || *to != config.BackendPostgres {
		fmt.Fprintf(std.err, "mxdesk migrate-store: --from %q --to %q: only --from badger --to postgres is supported\n", *from, *to)
		return 2
	}
	cfg, status := loadForOps(fs, *path, migrateStoreUsage, std)
	if cfg == nil {
		return status
	}
	log := slog.New(slog.NewTextHandler(std.err, &slog.HandlerOptions{Level: slog.LevelError}))
	if err := gateway.MigrateStore(cfg, log, std.out); err != nil {
		fmt.Fprintf(std.err, "mxdesk migrate-store: %v\n", err)
		return 1
	}
	return 0
}
