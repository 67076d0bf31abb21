package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"mxdesk/config"
	"mxdesk/gateway"
)

const campaignUsage = `Usage:
  mxdesk campaign create --config FILE --queue Q --list FILE.csv --template NAME
                         --window "Mon-Fri 13:00-18:00" --rate 10/s [--ics "title=...;start=...;end=...;organizer=..."] [--json]
  mxdesk campaign list --config FILE [--json]
  mxdesk campaign show ID --config FILE [--json]
  mxdesk campaign pause|resume|cancel ID --config FILE [--json]

create uploads a CSV list (UTF-8, RFC 4180, a header row naming the
columns, one of them email) to the running server, which checks every
row, stores the list and sends one message per row: the [[template]]
NAME with each ${column} filled from the row, within the window (days
and hours in the queue's time zone, its holidays closed), at the rate
(N/s, N/m or N/h). Each message starts a session in queue Q, so replies
reach the queue's agents. --ics adds a calendar invitation: title, start
and end (YYYY-MM-DDTHH:MM in the queue's time zone) and organizer are
required, location and description optional; title, organizer, location
and description may use ${column}. Every bad row is reported by its line
and nothing is stored. The campaign's ID is the last line printed.

list prints every campaign with its progress; show one; pause stops
sending until resume; cancel stops it for good. Campaigns are in
docs/campaigns.md.

They talk to the running mxdesk over its admin socket (data_dir/admin.sock).
`

// runCampaign dispatches mxdesk campaign create|list|show|pause|resume|cancel.
func runCampaign(args []string, std stdio) int {
	change := func(op string) func([]string, stdio) int {
		return func(args []string, std stdio) int { return runCampaignChange(args, std, op) }
	}
	return runSubcommand("campaign", campaignUsage, args, std, map[string]func([]string, stdio) int{
		"create": runCampaignCreate,
		"list":   runCampaignList,
		"show":   change("show"),
		"pause":  change("pause"),
		"resume": change("resume"),
		"cancel": change("cancel"),
	})
}

func runCampaignCreate(args []string, std stdio) int {
	fs := flag.NewFlagSet("campaign create", flag.ContinueOnError)
	path := fs.String("config", "", "configuration `FILE` of the deployment (required)")
	queue := fs.String("queue", "", "the `QUEUE` whose sessions the messages start (required)")
	list := fs.String("list", "", "the CSV `FILE` of recipients, with a header row and an email column (required)")
	tpl := fs.String("template", "", "the [[template]] `NAME` of the messages (required)")
	window := fs.String("window", "", "when to send, in the queue's time zone: `DAYS HH:MM-HH:MM`, e.g. \"Mon-Fri 13:00-18:00\" (required)")
	rate := fs.String("rate", "", "how fast: `N/s`, N/m or N/h (required)")
	ics := fs.String("ics", "", "a calendar invitation: `\"title=...;start=2026-12-10T10:00;end=2026-12-10T10:30;organizer=...\"`")
	asJSON := fs.Bool("json", false, "print the admin API's JSON answer")
	if st, ok := parseFlags(fs, campaignUsage, args, std); !ok {
		return st
	}
	for _, req := range []struct{ name, v string }{{"queue", *queue}, {"list", *list}, {"template", *tpl}, {"window", *window}, {"rate", *rate}} {
		if req.v == "" && *path != "" {
			fmt.Fprintf(std.err, "mxdesk campaign create: --%s is required\n\n", req.name)
			printFlagUsage(fs, campaignUsage, std.err)
			return 2
		}
	}
	return withAdmin(fs, *path, campaignUsage, std, func(c *adminClient, _ *config.Config) error {
		f, err := os.Open(*list)
		if err != nil {
			return fmt.Errorf("--list: %w", err)
		}
		defer f.Close()
		q := url.Values{"queue": {*queue}, "template": {*tpl}, "window": {*window}, "rate": {*rate}}
		if *ics != "" {
			q.Set("ics", *ics)
		}
		raw, err := c.upload("/v1/campaigns?"+q.Encode(), f, *list)
		if err != nil {
			return err
		}
		if *asJSON {
			_, err = fmt.Fprintf(std.out, "%s\n", bytes.TrimSpace(raw))
			return err
		}
		var ac gateway.AdminCampaign
		if err := json.Unmarshal(raw, &ac); err != nil {
			return fmt.Errorf("%s: bad answer: %w", c.where, err)
		}
		_, err = fmt.Fprintf(std.out, "campaign %d created: %d recipients, queue %s, template %s, window %s, rate %s\n%d\n",
			ac.ID, ac.Rows, clean(ac.Queue), clean(ac.Template), clean(ac.Window), clean(ac.Rate), ac.ID)
		return err
	})
}

// upload POSTs the list file as the body, streamed, and returns the
// created campaign's JSON; a refused list is an error listing its rows.
func (c *adminClient) upload(path string, body io.Reader, name string) ([]byte, error) {
	if strings.HasPrefix(c.where, "data_dir") {
		return nil, errors.New("no mxdesk server runs: campaigns are stored and sent by the running server (mxdesk serve)")
	}
	req, err := http.NewRequest(http.MethodPost, "http://mxdesk"+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "text/csv")
	if u := osUser(); u != "" {
		req.Header.Set(gateway.AdminActorHeader, u)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.where, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.where, err)
	}
	switch resp.StatusCode {
	case http.StatusCreated:
		return raw, nil
	case http.StatusUnprocessableEntity:
		var le gateway.AdminListError
		if json.Unmarshal(raw, &le) == nil {
			return nil, fmt.Errorf("--list %s: %s:\n  %s", name, le.Error, strings.Join(le.Problems, "\n  "))
		}
	}
	var e gateway.AdminError
	if json.Unmarshal(raw, &e) != nil || e.Error == "" {
		e.Error = fmt.Sprintf("%s: %s %s", c.where, resp.Status, bytes.TrimSpace(raw))
	}
	return nil, errors.New(e.Error)
}

func runCampaignList(args []string, std stdio) int {
	fs := flag.NewFlagSet("campaign list", flag.ContinueOnError)
	path := fs.String("config", "", "configuration `FILE` of the deployment (required)")
	asJSON := fs.Bool("json", false, "print the admin API's JSON")
	if st, ok := parseFlags(fs, campaignUsage, args, std); !ok {
		return st
	}
	return withAdmin(fs, *path, campaignUsage, std, func(c *adminClient, _ *config.Config) error {
		if *asJSON {
			return printRawJSON(c, "/v1/campaigns", std.out)
		}
		var list []gateway.AdminCampaign
		if err := c.getJSON("/v1/campaigns", &list); err != nil {
			return err
		}
		if len(list) == 0 {
			_, err := fmt.Fprintln(std.out, "no campaigns")
			return err
		}
		tw := tabwriter.NewWriter(std.out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSTATE\tQUEUE\tTEMPLATE\tROWS\tQUEUED\tSENT\tDEFERRED\tBOUNCED\tREPLIED\tUNSUBSCRIBED")
		for _, ac := range list {
			n := ac.Counts
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", ac.ID, ac.State, clean(ac.Queue), clean(ac.Template), ac.Rows,
				n["queued"], n["sent"], n["deferred"], n["bounced"], n["replied"], n["unsubscribed"])
		}
		return tw.Flush()
	})
}

// runCampaignChange runs campaign show|pause|resume|cancel ID.
func runCampaignChange(args []string, std stdio, op string) int {
	fs := flag.NewFlagSet("campaign "+op, flag.ContinueOnError)
	path := fs.String("config", "", "configuration `FILE` of the deployment (required)")
	asJSON := fs.Bool("json", false, "print the admin API's JSON answer")
	pos, status, ok := parseArgs(fs, campaignUsage, args, std)
	if !ok {
		return status
	}
	if len(pos) != 1 {
		fmt.Fprintf(std.err, "mxdesk campaign %s: one campaign ID is required (mxdesk campaign list shows them)\n\n", op)
		printFlagUsage(fs, campaignUsage, std.err)
		return 2
	}
	if _, err := strconv.ParseUint(pos[0], 10, 64); err != nil {
		fmt.Fprintf(std.err, "mxdesk campaign %s: campaign ID %q: want a number, as mxdesk campaign list shows\n\n", op, pos[0])
		printFlagUsage(fs, campaignUsage, std.err)
		return 2
	}
	return withAdmin(fs, *path, campaignUsage, std, func(c *adminClient, cfg *config.Config) error {
		var raw json.RawMessage
		var err error
		if op == "show" {
			err = c.getJSON("/v1/campaigns/"+pos[0], &raw)
		} else {
			err = c.change(http.MethodPost, "/v1/campaigns/"+pos[0]+"/"+op, &raw)
		}
		if err != nil {
			return err
		}
		if *asJSON {
			_, err := fmt.Fprintf(std.out, "%s\n", bytes.TrimSpace(raw))
			return err
		}
		var ac gateway.AdminCampaign
		if err := json.Unmarshal(raw, &ac); err != nil {
			return fmt.Errorf("%s: bad answer: %w", c.where, err)
		}
		printCampaign(std.out, ac, cfg)
		return nil
	})
}

func printCampaign(w io.Writer, ac gateway.AdminCampaign, cfg *config.Config) {
	fmt.Fprintf(w, "campaign %d: %s\n", ac.ID, ac.State)
	fmt.Fprintf(w, "queue:    %s\ntemplate: %s\nwindow:   %s\nrate:     %s\nrows:     %d\ncreated:  %s\n",
		clean(ac.Queue), clean(ac.Template), clean(ac.Window), clean(ac.Rate), ac.Rows, ac.Created.In(cfg.Location()).Format("2006-01-02 15:04"))
	for _, k := range gateway.CampaignCounts {
		fmt.Fprintf(w, "%-13s %d\n", k+":", ac.Counts[k])
	}
}
