package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"text/tabwriter"
	"time"

	"mxdesk/config"
	"mxdesk/gateway"
)

const crmUsage = `Usage:
  mxdesk crm list --config FILE [--dead] [--json]
  mxdesk crm retry ID --config FILE [--json]
  mxdesk crm drop ID --config FILE [--json]

The CRM feed ([crm] url) sends each session's ticket events from a durable
outbox. An event the CRM refused for good (a 4xx answer other than 408 and
429), or that failed for crm.retry_for, is a dead letter: it stays in the
outbox, out of its session's line, until you retry or drop it.

list prints the outbox, oldest first: each event's ID, session, type,
attempts, next attempt and last error; --dead only the dead letters.
retry sends event ID again now (crm.retry_for counts from now). drop
removes it unsent.

They ask the running mxdesk over its admin socket (data_dir/admin.sock);
when no server runs they use the store in data_dir directly. --json
prints the admin API's JSON instead of text.
`

// runCRM dispatches mxdesk crm list|retry|drop.
func runCRM(args []string, std stdio) int {
	return runSubcommand("crm", crmUsage, args, std, map[string]func([]string, stdio) int{
		"list":  runCRMList,
		"retry": func(args []string, std stdio) int { return runCRMChange(args, std, "retry") },
		"drop":  func(args []string, std stdio) int { return runCRMChange(args, std, "drop") },
	})
}

func runCRMList(args []string, std stdio) int {
	fs := flag.NewFlagSet("crm list", flag.ContinueOnError)
	path := fs.String("config", "", "configuration `FILE` of the deployment (required)")
	dead := fs.Bool("dead", false, "only the dead letters")
	asJSON := fs.Bool("json", false, "print the admin API's JSON")
	if st, ok := parseFlags(fs, crmUsage, args, std); !ok {
		return st
	}
	apiPath := "/v1/crm"
	if *dead {
		apiPath += "?dead=1"
	}
	return withAdmin(fs, *path, crmUsage, std, func(c *adminClient, cfg *config.Config) error {
		if *asJSON {
			return printRawJSON(c, apiPath, std.out)
		}
		var list []gateway.AdminCRMEvent
		if err := c.getJSON(apiPath, &list); err != nil {
			return err
		}
		printCRMList(std.out, list, cfg.Location())
		return nil
	})
}

// runCRMChange runs crm retry ID and crm drop ID (op).
func runCRMChange(args []string, std stdio, op string) int {
	fs := flag.NewFlagSet("crm "+op, flag.ContinueOnError)
	path := fs.String("config", "", "configuration `FILE` of the deployment (required)")
	asJSON := fs.Bool("json", false, "print the admin API's JSON answer")
	pos, status, ok := parseArgs(fs, crmUsage, args, std)
	if !ok {
		return status
	}
	if len(pos) != 1 {
		fmt.Fprintf(std.err, "mxdesk crm %s: one CRM event ID is required (mxdesk crm list shows them)\n\n", op)
		printFlagUsage(fs, crmUsage, std.err)
		return 2
	}
	if _, err := strconv.ParseUint(pos[0], 10, 64); err != nil {
		fmt.Fprintf(std.err, "mxdesk crm %s: CRM event ID %q: want a number, as mxdesk crm list shows\n\n", op, pos[0])
		printFlagUsage(fs, crmUsage, std.err)
		return 2
	}
	return withAdmin(fs, *path, crmUsage, std, func(c *adminClient, _ *config.Config) error {
		method, apiPath := http.MethodDelete, "/v1/crm/"+pos[0]
		if op == "retry" {
			method, apiPath = http.MethodPost, apiPath+"/retry"
		}
		var raw json.RawMessage
		if err := c.change(method, apiPath, &raw); err != nil {
			return err
		}
		if *asJSON {
			_, err := fmt.Fprintf(std.out, "%s\n", bytes.TrimSpace(raw))
			return err
		}
		var e gateway.AdminCRMEvent
		if err := json.Unmarshal(raw, &e); err != nil {
			return fmt.Errorf("%s: bad answer to %s: %w", c.where, apiPath, err)
		}
		verb := "dropped"
		if op == "retry" {
			verb = "queued to be sent again now"
		}
		_, err := fmt.Fprintf(std.out, "CRM event %d (%s of session %s) %s\n", e.ID, clean(e.Type), clean(e.Session), verb)
		return err
	})
}

// printCRMList prints one line per outbox event under a header.
func printCRMList(w io.Writer, list []gateway.AdminCRMEvent, loc *time.Location) {
	if len(list) == 0 {
		fmt.Fprintln(w, "the CRM outbox is empty")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSESSION\tTYPE\tSTATE\tATTEMPTS\tNEXT\tLAST ERROR")
	for _, e := range list {
		state, next := "waiting", e.NextAttempt.In(loc).Format("2006-01-02 15:04:05")
		if e.Dead {
			state, next = "dead", "—"
		}
		typ := e.Type
		if e.Kind != "" {
			typ += "/" + e.Kind
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\n", e.ID, clean(e.Session), clean(typ), state, e.Attempts, next,
			orDash(truncate(clean(e.LastError), removedInList)))
	}
	tw.Flush()
}
