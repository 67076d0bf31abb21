package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/emersion/go-message/charset"

	"mxdesk/config"
	"mxdesk/gateway"
)

const sessionUsage = `Usage:
  mxdesk session show ID --config FILE [--json]
  mxdesk session list --config FILE [--queue Q] [--agent LOGIN] [--status S] [--limit N] [--json]
  mxdesk session list --waiting --config FILE [--queue Q] [--status S] [--limit N] [--json]

show prints one session: its queue, agent, customer and status, its
messages and its event log. list prints sessions, newest first, one a line;
with --waiting, per queue the sessions waiting unassigned, the oldest
one's age and how many wait longer than its kpi_wait_alarm, then the
waiting sessions, longest waiting first, with their age.

Both ask the running mxdesk over its admin socket (data_dir/admin.sock);
when no server runs they read the store in data_dir directly. Run them as
the user mxdesk runs as: only that user may use the socket. Times are in the configuration's time zone. --json prints the
admin API's JSON instead of text.

Run "mxdesk session show --help" or "mxdesk session list --help" for the
flags.
`

const sessionShowUsage = `Usage: mxdesk session show ID --config FILE [--json]

Prints session ID (S-XXXXX): status, queue, agent, customer, participants,
subject, its messages and its events. An unknown ID exits 1.

Flags:
`

const sessionListUsage = `Usage: mxdesk session list --config FILE [--queue Q] [--agent LOGIN] [--status S] [--limit N] [--json]
       mxdesk session list --waiting --config FILE [--queue Q] [--status S] [--limit N] [--json]

Prints the sessions matching every filter given, newest first, one a line.
With --waiting: first, per queue, how many sessions wait unassigned, how
long the oldest has waited and how many wait longer than the queue's
kpi_wait_alarm (ALARMS); then the waiting sessions (not closed, not spam,
without agent), longest waiting first, with how long each has waited.

Flags:
`

// runSession dispatches `mxdesk session show|list`.
func runSession(args []string, std stdio) int {
	return runSubcommand("session", sessionUsage, args, std, map[string]func([]string, stdio) int{
		"show": runSessionShow,
		"list": runSessionList,
	})
}

func runSessionShow(args []string, std stdio) int {
	fs := flag.NewFlagSet("session show", flag.ContinueOnError)
	path := fs.String("config", "", "configuration `FILE` of the deployment (required)")
	asJSON := fs.Bool("json", false, "print the admin API's JSON")
	pos, status, ok := parseArgs(fs, sessionShowUsage, args, std)
	if !ok {
		return status
	}
	if len(pos) != 1 {
		msg := "a session ID is required"
		if len(pos) > 1 {
			msg = fmt.Sprintf("one session ID, not %d arguments", len(pos))
		}
		fmt.Fprintf(std.err, "mxdesk session show: %s\n\n", msg)
		printFlagUsage(fs, sessionShowUsage, std.err)
		return 2
	}
	return withAdmin(fs, *path, sessionShowUsage, std, func(c *adminClient, cfg *config.Config) error {
		apiPath := "/v1/sessions/" + url.PathEscape(pos[0])
		if *asJSON {
			return printRawJSON(c, apiPath, std.out)
		}
		var rep gateway.AdminReport
		if err := c.getJSON(apiPath, &rep); err != nil {
			return err
		}
		printReport(std.out, rep, cfg.Location())
		return nil
	})
}

func runSessionList(args []string, std stdio) int {
	fs := flag.NewFlagSet("session list", flag.ContinueOnError)
	path := fs.String("config", "", "configuration `FILE` of the deployment (required)")
	queue := fs.String("queue", "", "only sessions of queue `Q`")
	agent := fs.String("agent", "", "only sessions assigned to `LOGIN`")
	status := fs.String("status", "", "only sessions with status `S` (Unopened, Active, Paused, Resolved, Closed, Reopened)")
	limit := fs.Int("limit", 0, "at most `N` sessions, the newest (with --waiting: the longest waiting) (0: all)")
	waiting := fs.Bool("waiting", false, "the sessions waiting unassigned, longest waiting first, after a summary per queue")
	asJSON := fs.Bool("json", false, "print the admin API's JSON")
	if st, ok := parseFlags(fs, sessionListUsage, args, std); !ok {
		return st
	}
	if *limit < 0 {
		fmt.Fprintf(std.err, "mxdesk session list: --limit must be 0 or more, not %d\n", *limit)
		return 2
	}
	if *waiting && *agent != "" {
		fmt.Fprintf(std.err, "mxdesk session list: --agent and --waiting exclude each other (waiting sessions have no agent)\n")
		return 2
	}
	q := url.Values{}
	for k, v := range map[string]string{"queue": *queue, "agent": *agent, "status": *status} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if *limit > 0 {
		q.Set("limit", strconv.Itoa(*limit))
	}
	if *waiting {
		q.Set("waiting", "1")
	}
	apiPath := "/v1/sessions"
	if len(q) > 0 {
		apiPath += "?" + q.Encode()
	}
	return withAdmin(fs, *path, sessionListUsage, std, func(c *adminClient, cfg *config.Config) error {
		if *waiting {
			return listWaiting(c, cfg, apiPath, *queue, *asJSON, std.out)
		}
		if *asJSON {
			return printRawJSON(c, apiPath, std.out)
		}
		var sessions []gateway.AdminSession
		if err := c.getJSON(apiPath, &sessions); err != nil {
			return err
		}
		printSessionList(std.out, sessions, cfg.Location())
		return nil
	})
}

// listWaiting prints the waiting summary of every queue (only queue when
// set) and the waiting sessions that sessionsPath lists; as JSON, the
// answers of both requests in one object {"queues": …, "sessions": …}.
func listWaiting(c *adminClient, cfg *config.Config, sessionsPath, queue string, asJSON bool, w io.Writer) error {
	var stats []gateway.AdminQueueWaiting
	if err := c.getJSON("/v1/queues/waiting", &stats); err != nil {
		return err
	}
	if queue != "" {
		stats = slices.DeleteFunc(stats, func(q gateway.AdminQueueWaiting) bool { return !strings.EqualFold(q.Queue, queue) })
	}
	var sessions []gateway.AdminSession
	if err := c.getJSON(sessionsPath, &sessions); err != nil {
		return err
	}
	if asJSON {
		return writeJSON(w, struct {
			Queues   []gateway.AdminQueueWaiting `json:"queues"`
			Sessions []gateway.AdminSession      `json:"sessions"`
		}{stats, sessions})
	}
	printWaiting(w, stats, sessions, cfg)
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// withAdmin loads the configuration at path, connects to the deployment's
// admin API and runs fn: the shared part of every admin command. It
// returns the exit status: 2 without --config, 1 when anything fails.
func withAdmin(fs *flag.FlagSet, path, usage string, std stdio, fn func(*adminClient, *config.Config) error) int {
	if path == "" {
		return missingFlag(fs, "config", usage, std)
	}
	cfg, err := config.Load(path)
	if err != nil {
		printConfigErrors(std.err, path, err)
		return 1
	}
	c, err := dialAdmin(cfg, std.err)
	if err == nil {
		err = errors.Join(fn(c, cfg), c.Close())
	}
	if err != nil {
		fmt.Fprintf(std.err, "mxdesk: %v\n", err)
		return 1
	}
	return 0
}

func printRawJSON(c *adminClient, apiPath string, w io.Writer) error {
	var raw json.RawMessage
	if err := c.getJSON(apiPath, &raw); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%s\n", bytes.TrimSpace(raw))
	return err
}

// Timeouts of the admin client: the server is local, so an answer that
// takes long means it is stuck.
const (
	adminDialTimeout    = 2 * time.Second
	adminRequestTimeout = 30 * time.Second
)

// adminClient calls a deployment's admin API: over the admin socket of the
// running mxdesk or, when none runs, in this process on its store, so an
// admin command works the same whether the server is up or not.
type adminClient struct {
	hc    *http.Client
	where string       // the socket's path, or "data_dir X" offline, for errors
	close func() error // closes the store when offline
}

// dialAdmin connects to the server on cfg's admin socket. If there is no
// socket, or nobody answers on it (a server that crashed), it opens the
// store instead; the store logs errors only, to logw.
func dialAdmin(cfg *config.Config, logw io.Writer) (*adminClient, error) {
	sock := gateway.AdminSocket(cfg)
	conn, err := net.DialTimeout("unix", sock, adminDialTimeout)
	if err == nil {
		conn.Close()
		d := net.Dialer{Timeout: adminDialTimeout}
		tr := &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return d.DialContext(ctx, "unix", sock)
			},
			ResponseHeaderTimeout: adminRequestTimeout,
		}
		hc := &http.Client{Transport: tr, Timeout: adminRequestTimeout}
		return &adminClient{hc: hc, where: sock, close: func() error { tr.CloseIdleConnections(); return nil }}, nil
	}
	switch {
	case errors.Is(err, syscall.EACCES):
		return nil, fmt.Errorf("admin socket %s: permission denied (run this as the user mxdesk runs as)", sock)
	case !errors.Is(err, os.ErrNotExist) && !errors.Is(err, syscall.ECONNREFUSED):
		return nil, fmt.Errorf("admin socket %s: %w", sock, syscallError(err))
	}
	log := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelError}))
	h, closeStore, err := gateway.OpenAdmin(cfg, log)
	if err != nil {
		return nil, fmt.Errorf("no server on %s; %w", sock, err)
	}
	hc := &http.Client{Transport: inProcess{h}, Timeout: adminRequestTimeout}
	return &adminClient{hc: hc, where: "data_dir " + cfg.DataDir, close: closeStore}, nil
}

// syscallError is the system's reason in a dial error ("permission
// denied"), without the dial's own wording.
func syscallError(err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	return err
}

// Close releases the connection or closes the store.
func (c *adminClient) Close() error { return c.close() }

// getJSON GETs path (with its query) and decodes the JSON answer into v.
// An answer other than 200 is an error with the server's message.
func (c *adminClient) getJSON(path string, v any) error {
	resp, err := c.hc.Get("http://mxdesk" + path)
	return c.decode(path, resp, err, v)
}

// postJSON POSTs body as JSON to path and decodes the answer into v, as
// getJSON does.
func (c *adminClient) postJSON(path string, body, v any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	resp, err := c.hc.Post("http://mxdesk"+path, "application/json", bytes.NewReader(b))
	return c.decode(path, resp, err, v)
}

// decode reads the answer to a request on path (err: the request failed).
func (c *adminClient) decode(path string, resp *http.Response, err error, v any) error {
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%s: %w", c.where, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s: %w", c.where, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e gateway.AdminError
		if json.Unmarshal(body, &e) != nil || e.Error == "" {
			e.Error = fmt.Sprintf("%s: %s %s", c.where, resp.Status, bytes.TrimSpace(body))
		}
		return errors.New(e.Error)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%s: bad answer to %s: %w", c.where, path, err)
	}
	return nil
}

// inProcess is an http.RoundTripper that answers with a handler in this
// process: the admin API on the store when no server runs.
type inProcess struct{ h http.Handler }

func (t inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context()) // the handler may modify its request
	if req.Body == nil {
		req.Body = http.NoBody
	}
	w := &responseBuffer{header: http.Header{}}
	t.h.ServeHTTP(w, req)
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return &http.Response{
		Status: fmt.Sprintf("%d %s", w.status, http.StatusText(w.status)), StatusCode: w.status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: w.header, Body: io.NopCloser(&w.body), ContentLength: int64(w.body.Len()), Request: req,
	}, nil
}

// responseBuffer is the http.ResponseWriter of inProcess.
type responseBuffer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *responseBuffer) Header() http.Header { return w.header }

func (w *responseBuffer) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *responseBuffer) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}

// Text output.

const (
	timeLayout    = "2006-01-02 15:04:05"
	subjectInList = 50 // runes of the subject a list line shows
)

// printReport prints a session report for a terminal, times in loc.
func printReport(w io.Writer, rep gateway.AdminReport, loc *time.Location) {
	s := rep.Session
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(name, value string) { fmt.Fprintf(tw, "%s\t%s\n", name, clean(value)) }
	row("Session", s.ID)
	status := s.Status
	if !s.StatusSince.IsZero() {
		status += " since " + s.StatusSince.In(loc).Format(timeLayout)
	}
	if s.Parked {
		status += " (parked in Later)"
	}
	row("Status", status)
	row("Queue", s.Queue)
	row("Agent", orDash(s.Agent))
	row("Customer", orDash(s.Customer))
	row("Participants", orDash(strings.Join(s.Participants, ", ")))
	row("Subject", orDash(s.Subject))
	row("Created", s.Created.In(loc).Format(timeLayout+" MST"))
	row("Updated", s.Updated.In(loc).Format(timeLayout+" MST"))
	if s.Previous != "" {
		row("Previous", s.Previous)
	}
	if s.TicketID != "" {
		row("CRM ticket", clean(s.TicketID))
	}
	tw.Flush()

	fmt.Fprintf(w, "\nMessages (%d)\n", len(rep.Messages))
	if len(rep.Messages) > 0 {
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  DATE\tFROM\tSUBJECT\tFOLDERS")
		for _, m := range rep.Messages {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", m.Date.In(loc).Format(timeLayout),
				orDash(clean(decodeHeader(m.From))), orDash(clean(decodeHeader(m.Subject))), clean(strings.Join(m.Folders, ", ")))
		}
		tw.Flush()
	}

	fmt.Fprintf(w, "\nEvents (%d)\n", len(rep.Events))
	if len(rep.Events) > 0 {
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  TIME\tKIND\tACTOR\tDETAIL")
		for _, e := range rep.Events {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", e.Time.In(loc).Format(timeLayout), clean(e.Kind), clean(e.Actor), clean(e.Detail))
		}
		tw.Flush()
	}
}

// printSessionList prints one line per session under a header.
func printSessionList(w io.Writer, sessions []gateway.AdminSession, loc *time.Location) {
	if len(sessions) == 0 {
		fmt.Fprintln(w, "no sessions")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tQUEUE\tAGENT\tUPDATED\tCUSTOMER\tSUBJECT")
	for _, s := range sessions {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", clean(s.ID), clean(s.Status), clean(s.Queue), orDash(clean(s.Agent)),
			s.Updated.In(loc).Format("2006-01-02 15:04"), orDash(clean(s.Customer)), truncate(clean(s.Subject), subjectInList))
	}
	tw.Flush()
}

// printWaiting prints the per-queue waiting summary, then the waiting
// sessions with their age.
func printWaiting(w io.Writer, stats []gateway.AdminQueueWaiting, sessions []gateway.AdminSession, cfg *config.Config) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "QUEUE\tWAITING\tOLDEST\tALARMS\tKPI_WAIT_ALARM")
	for _, q := range stats {
		oldest, kpi := "—", "off"
		if q.Waiting > 0 {
			oldest = formatAge(time.Duration(q.OldestSeconds) * time.Second)
		}
		if qc := cfg.QueueByName(q.Queue); qc != nil && qc.KPIWaitAlarm.Duration > 0 {
			kpi = formatAge(qc.KPIWaitAlarm.Duration)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%s\n", clean(q.Queue), q.Waiting, oldest, q.Alarms, kpi)
	}
	tw.Flush()
	fmt.Fprintln(w)
	if len(sessions) == 0 {
		fmt.Fprintln(w, "no sessions waiting")
		return
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tQUEUE\tWAITING\tSTATUS\tCUSTOMER\tSUBJECT")
	for _, s := range sessions {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", clean(s.ID), clean(s.Queue), waitingAge(s),
			clean(s.Status), orDash(clean(s.Customer)), truncate(clean(s.Subject), subjectInList))
	}
	tw.Flush()
}

// waitingAge is how long s has waited ("—" when it does not wait).
func waitingAge(s gateway.AdminSession) string {
	if s.WaitingSeconds == nil {
		return "—"
	}
	return formatAge(time.Duration(*s.WaitingSeconds) * time.Second)
}

// formatAge writes a waiting time in its two largest units, rounded
// down: "45s", "12m", "4h12m", "2d3h".
func formatAge(d time.Duration) string {
	d = max(d, 0)
	const day = 24 * time.Hour
	two := func(n1 int64, u1 string, n2 int64, u2 string) string {
		if n2 == 0 {
			return fmt.Sprintf("%d%s", n1, u1)
		}
		return fmt.Sprintf("%d%s%d%s", n1, u1, n2, u2)
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int64(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int64(d/time.Minute))
	case d < day:
		return two(int64(d/time.Hour), "h", int64(d%time.Hour/time.Minute), "m")
	}
	return two(int64(d/day), "d", int64(d%day/time.Hour), "h")
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// clean makes a value safe for one cell of a terminal table: control
// characters (tabs, newlines, escape sequences in a customer's subject)
// and bidirectional overrides become spaces.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return ' '
		}
		return r
	}, s)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// decodeHeader decodes RFC 2047 encoded words; a value it can't decode is
// shown as it is.
func decodeHeader(s string) string {
	dec := mime.WordDecoder{CharsetReader: charset.Reader}
	d, err := dec.DecodeHeader(s)
	if err != nil {
		return s
	}
	return d
}
