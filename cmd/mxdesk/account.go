package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"text/tabwriter"

	"mxdesk/config"
	"mxdesk/gateway"
)

const accountUsage = `Usage:
  mxdesk account list --config FILE [--json]
  mxdesk account test --config FILE [ADDRESS]

The [[account]] tables name upstream mailboxes (Microsoft 365, Google
Workspace, any IMAP server) whose mail feeds a queue. list prints one line
per account: its address, the word valid or invalid, and the last error
of an invalid one (login failed, TLS, host unreachable, folder missing).
The status is the running server's, asked over its admin socket: without
a server every account is invalid and the command exits 1.

test checks both directions of each account (or of ADDRESS) now, without
a server: IMAP connect, TLS, login and folder; SMTP connect, TLS and AUTH.
A failed check names the config key to fix; the exit status is 0 only if
every check passed.
`

const accountListUsage = `Usage: mxdesk account list --config FILE [--json]

Prints one line per [[account]]: address, valid or invalid, last error.

Flags:
`

// runAccount dispatches "mxdesk account list" and "mxdesk account test".
func runAccount(args []string, std stdio) int {
	return runSubcommand("account", accountUsage, args, std, map[string]func([]string, stdio) int{
		"list": runAccountList,
		"test": runAccountTest,
	})
}

func runAccountList(args []string, std stdio) int {
	fs := flag.NewFlagSet("account list", flag.ContinueOnError)
	path := fs.String("config", "", "configuration `FILE` of the deployment (required)")
	asJSON := fs.Bool("json", false, "print the admin API's JSON")
	if st, ok := parseFlags(fs, accountListUsage, args, std); !ok {
		return st
	}
	cfg, status := loadForOps(fs, *path, accountListUsage, std)
	if cfg == nil {
		return status
	}
	list, err := fetchAccounts(cfg)
	if errors.Is(err, errNoServer) {
		printAccounts(std.out, notRunning(cfg, err))
		return 1
	}
	if err != nil {
		fmt.Fprintf(std.err, "mxdesk account list: %v\n", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(std.out)
		enc.SetIndent("", "  ")
		return exitStatus(enc.Encode(list))
	}
	printAccounts(std.out, list)
	return 0
}

// fetchAccounts asks the running server for GET /v1/accounts.
func fetchAccounts(cfg *config.Config) ([]gateway.AdminAccount, error) {
	hc, sock, err := dialServer(cfg)
	if err != nil {
		return nil, err
	}
	hc.Timeout = adminRequestTimeout
	resp, err := hc.Get("http://mxdesk/v1/accounts")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", sock, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", sock, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: GET /v1/accounts: %s", sock, resp.Status)
	}
	var list []gateway.AdminAccount
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, fmt.Errorf("%s: bad answer to /v1/accounts: %w", sock, err)
	}
	return list, nil
}

// notRunning lists the configured accounts as invalid: nothing checks
// them while no server runs.
func notRunning(cfg *config.Config, err error) []gateway.AdminAccount {
	var out []gateway.AdminAccount
	for _, a := range cfg.Account {
		out = append(out, gateway.AdminAccount{Address: a.Address, Status: "invalid", LastError: err.Error()})
	}
	return out
}

func printAccounts(w io.Writer, list []gateway.AdminAccount) {
	if len(list) == 0 {
		fmt.Fprintln(w, "no [[account]] configured")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, a := range list {
		if a.LastError == "" {
			fmt.Fprintf(tw, "%s\t%s\n", clean(a.Address), a.Status)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", clean(a.Address), a.Status, clean(a.LastError))
	}
	tw.Flush()
}

func exitStatus(err error) int {
	if err != nil {
		return 1
	}
	return 0
}
