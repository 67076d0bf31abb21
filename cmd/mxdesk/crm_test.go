package main

import (
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mxdesk/config"
	"mxdesk/testutil"
)

// crmConfig is sessionConfig with [crm] feeding c.
func crmConfig(t *testing.T, c *testutil.CRM) (string, *config.Config) {
	t.Helper()
	path, _ := sessionConfig(t)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(data, c.TOML("")...), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, cfg
}

// waitOutput runs the command until its output matches re (the server
// commits an outcome right after the CRM answered), failing after 20s.
func waitOutput(t *testing.T, re *regexp.Regexp, args ...string) []string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		_, out, _ := runCmd(t, "", args...)
		if m := re.FindStringSubmatch(out); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no line matching %s within 20s:\n%s", strings.Join(args, " "), re, out)
		}
		<-tick.C
	}
}

// TestCRMCommands: a ticket.created the CRM refuses with 400 is a dead
// letter at once; crm list shows it, crm retry sends it again (same
// webhook-id) and the ticket_id answered shows in session show; crm drop
// removes another.
func TestCRMCommands(t *testing.T) {
	c := testutil.StartCRM(t)
	var refuse atomic.Bool
	refuse.Store(true)
	c.SetFail(func(_ int, e testutil.CRMEvent) testutil.CRMAnswer {
		if e.Type == "ticket.created" && refuse.Load() {
			return testutil.CRMAnswer{Status: 400, RetryAfter: -1}
		}
		return testutil.CRMAnswer{}
	})
	path, cfg := crmConfig(t, c)
	g := startServer(t, cfg)
	id := deliverSession(t, g.Router(), "where is my order")

	deadLine := regexp.MustCompile(`(?m)^(\d+)\s+` + id + `\s+ticket\.created\s+dead\s+1\s+—\s+400 Bad Request`)
	m := waitOutput(t, deadLine, "crm", "list", "--dead", "--config", path)
	status, out, errOut := runCmd(t, "", "crm", "list", "--config", path)
	if status != 0 || errOut != "" || !strings.HasPrefix(out, "ID  SESSION ") || !deadLine.MatchString(out) {
		t.Fatalf("crm list: status %d, stderr %q:\n%s", status, errOut, out)
	}
	refused := c.Accepted()
	if len(refused) != 1 || refused[0].Str("kind") != "link" {
		t.Fatalf("the link comment goes on after the dead letter: accepted %s", testutil.Summary(refused))
	}

	refuse.Store(false)
	status, out, _ = runCmd(t, "", "crm", "retry", m[1], "--config", path)
	if want := "CRM event " + m[1] + " (ticket.created of session " + id + ") queued to be sent again now\n"; status != 0 || out != want {
		t.Fatalf("crm retry: status %d, %q, want %q", status, out, want)
	}
	got := c.WaitFor(t, 20*time.Second, "the retried ticket.created", func(ev []testutil.CRMEvent) bool { return len(ev) == 2 })
	if got[1].Type != "ticket.created" || c.Attempts(got[1].ID) != 2 {
		t.Errorf("after retry: %s, %d attempts with its webhook-id, want ticket.created sent a second time with the same id",
			testutil.Summary(got), c.Attempts(got[1].ID))
	}
	waitOutput(t, regexp.MustCompile(`(?m)^CRM ticket\s+`+c.Ticket(id)+`$`), "session", "show", id, "--config", path)

	refuse.Store(true)
	other := deliverSession(t, g.Router(), "another question")
	m = waitOutput(t, regexp.MustCompile(`(?m)^(\d+)\s+`+other+`\s+ticket\.created\s+dead`), "crm", "list", "--config", path)
	status, out, _ = runCmd(t, "", "crm", "drop", m[1], "--config", path)
	if status != 0 || !strings.Contains(out, " dropped\n") {
		t.Errorf("crm drop: status %d, %q", status, out)
	}
	// The second session's link comment goes on too, then nothing is left.
	waitOutput(t, regexp.MustCompile(`^the CRM outbox is empty\n$`), "crm", "list", "--config", path)
	status, _, errOut = runCmd(t, "", "crm", "drop", m[1], "--config", path)
	if status != 1 || !strings.Contains(errOut, "no CRM event "+m[1]) {
		t.Errorf("crm drop of a dropped event: status %d, stderr %q", status, errOut)
	}
}
