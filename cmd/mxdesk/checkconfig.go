package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"mxdesk/config"
)

const checkConfigUsage = `Usage: mxdesk check-config --config FILE

Reads the configuration FILE, applies the defaults and checks everything
mxdesk serve would check at start-up (unknown keys, domains, queues and
their addresses, agents and their password hashes, listener addresses,
time zone, TLS certificate and key) without opening any port.

On success prints "FILE: OK" and a summary, and exits 0. Otherwise prints
every problem, one per line as FILE:LINE: KEY: PROBLEM, and exits 1.
docs/configuration.md describes every key.

Flags:
`

func runCheckConfig(args []string, std stdio) int {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	path := fs.String("config", "", "configuration `FILE` to check (required)")
	if status, ok := parseFlags(fs, checkConfigUsage, args, std); !ok {
		return status
	}
	if *path == "" {
		return missingFlag(fs, "config", checkConfigUsage, std)
	}
	c, err := config.Load(*path)
	if err != nil {
		printConfigErrors(std.err, *path, err)
		return 1
	}
	fmt.Fprintf(std.out, "%s: OK\n", *path)
	printSummary(std.out, c)
	return 0
}

func printConfigErrors(w io.Writer, path string, err error) {
	var ve config.ValidationErrors
	if !errors.As(err, &ve) {
		fmt.Fprintf(w, "%s: %v\n", path, err)
		return
	}
	for _, e := range ve {
		fmt.Fprintln(w, e)
	}
	if len(ve) > 1 {
		fmt.Fprintf(w, "%s: %d problems\n", path, len(ve))
	}
}

// printSummary shows what the file configures, so an operator can see at a
// glance that mxdesk understood it as meant.
func printSummary(w io.Writer, c *config.Config) {
	row := func(name, value string) { fmt.Fprintf(w, "  %-10s %s\n", name, value) }
	row("hostname", c.Hostname)
	row("data_dir", c.DataDir)
	domains := make([]string, len(c.Domain))
	for i, d := range c.Domain {
		domains[i] = d.Name
	}
	row("domains", strings.Join(domains, ", "))
	for _, q := range c.Queue {
		assign := "manual claim"
		if q.AutoAssign {
			assign = "auto-assign"
		}
		if q.AutoReply.Enabled {
			assign += ", auto-reply from " + q.AutoReply.From
		}
		row("queue", fmt.Sprintf("%s <%s> (%s)", q.Name, strings.Join(q.Addresses, ", "), assign))
	}
	if len(c.SendOnly) > 0 {
		var addrs []string
		for _, a := range c.SendOnly {
			addrs = append(addrs, a.Address)
		}
		row("send-only", strings.Join(addrs, ", "))
	}
	row("agents", agentSummary(c.Agent))
	row("listeners", listenerSummary(c))
	row("tls", tlsSummary(c))
}

// agentSummary is e.g. "3 (2 agent, 1 supervisor)".
func agentSummary(agents []config.Agent) string {
	n := map[string]int{}
	for _, a := range agents {
		n[a.Role]++
	}
	var roles []string
	for _, r := range []string{config.RoleAgent, config.RoleSupervisor, config.RoleAdmin} {
		if n[r] > 0 {
			roles = append(roles, fmt.Sprintf("%s %d", r, n[r]))
		}
	}
	if len(roles) == 0 {
		return "none"
	}
	return fmt.Sprintf("%d (%s)", len(agents), strings.Join(roles, ", "))
}

func listenerSummary(c *config.Config) string {
	var ls []string
	for _, l := range c.Listen.Enabled() {
		ls = append(ls, l.Name+" "+l.Addr)
	}
	if len(ls) == 0 {
		return "none"
	}
	return strings.Join(ls, ", ")
}

func tlsSummary(c *config.Config) string {
	s := "no certificate, so no STARTTLS"
	if c.TLS.Cert != "" {
		s = "certificate " + c.TLS.Cert
	}
	if c.TLS.InsecureAuth {
		s += "; AUTH without TLS allowed (loopback only)"
	}
	return s
}
