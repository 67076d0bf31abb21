package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"mxdesk/config"
	"mxdesk/gateway"
	"mxdesk/router"
	"mxdesk/store/badgerstore"
	"mxdesk/testutil"
)

// sessionConfig writes a configuration with its data_dir in a temporary
// directory and every listener on loopback, and returns its path.
func sessionConfig(t *testing.T) (path string, cfg *config.Config) {
	t.Helper()
	dir := t.TempDir()
	toml := fmt.Sprintf(`hostname = "mx.example.test"
data_dir = %q
timezone = "Europe/Rome"

[listen]
smtp = "127.0.0.1:0"
submission = ""
imap = "127.0.0.1:0"
http = "127.0.0.1:0"

[[domain]]
name = "example.test"

[[queue]]
name = "Support"
addresses = ["support@example.test"]
kpi_wait_alarm = "4h"

[[agent]]
login = "alice@example.test"
password_hash = %q
queues = ["Support"]
`, filepath.Join(dir, "data"), testutil.PasswordHash())
	path = writeFile(t, toml)
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, cfg
}

func deliverSession(t *testing.T, r *router.Router, subject string) string {
	t.Helper()
	raw := "From: Carla <carla@customer.test>\r\nCc: dan@customer.test\r\nSubject: " + subject + "\r\n\r\nhello\r\n"
	d, err := r.Deliver(context.Background(), router.Envelope{From: "carla@customer.test", To: []string{"support@example.test"}}, []byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	return d.Session
}

// deliverOffline delivers one message through a router on cfg's store
// and closes the store, as a stopped server leaves it.
func deliverOffline(t *testing.T, cfg *config.Config, subject string) string {
	t.Helper()
	st, err := badgerstore.Open(filepath.Join(cfg.DataDir, "store"), badgerstore.Options{Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r, err := router.New(cfg, st, router.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return deliverSession(t, r, subject)
}

var listLine = regexp.MustCompile(`(?m)^(S-\w{5})\s+Unopened\s+Support\s+—\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+carla@customer\.test\s+(.*)$`)

// createdLine is the creation time in the configuration's time zone.
var createdLine = regexp.MustCompile(`(?m)^Created       \d{4}-\d\d-\d\d \d\d:\d\d:\d\d CES?T$`)

// checkSessionCommands runs list and show on path, which has one session,
// id; list shows its subject as listed.
func checkSessionCommands(t *testing.T, path, id, subject, listed string) {
	t.Helper()
	status, out, errOut := runCmd(t, "", "session", "list", "--config", path)
	if status != 0 || errOut != "" {
		t.Fatalf("session list: status %d, stderr %q", status, errOut)
	}
	if !strings.HasPrefix(out, "ID ") || !strings.Contains(out, "CUSTOMER") {
		t.Errorf("session list: no header line:\n%s", out)
	}
	m := listLine.FindStringSubmatch(out)
	if m == nil || m[1] != id || m[2] != listed {
		t.Errorf("session list: no line for %s with subject %q:\n%s", id, listed, out)
	}

	status, out, errOut = runCmd(t, "", "session", "show", strings.ToLower(id), "--config", path)
	if status != 0 || errOut != "" {
		t.Fatalf("session show: status %d, stderr %q", status, errOut)
	}
	for _, want := range []string{
		"Session       " + id + "\n", "Status        Unopened since ", "Queue         Support\n", "Agent         —\n",
		"Customer      carla@customer.test\n", "Participants  carla@customer.test, dan@customer.test\n",
		"Subject       " + subject + "\n", "Messages (1)", "Carla <carla@customer.test>", "Queues/Support",
		"Events (", "created", "status", "received", "customer",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("session show lacks %q:\n%s", want, out)
		}
	}

	if !createdLine.MatchString(out) {
		t.Errorf("session show: no Created time in Europe/Rome:\n%s", out)
	}

	status, out, _ = runCmd(t, "", "session", "show", "--json", "--config", path, id)
	var rep gateway.AdminReport
	if err := json.Unmarshal([]byte(out), &rep); status != 0 || err != nil || rep.Session.ID != id || len(rep.Events) == 0 {
		t.Errorf("session show --json: status %d, %v\n%s", status, err, out)
	}
	status, out, _ = runCmd(t, "", "session", "list", "--json", "--limit", "1", "--config", path)
	var list []gateway.AdminSession
	if err := json.Unmarshal([]byte(out), &list); status != 0 || err != nil || len(list) != 1 {
		t.Errorf("session list --json --limit 1: status %d, %v\n%s", status, err, out)
	}
	status, out, errOut = runCmd(t, "", "session", "list", "--status", "Closed", "--config", path)
	if status != 0 || out != "no sessions\n" {
		t.Errorf("session list --status Closed: status %d, stdout %q, stderr %q", status, out, errOut)
	}

	status, out, errOut = runCmd(t, "", "session", "show", "S-ZZZZZ", "--config", path)
	if status != 1 || out != "" || errOut != "mxdesk: no session S-ZZZZZ\n" {
		t.Errorf("unknown session: status %d, stdout %q, stderr %q; want 1 and \"mxdesk: no session S-ZZZZZ\"", status, out, errOut)
	}
}

// With no server running, the commands read the store directly; a stale
// socket (a server that was killed) does not get in the way.
func TestSessionCommandsOffline(t *testing.T) {
	path, cfg := sessionConfig(t)
	id := deliverOffline(t, cfg, "where is my order")
	checkSessionCommands(t, path, id, "where is my order", "where is my order")

	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: gateway.AdminSocket(cfg), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	if status, out, errOut := runCmd(t, "", "session", "show", id, "--config", path); status != 0 || !strings.Contains(out, id) {
		t.Errorf("with a stale socket: status %d, stderr %q", status, errOut)
	}
}

// With a server running, they ask it over the admin socket (the store is
// locked by the server, so reading it directly would fail).
func TestSessionCommandsOnline(t *testing.T) {
	path, cfg := sessionConfig(t)
	g, err := gateway.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	long := "a subject much longer than what one line of the list has room for, so it is cut"
	id := deliverSession(t, g.Router(), long)
	checkSessionCommands(t, path, id, long, string([]rune(long)[:subjectInList-1])+"…")
}

func TestSessionCommandsNoStore(t *testing.T) {
	path, cfg := sessionConfig(t)
	status, _, errOut := runCmd(t, "", "session", "list", "--config", path)
	if status != 1 || !strings.Contains(errOut, "no store in data_dir "+cfg.DataDir) {
		t.Errorf("no store: status %d, stderr %q", status, errOut)
	}
}

func TestSessionUsage(t *testing.T) {
	for _, args := range [][]string{
		{"session"},
		{"session", "frobnicate"},
		{"session", "show", "--config", "x.toml"},
		{"session", "show", "S-AAAAA", "S-BBBBB", "--config", "x.toml"},
		{"session", "show", "S-AAAAA"},
		{"session", "list"},
		{"session", "list", "--config", "x.toml", "extra"},
		{"session", "list", "--config", "x.toml", "--limit", "-1"},
		{"session", "list", "--config", "x.toml", "--nope"},
	} {
		if status, out, errOut := runCmd(t, "", args...); status != 2 || out != "" || errOut == "" {
			t.Errorf("%v: status %d, stdout %q, stderr %q; want 2 and a message", args, status, out, errOut)
		}
	}
	for _, args := range [][]string{{"help", "session"}, {"session", "--help"}, {"session", "show", "--help"}, {"session", "list", "-h"}} {
		if status, out, _ := runCmd(t, "", args...); status != 0 || !strings.Contains(out, "mxdesk session") {
			t.Errorf("%v: status %d, stdout %q", args, status, out)
		}
	}
}

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                 "plain",
		"tab\there\r\nnewline":  "tab here  newline",
		"\x1b[31mred\x1b[0m":    " [31mred [0m",
		"bidi \u202eevil\u202c": "bidi  evil ",
		"Böhm — ok":             "Böhm — ok",
	} {
		if got := clean(in); got != want {
			t.Errorf("clean(%q) = %q, want %q", in, got, want)
		}
	}
}
