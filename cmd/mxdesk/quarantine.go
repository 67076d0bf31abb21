package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/user"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"mxdesk/config"
	"mxdesk/gateway"
)

const quarantineUsage = `Usage:
  mxdesk quarantine list --config FILE [--json]
  mxdesk quarantine show ID --config FILE [--json | --raw]
  mxdesk quarantine release ID --config FILE [--json]
  mxdesk quarantine delete ID --config FILE [--json]

When mxdesk removes attachments from an inbound message (a blocked type,
a virus, over a limit), the agent gets the message with a note in place of
each removed file and the original is kept whole in quarantine.

list prints what is in quarantine, oldest first. show prints one entry:
its session, the envelope, what was removed and why, and the original's
header; with --raw, the whole original message as it arrived. release
files the original, whole, in its session (the agent sees it as a new
message, marked X-Mxdesk-Released) and takes it out of quarantine. delete
deletes the original for good; the cleaned copy stays in the session.

They ask the running mxdesk over its admin socket (data_dir/admin.sock);
when no server runs they use the store in data_dir directly. Run them as
the user mxdesk runs as. Times are in the configuration's time zone.
--json prints the admin API's JSON instead of text.

Run "mxdesk quarantine list --help" (or show, release, delete) for the
flags.
`

const quarantineListUsage = `Usage: mxdesk quarantine list --config FILE [--json]

Prints what is in quarantine, oldest first, one entry a line: its ID, when
it arrived, its session, the envelope sender and what was removed.

Flags:
`

const quarantineShowUsage = `Usage: mxdesk quarantine show ID --config FILE [--json | --raw]

Prints quarantine entry ID: its session, when it arrived, the envelope
sender and recipients, the original's size, what was removed and why, and
the original's header (encoded words decoded). --raw writes the whole
original message to stdout instead, byte for byte, to inspect or to save
("> original.eml"). An unknown ID exits 1.

Flags:
`

const quarantineReleaseUsage = `Usage: mxdesk quarantine release ID --config FILE [--json]

Files the original of quarantine entry ID, whole, with its attachments, in
its session, and takes it out of quarantine. The agent who has the session
sees it as a new message (header X-Mxdesk-Released); a closed session is
reopened. Release only what you have judged safe. An unknown ID exits 1.

Flags:
`

const quarantineDeleteUsage = `Usage: mxdesk quarantine delete ID --config FILE [--json]

Deletes the original of quarantine entry ID for good. The cleaned copy the
agent got stays in the session. An unknown ID exits 1.

Flags:
`

// runQuarantine dispatches `mxdesk quarantine list|show|release|delete`.
func runQuarantine(args []string, std stdio) int {
	return runSubcommand("quarantine", quarantineUsage, args, std, map[string]func([]string, stdio) int{
		"list": runQuarantineList,
		"show": runQuarantineShow,
		"release": func(args []string, std stdio) int {
			return runQuarantineChange(args, std, "release", quarantineReleaseUsage)
		},
		"delete": func(args []string, std stdio) int {
			return runQuarantineChange(args, std, "delete", quarantineDeleteUsage)
		},
	})
}

func runQuarantineList(args []string, std stdio) int {
	fs := flag.NewFlagSet("quarantine list", flag.ContinueOnError)
	path := fs.String("config", "", "configuration `FILE` of the deployment (required)")
	asJSON := fs.Bool("json", false, "print the admin API's JSON")
	if st, ok := parseFlags(fs, quarantineListUsage, args, std); !ok {
		return st
	}
	return withAdmin(fs, *path, quarantineListUsage, std, func(c *adminClient, cfg *config.Config) error {
		if *asJSON {
			return printRawJSON(c, "/v1/quarantine", std.out)
		}
		var list []gateway.AdminQuarantined
		if err := c.getJSON("/v1/quarantine", &list); err != nil {
			return err
		}
		printQuarantineList(std.out, list, cfg.Location())
		return nil
	})
}

func runQuarantineShow(args []string, std stdio) int {
	fs := flag.NewFlagSet("quarantine show", flag.ContinueOnError)
	path := fs.String("config", "", "configuration `FILE` of the deployment (required)")
	asJSON := fs.Bool("json", false, "print the admin API's JSON")
	raw := fs.Bool("raw", false, "write the whole original message to stdout, as it arrived")
	id, status, ok := quarantineArgs(fs, quarantineShowUsage, args, std)
	if !ok {
		return status
	}
	if *asJSON && *raw {
		fmt.Fprintf(std.err, "mxdesk quarantine show: --json and --raw exclude each other\n\n")
		printFlagUsage(fs, quarantineShowUsage, std.err)
		return 2
	}
	apiPath := "/v1/quarantine/" + id
	return withAdmin(fs, *path, quarantineShowUsage, std, func(c *adminClient, cfg *config.Config) error {
		switch {
		case *raw:
			return c.getRaw(apiPath+"/raw", std.out)
		case *asJSON:
			return printRawJSON(c, apiPath, std.out)
		}
		var q gateway.AdminQuarantinedMessage
		if err := c.getJSON(apiPath, &q); err != nil {
			return err
		}
		printQuarantined(std.out, q, cfg.Location())
		return nil
	})
}

// runQuarantineChange runs `quarantine release ID` and `quarantine delete
// ID` (op).
func runQuarantineChange(args []string, std stdio, op, usage string) int {
	fs := flag.NewFlagSet("quarantine "+op, flag.ContinueOnError)
	path := fs.String("config", "", "configuration `FILE` of the deployment (required)")
	asJSON := fs.Bool("json", false, "print the admin API's JSON answer")
	id, status, ok := quarantineArgs(fs, usage, args, std)
	if !ok {
		return status
	}
	return withAdmin(fs, *path, usage, std, func(c *adminClient, _ *config.Config) error {
		method, apiPath := http.MethodDelete, "/v1/quarantine/"+id
		if op == "release" {
			method, apiPath = http.MethodPost, apiPath+"/release"
		}
		var raw json.RawMessage
		if err := c.change(method, apiPath, &raw); err != nil {
			return err
		}
		if *asJSON {
			_, err := fmt.Fprintf(std.out, "%s\n", bytes.TrimSpace(raw))
			return err
		}
		if op == "delete" {
			_, err := fmt.Fprintf(std.out, "quarantine %s deleted\n", id)
			return err
		}
		var rel gateway.AdminReleased
		if err := json.Unmarshal(raw, &rel); err != nil {
			return fmt.Errorf("%s: bad answer to %s: %w", c.where, apiPath, err)
		}
		_, err := fmt.Fprintf(std.out, "quarantine %s released: the original is filed in session %s\n", id, clean(rel.Session))
		return err
	})
}

// quarantineArgs parses the flags and the one quarantine ID of a
// subcommand; a bad ID is a usage error (status 2).
func quarantineArgs(fs *flag.FlagSet, usage string, args []string, std stdio) (id string, status int, ok bool) {
	pos, status, ok := parseArgs(fs, usage, args, std)
	if !ok {
		return "", status, false
	}
	var msg string
	switch {
	case len(pos) == 0:
		msg = "a quarantine ID is required (mxdesk quarantine list shows them)"
	case len(pos) > 1:
		msg = fmt.Sprintf("one quarantine ID, not %d arguments", len(pos))
	default:
		if _, err := strconv.ParseUint(pos[0], 10, 64); err != nil {
			msg = fmt.Sprintf("quarantine ID %q: want a number, as mxdesk quarantine list shows", pos[0])
		}
	}
	if msg != "" {
		fmt.Fprintf(std.err, "mxdesk %s: %s\n\n", fs.Name(), msg)
		printFlagUsage(fs, usage, std.err)
		return "", 2, false
	}
	return pos[0], 0, true
}

// getRaw GETs path and copies the answer's body to w as it is.
func (c *adminClient) getRaw(path string, w io.Writer) error {
	resp, err := c.hc.Get("http://mxdesk" + path)
	if err != nil || resp.StatusCode != http.StatusOK {
		return c.decode(path, resp, err, nil) // the error, with the server's message
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("%s: %w", c.where, err)
	}
	return nil
}

// change sends a request that changes something (no body), naming who
// asks in gateway.AdminActorHeader, and decodes the answer into v.
func (c *adminClient) change(method, path string, v any) error {
	req, err := http.NewRequest(method, "http://mxdesk"+path, nil)
	if err != nil {
		return err
	}
	if name := osUser(); name != "" {
		req.Header.Set(gateway.AdminActorHeader, name)
	}
	resp, err := c.hc.Do(req)
	return c.decode(path, resp, err, v)
}

// osUser is who runs the command: the user who ran sudo when it runs
// under sudo (sudo -u mxdesk mxdesk quarantine ...), else the current
// user; "" when neither is known.
func osUser() string {
	if u := os.Getenv("SUDO_USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return os.Getenv("USER")
}

// Text output.

// removedInList is how many runes of each line of what was removed a
// list shows: file names come from senders and may be very long.
const removedInList = 160

// printQuarantineList prints one line per entry under a header, and one
// more per further part removed from it.
func printQuarantineList(w io.Writer, list []gateway.AdminQuarantined, loc *time.Location) {
	if len(list) == 0 {
		fmt.Fprintln(w, "quarantine is empty")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCREATED\tSESSION\tFROM\tREMOVED")
	for _, q := range list {
		removed := append([]string{}, q.Removed...)
		if len(removed) == 0 {
			removed = []string{"—"}
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", q.ID, q.Created.In(loc).Format("2006-01-02 15:04"),
			clean(q.Session), orDash(clean(q.From)), truncate(clean(removed[0]), removedInList))
		for _, r := range removed[1:] {
			fmt.Fprintf(tw, "\t\t\t\t%s\n", truncate(clean(r), removedInList))
		}
	}
	tw.Flush()
}

// printQuarantined prints one entry with the original's header.
func printQuarantined(w io.Writer, q gateway.AdminQuarantinedMessage, loc *time.Location) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(name, value string) { fmt.Fprintf(tw, "%s\t%s\n", name, clean(value)) }
	row("Quarantine", strconv.FormatUint(q.ID, 10))
	row("Session", q.Session)
	row("Created", q.Created.In(loc).Format(timeLayout+" MST"))
	row("Envelope from", orDash(q.From))
	row("Envelope to", orDash(strings.Join(q.To, ", ")))
	row("Size", formatSize(q.Size))
	tw.Flush()

	fmt.Fprintf(w, "\nRemoved (%d)\n", len(q.Removed))
	for _, r := range q.Removed {
		fmt.Fprintf(w, "  %s\n", clean(r))
	}

	fmt.Fprintf(w, "\nHeader of the original\n")
	for _, f := range q.Header {
		fmt.Fprintf(w, "  %s: %s\n", clean(f.Name), clean(decodeHeader(f.Value)))
	}
	if q.HeaderError != "" {
		fmt.Fprintf(w, "  (the header can't be read past this point: %s)\n", clean(q.HeaderError))
	}
}

// formatSize is a message size for people: "812 bytes", "14.2 KiB".
func formatSize(n int) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d bytes", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
