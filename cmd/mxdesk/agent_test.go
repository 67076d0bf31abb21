package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"mxdesk/config"
	"mxdesk/gateway"
	"mxdesk/router"
)

// checkWaitingList runs `session list --waiting` on path, whose one
// session id waits in Support.
func checkWaitingList(t *testing.T, path, id string) {
	t.Helper()
	status, out, errOut := runCmd(t, "", "session", "list", "--waiting", "--config", path)
	if status != 0 || errOut != "" {
		t.Fatalf("session list --waiting: status %d, stderr %q", status, errOut)
	}
	want := regexp.MustCompile(`^QUEUE +WAITING +OLDEST +ALARMS +KPI_WAIT_ALARM
Support +1 +\d+s +0 +4h

ID +QUEUE +WAITING +STATUS +CUSTOMER +SUBJECT
` + id + ` +Support +\d+s +Unopened +carla@customer\.test +where is my order
$`)
	if !want.MatchString(out) {
		t.Errorf("session list --waiting:\n%s", out)
	}
	status, out, _ = runCmd(t, "", "session", "list", "--waiting", "--queue", "nope", "--config", path)
	if status != 0 || out != "QUEUE  WAITING  OLDEST  ALARMS  KPI_WAIT_ALARM\n\nno sessions waiting\n" {
		t.Errorf("session list --waiting --queue nope: status %d\n%s", status, out)
	}
	status, out, _ = runCmd(t, "", "session", "list", "--waiting", "--json", "--config", path)
	var v struct {
		Queues   []gateway.AdminQueueWaiting `json:"queues"`
		Sessions []gateway.AdminSession      `json:"sessions"`
	}
	if err := json.Unmarshal([]byte(out), &v); status != 0 || err != nil || len(v.Queues) != 1 || v.Queues[0].Waiting != 1 ||
		len(v.Sessions) != 1 || v.Sessions[0].ID != id || v.Sessions[0].WaitingSince.IsZero() {
		t.Errorf("session list --waiting --json: status %d, %v\n%s", status, err, out)
	}
}

func TestAgentCommandsOffline(t *testing.T) {
	path, cfg := sessionConfig(t)
	id := deliverOffline(t, cfg, "where is my order")
	checkWaitingList(t, path, id)

	status, out, errOut := runCmd(t, "", "agent", "list", "--config", path)
	if status != 0 || errOut != "" || out != "LOGIN               STATE                         PRESENT  ACTIVE\n"+
		"alice@example.test  offline (server not running)  unknown  0\n" {
		t.Errorf("agent list offline: status %d, stderr %q\n%s", status, errOut, out)
	}
	status, out, errOut = runCmd(t, "", "agent", "state", "Alice@example.test", "away", "--config", path)
	if status != 0 || errOut != "" || out != "alice@example.test is now away (server not running: saved in the store, in force when it starts)\n" {
		t.Errorf("agent state offline: status %d, stdout %q, stderr %q", status, out, errOut)
	}
	status, out, _ = runCmd(t, "", "agent", "list", "--config", path)
	if status != 0 || out != "LOGIN               STATE  PRESENT  ACTIVE\nalice@example.test  away   unknown  0\n" {
		t.Errorf("agent list after away:\n%s", out)
	}
	status, out, _ = runCmd(t, "", "agent", "list", "--json", "--config", path)
	var agents []gateway.AdminAgent
	if err := json.Unmarshal([]byte(out), &agents); status != 0 || err != nil || len(agents) != 1 || agents[0].State != "away" || agents[0].PresenceKnown {
		t.Errorf("agent list --json: status %d, %v\n%s", status, err, out)
	}
	status, out, errOut = runCmd(t, "", "agent", "state", "nobody@example.test", "away", "--config", path)
	if status != 1 || out != "" || errOut != "mxdesk: no agent \"nobody@example.test\"\n" {
		t.Errorf("unknown agent: status %d, stdout %q, stderr %q", status, out, errOut)
	}
}

func TestAgentCommandsOnline(t *testing.T) {
	path, cfg := sessionConfig(t)
	g, err := gateway.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	id := deliverSession(t, g.Router(), "where is my order")
	checkWaitingList(t, path, id)

	status, out, errOut := runCmd(t, "", "agent", "list", "--config", path)
	if status != 0 || errOut != "" || out != "LOGIN               STATE    PRESENT  ACTIVE\nalice@example.test  offline  no       0\n" {
		t.Errorf("agent list: status %d, stderr %q\n%s", status, errOut, out)
	}
	p := g.Router().Connect(&router.Agent{Login: "alice@example.test"}, nil)
	defer p.Close()
	status, out, _ = runCmd(t, "", "agent", "list", "--config", path)
	if status != 0 || out != "LOGIN               STATE      PRESENT  ACTIVE\nalice@example.test  available  yes      0\n" {
		t.Errorf("agent list with alice connected: status %d\n%s", status, out)
	}
	status, out, errOut = runCmd(t, "", "agent", "state", "alice@example.test", "away", "--config", path)
	if status != 0 || out != "alice@example.test is now away\n" {
		t.Errorf("agent state away: status %d, stdout %q, stderr %q", status, out, errOut)
	}
	status, out, _ = runCmd(t, "", "agent", "state", "--json", "alice@example.test", "available", "--config", path)
	var a gateway.AdminAgent
	if err := json.Unmarshal([]byte(out), &a); status != 0 || err != nil || a != (gateway.AdminAgent{Login: "alice@example.test", State: "available", Present: true, PresenceKnown: true}) {
		t.Errorf("agent state --json available: status %d, %v\n%s", status, err, out)
	}
}

func TestAgentUsage(t *testing.T) {
	for _, args := range [][]string{
		{"agent"},
		{"agent", "frobnicate"},
		{"agent", "list"},
		{"agent", "list", "--config", "x.toml", "extra"},
		{"agent", "state", "--config", "x.toml"},
		{"agent", "state", "alice@example.test", "--config", "x.toml"},
		{"agent", "state", "alice@example.test", "busy", "--config", "x.toml"},
		{"agent", "state", "alice@example.test", "away", "now", "--config", "x.toml"},
		{"agent", "state", "alice@example.test", "away"},
		{"session", "list", "--waiting", "--agent", "alice@example.test", "--config", "x.toml"},
	} {
		if status, out, errOut := runCmd(t, "", args...); status != 2 || out != "" || errOut == "" {
			t.Errorf("%v: status %d, stdout %q, stderr %q; want 2 and a message", args, status, out, errOut)
		}
	}
	for _, args := range [][]string{{"help", "agent"}, {"agent", "--help"}, {"agent", "list", "--help"}, {"agent", "state", "-h"}} {
		if status, out, _ := runCmd(t, "", args...); status != 0 || !strings.Contains(out, "mxdesk agent") {
			t.Errorf("%v: status %d, stdout %q", args, status, out)
		}
	}
	if _, out, _ := runCmd(t, "", "help"); !strings.Contains(out, "\n  agent ") {
		t.Errorf("usage does not list agent:\n%s", out)
	}
}

func TestFormatAge(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second:                     "0s",
		0:                                "0s",
		59 * time.Second:                 "59s",
		time.Minute:                      "1m",
		59*time.Minute + 59*time.Second:  "59m",
		time.Hour:                        "1h",
		4*time.Hour + 12*time.Minute:     "4h12m",
		24 * time.Hour:                   "1d",
		51*time.Hour + 59*time.Minute:    "2d3h",
		config.Days(30) + 30*time.Minute: "30d",
	} {
		if got := formatAge(d); got != want {
			t.Errorf("formatAge(%v) = %q, want %q", d, got, want)
		}
	}
}
