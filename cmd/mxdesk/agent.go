package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"

	"mxdesk/config"
	"mxdesk/gateway"
	"mxdesk/router"
)

const agentUsage = `Usage:
  mxdesk agent list --config FILE [--json]
  mxdesk agent state LOGIN away|available --config FILE [--json]

list prints every agent with their state (available, in_session, rona,
away or offline; rona: an offer timed out and the agent has not come back),
whether they are connected over IMAP and how many active sessions
(Unopened, Reopened, Active) they have. state sets an agent away (no
auto-assignment) or available again (which also ends RONA), as the
agent does by moving a message into their Status/Away or
Status/Available folder.

Both ask the running mxdesk over its admin socket (data_dir/admin.sock);
when no server runs they use the store in data_dir directly: presence is
then unknown (it lives in the server's memory), and a state set is in
force when the server starts. Run them as the user mxdesk runs as.

Run "mxdesk agent list --help" or "mxdesk agent state --help" for the
flags.
`

const agentListUsage = `Usage: mxdesk agent list --config FILE [--json]

Prints every configured agent: login, state (available, in_session,
rona, away, offline),
whether an IMAP connection of theirs counts as present, and their active
sessions. Without a running server presence is unknown and agents who are
not away show as "offline (server not running)".

Flags:
`

const agentStateUsage = `Usage: mxdesk agent state LOGIN away|available --config FILE [--json]

Sets agent LOGIN away (not auto-assigned; their sessions stay theirs) or
available (auto-assigned again when logged in, out of RONA too; waiting
sessions may go to them at once). An unknown login exits 1.

Flags:
`

// runAgent dispatches `mxdesk agent list|state`.
func runAgent(args []string, std stdio) int {
	return runSubcommand("agent", agentUsage, args, std, map[string]func([]string, stdio) int{
		"list":  runAgentList,
		"state": runAgentState,
	})
}

func runAgentList(args []string, std stdio) int {
	fs := flag.NewFlagSet("agent list", flag.ContinueOnError)
	path := fs.String("config", "", "configuration `FILE` of the deployment (required)")
	asJSON := fs.Bool("json", false, "print the admin API's JSON")
	if st, ok := parseFlags(fs, agentListUsage, args, std); !ok {
		return st
	}
	return withAdmin(fs, *path, agentListUsage, std, func(c *adminClient, _ *config.Config) error {
		if *asJSON {
			return printRawJSON(c, "/v1/agents", std.out)
		}
		var agents []gateway.AdminAgent
		if err := c.getJSON("/v1/agents", &agents); err != nil {
			return err
		}
		printAgentList(std.out, agents)
		return nil
	})
}

func runAgentState(args []string, std stdio) int {
	fs := flag.NewFlagSet("agent state", flag.ContinueOnError)
	path := fs.String("config", "", "configuration `FILE` of the deployment (required)")
	asJSON := fs.Bool("json", false, "print the admin API's JSON answer")
	pos, status, ok := parseArgs(fs, agentStateUsage, args, std)
	if !ok {
		return status
	}
	var msg string
	switch {
	case len(pos) != 2:
		msg = fmt.Sprintf("a login and a state (away or available) are required, not %d arguments", len(pos))
	case pos[1] != "away" && pos[1] != "available":
		msg = fmt.Sprintf("state %q: want away or available", pos[1])
	}
	if msg != "" {
		fmt.Fprintf(std.err, "mxdesk agent state: %s\n\n", msg)
		printFlagUsage(fs, agentStateUsage, std.err)
		return 2
	}
	login, state := pos[0], pos[1]
	return withAdmin(fs, *path, agentStateUsage, std, func(c *adminClient, _ *config.Config) error {
		apiPath := "/v1/agents/" + url.PathEscape(login) + "/state"
		var raw json.RawMessage
		if err := c.postJSON(apiPath, gateway.AdminAgentState{State: state}, &raw); err != nil {
			return err
		}
		if *asJSON {
			_, err := fmt.Fprintf(std.out, "%s\n", strings.TrimSpace(string(raw)))
			return err
		}
		var a gateway.AdminAgent
		if err := json.Unmarshal(raw, &a); err != nil {
			return fmt.Errorf("%s: bad answer to %s: %w", c.where, apiPath, err)
		}
		fmt.Fprintf(std.out, "%s is now %s", a.Login, state)
		if !a.PresenceKnown {
			fmt.Fprint(std.out, " (server not running: saved in the store, in force when it starts)")
		}
		fmt.Fprintln(std.out)
		return nil
	})
}

// offlineState is what the list shows for an agent who is not away when
// no server runs: whether they are connected is unknown.
const offlineState = "offline (server not running)"

// printAgentList prints one line per agent under a header.
func printAgentList(w io.Writer, agents []gateway.AdminAgent) {
	if len(agents) == 0 {
		fmt.Fprintln(w, "no agents")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LOGIN\tSTATE\tPRESENT\tACTIVE")
	for _, a := range agents {
		state, present := a.State, "no"
		switch {
		case !a.PresenceKnown:
			present = "unknown"
			if state != router.StateAway && state != router.StateRona {
				state = offlineState // durable states show; the rest needs presence
			}
		case a.Present:
			present = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", clean(a.Login), clean(state), present, a.Active)
	}
	tw.Flush()
}
