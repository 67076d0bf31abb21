package main

import (
	"flag"
	"fmt"
	"log/slog"

	"mxdesk/gateway"
)

const checkStoreUsage = `Usage: mxdesk check-store --config FILE

Checks the consistency of the store in the configuration's data_dir: it
rebuilds every index (sessions by due time, queue, agent and status, reply
tokens, each session's messages, mailbox names, the delivery queue by
next attempt), every body's reference count and every counter from the
records, and compares them with what is stored. Each difference is printed
on a line of its own, with its key in readable form; the exit status is
then 1. A consistent store prints "store consistent: ..." with what it
holds and exits 0.

Stop the server first: the store is opened read-only, and a running server
holds its lock (check-store says so and exits 1).

With store.backend = "postgres" it checks the database of store.dsn in one
snapshot, servers running or not: body reference counts, UIDs and
mod-sequences within their mailbox's, the indexed columns against their
records, reply tokens and Message-IDs leading to sessions, campaign counts,
sequences above the IDs in use. Each problem's key is "table/key".

Flags:
`

func runCheckStore(args []string, std stdio) int {
	fs := flag.NewFlagSet("check-store", flag.ContinueOnError)
	path := fs.String("config", "", "configuration `FILE` of the deployment (required)")
	if st, ok := parseFlags(fs, checkStoreUsage, args, std); !ok {
		return st
	}
	cfg, status := loadForOps(fs, *path, checkStoreUsage, std)
	if cfg == nil {
		return status
	}
	log := slog.New(slog.NewTextHandler(std.err, &slog.HandlerOptions{Level: slog.LevelError}))
	r, err := gateway.CheckStore(cfg, log)
	if err != nil {
		fmt.Fprintf(std.err, "mxdesk check-store: %v\n", err)
		return 1
	}
	for _, p := range r.Problems {
		fmt.Fprintln(std.out, p)
	}
	if len(r.Problems) > 0 {
		fmt.Fprintf(std.out, "store inconsistent: %d problems (%s)\n", len(r.Problems), r.Summary())
		return 1
	}
	fmt.Fprintf(std.out, "store consistent: %s\n", r.Summary())
	return 0
}
