package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"

	"mxdesk/config"
	"mxdesk/connector"
)

const accountTestUsage = `Usage: mxdesk account test --config FILE [ADDRESS]

Checks each [[account]] (or the one of ADDRESS) now, without a running
server: IMAP connect, TLS, login and the folder (opened read-only); SMTP
connect, TLS and AUTH (nothing is sent). One line per check; a failure
names the config key to fix. Exits 0 only if every check passed.

Flags:
`

func runAccountTest(args []string, std stdio) int {
	fs := flag.NewFlagSet("account test", flag.ContinueOnError)
	path := fs.String("config", "", "configuration `FILE` of the deployment (required)")
	pos, st, ok := parseArgs(fs, accountTestUsage, args, std)
	if !ok {
		return st
	}
	if len(pos) > 1 {
		fmt.Fprintf(std.err, "mxdesk account test: unexpected argument %q\n", pos[1])
		printFlagUsage(fs, accountTestUsage, std.err)
		return 2
	}
	cfg, status := loadForOps(fs, *path, accountTestUsage, std)
	if cfg == nil {
		return status
	}
	only := ""
	if len(pos) == 1 {
		only = config.Canonical(pos[0])
	}
	return testAccounts(cfg, only, std)
}

// testAccounts checks the accounts (all, or the one whose address is
// only) and prints one line per check.
func testAccounts(cfg *config.Config, only string, std stdio) int {
	tw := tabwriter.NewWriter(std.out, 0, 0, 2, ' ', 0)
	defer tw.Flush()
	failed, tested := false, 0
	for i, a := range cfg.Account {
		if only != "" && a.Address != only {
			continue
		}
		tested++
		for _, c := range connector.CheckAccount(context.Background(), a, i, cfg.Hostname) {
			if c.Err == nil {
				fmt.Fprintf(tw, "%s\t%s\tok\n", clean(a.Address), c.Step)
				continue
			}
			failed = true
			fmt.Fprintf(tw, "%s\t%s\tFAILED\t%s: %s\n", clean(a.Address), c.Step, c.Key, clean(c.Err.Error()))
		}
	}
	if tested == 0 {
		tw.Flush()
		if only != "" {
			fmt.Fprintf(std.err, "mxdesk account test: no [[account]] has the address %q\n", only)
		} else {
			fmt.Fprintln(std.err, "mxdesk account test: no [[account]] configured")
		}
		return 1
	}
	if failed {
		return 1
	}
	return 0
}
