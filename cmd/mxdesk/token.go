package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"text/tabwriter"
	"time"

	"mxdesk/config"
	"mxdesk/gateway"
)

const tokenUsage = `Usage:
  mxdesk token create --name NAME --role integrator|supervisor|admin --config FILE [--expires 720h|2027-06-30]
  mxdesk token list --config FILE [--json]
  mxdesk token revoke NAME --config FILE

Tokens of the public HTTP API (/api/v1/ on listen.http), sent as
"Authorization: Bearer <token>". An integrator reads sessions, queues
items (POST /api/v1/requests) and adds notes; a supervisor does
everything on sessions and agents; an admin also lists tokens.

create prints the new token alone on its last line: it is shown only
this once (the store keeps a hash). --expires is a duration from now
(720h) or a date (2027-06-30, the end of that day is not included) or an
RFC 3339 time; without it the token does not expire. list prints names,
roles, creation and expiry; revoke deletes a token at once.

They ask the running mxdesk over its admin socket (data_dir/admin.sock);
when no server runs they use the store in data_dir directly.
`

// runToken dispatches mxdesk token create|list|revoke.
func runToken(args []string, std stdio) int {
	return runSubcommand("token", tokenUsage, args, std, map[string]func([]string, stdio) int{
		"create": runTokenCreate,
		"list":   runTokenList,
		"revoke": runTokenRevoke,
	})
}

func runTokenCreate(args []string, std stdio) int {
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	path := fs.String("config", "", "configuration `FILE` of the deployment (required)")
	name := fs.String("name", "", "the token's `NAME`, shown in audits (required)")
	role := fs.String("role", "", "`ROLE`: integrator, supervisor or admin (required)")
	expires := fs.String("expires", "", "expiry: a `DURATION` from now (720h) or a date (2027-06-30)")
	if st, ok := parseFlags(fs, tokenUsage, args, std); !ok {
		return st
	}
	switch {
	case *name == "":
		return missingFlag(fs, "name", tokenUsage, std)
	case *role == "":
		return missingFlag(fs, "role", tokenUsage, std)
	}
	until, err := parseExpiry(*expires, time.Now())
	if err != nil {
		fmt.Fprintf(std.err, "mxdesk token create: --expires %q: %v\n\n", *expires, err)
		printFlagUsage(fs, tokenUsage, std.err)
		return 2
	}
	return withAdmin(fs, *path, tokenUsage, std, func(c *adminClient, cfg *config.Config) error {
		var tok gateway.AdminCreatedToken
		if err := c.postJSON("/v1/tokens", gateway.AdminNewToken{Name: *name, Role: *role, Expires: until}, &tok); err != nil {
			return err
		}
		expiry := "never"
		if !tok.Expires.IsZero() {
			expiry = tok.Expires.In(cfg.Location()).Format(time.DateTime)
		}
		fmt.Fprintf(std.out, "API token %s (role %s, expires %s); it is shown only now:\n", clean(tok.Name), clean(tok.Role), expiry)
		_, err := fmt.Fprintln(std.out, tok.Token)
		return err
	})
}

// parseExpiry reads --expires: empty (never), a duration from now, a
// date (its start, local time) or an RFC 3339 time.
func parseExpiry(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, fmt.Errorf("want a positive duration")
		}
		return now.Add(d).UTC(), nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, time.Local); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("want a duration (720h), a date (2027-06-30) or an RFC 3339 time")
}

func runTokenList(args []string, std stdio) int {
	fs := flag.NewFlagSet("token list", flag.ContinueOnError)
	path := fs.String("config", "", "configuration `FILE` of the deployment (required)")
	asJSON := fs.Bool("json", false, "print the admin API's JSON")
	if st, ok := parseFlags(fs, tokenUsage, args, std); !ok {
		return st
	}
	return withAdmin(fs, *path, tokenUsage, std, func(c *adminClient, cfg *config.Config) error {
		if *asJSON {
			return printRawJSON(c, "/v1/tokens", std.out)
		}
		var list []gateway.AdminToken
		if err := c.getJSON("/v1/tokens", &list); err != nil {
			return err
		}
		printTokenList(std.out, list, cfg.Location())
		return nil
	})
}

func printTokenList(w io.Writer, list []gateway.AdminToken, loc *time.Location) {
	if len(list) == 0 {
		fmt.Fprintln(w, "no API tokens")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tCREATED\tEXPIRES")
	for _, t := range list {
		expires := "never"
		if !t.Expires.IsZero() {
			expires = t.Expires.In(loc).Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", clean(t.Name), clean(t.Role), t.Created.In(loc).Format(time.DateTime), expires)
	}
	tw.Flush()
}

func runTokenRevoke(args []string, std stdio) int {
	fs := flag.NewFlagSet("token revoke", flag.ContinueOnError)
	path := fs.String("config", "", "configuration `FILE` of the deployment (required)")
	pos, status, ok := parseArgs(fs, tokenUsage, args, std)
	if !ok {
		return status
	}
	if len(pos) != 1 {
		fmt.Fprintf(std.err, "mxdesk token revoke: one token name is required (mxdesk token list shows them)\n\n")
		printFlagUsage(fs, tokenUsage, std.err)
		return 2
	}
	return withAdmin(fs, *path, tokenUsage, std, func(c *adminClient, _ *config.Config) error {
		var raw json.RawMessage
		if err := c.change(http.MethodDelete, "/v1/tokens/"+url.PathEscape(pos[0]), &raw); err != nil {
			return err
		}
		_, err := fmt.Fprintf(std.out, "API token %s revoked\n", clean(pos[0]))
		return err
	})
}
