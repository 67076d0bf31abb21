package e2e

import (
	"bytes"
	"encoding/json"
	"net"
	"os/exec"
	"testing"
)

// benchReport is the part of `mxdesk bench --json` the test checks.
type benchReport struct {
	Attempted int `json:"attempted"`
	Messages  int `json:"messages"`
	Errors    int `json:"errors"`
	Idle      *struct {
		Probes int `json:"probes"`
		Errors int `json:"errors"`
	} `json:"idle"`
	Delivery *struct {
		Expected  int `json:"expected"`
		Delivered int `json:"delivered"`
	} `json:"delivery"`
}

// TestBenchCommand is a smoke test of the load tool against the real
// server: it must send everything, see every probe, and report it. It
// asserts nothing about speed.
func TestBenchCommand(t *testing.T) {
	srv := newEnv(t).start(t)
	cmd := exec.Command(mxdeskBin, "bench", "--json",
		"--smtp", srv.addr("smtp"), "--to", testQueueAddr, "--conns", "4", "--messages", "200", "--size", "3000",
		"--imap", srv.addr("imap"), "--login", testLogin, "--password", testPassword,
		"--folder", testFolder, "--idle-probes", "20")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("mxdesk bench: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	var r benchReport
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("mxdesk bench --json printed no JSON: %v\n%s", err, stdout.String())
	}
	if r.Attempted != 200 || r.Messages != 200 || r.Errors != 0 {
		t.Errorf("bench sent %d of %d messages with %d errors, want 200 of 200 and none\n%s",
			r.Messages, r.Attempted, r.Errors, stdout.String())
	}
	if r.Idle == nil || r.Idle.Probes != 20 || r.Idle.Errors != 0 {
		t.Errorf("bench IDLE probe: %+v, want 20 probes and no error\n%s", r.Idle, stdout.String())
	}
	_, msgs := readFolder(t, loginIMAP(t, srv.addr("imap"), testLogin, testPassword), testFolder)
	if len(msgs) != 220 {
		t.Errorf("%s holds %d messages after the bench, want 200 + 20 probes", testFolder, len(msgs))
	}
}

// TestBenchSubmissionAndDelivery runs the load tool against the
// submission port with its own sink as mxdesk's smarthost: every message
// must be acknowledged and arrive at the sink. Nothing about speed.
func TestBenchSubmissionAndDelivery(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sinkAddr := l.Addr().String()
	l.Close() // the bench tool listens there
	env, _ := newDeliveryEnv(t, sinkAddr)
	srv := startProc(t, env.dir, []string{"submission", "http"}, "serve", "--config", env.configPath)
	cmd := exec.Command(mxdeskBin, "bench", "--json",
		"--submission", srv.addr("submission"), "--login", testLogin, "--password", testPassword,
		"--sink", sinkAddr, "--sink-wait", "60s", "--conns", "4", "--messages", "100", "--size", "2000")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("mxdesk bench: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	var r benchReport
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("no JSON: %v\n%s", err, stdout.String())
	}
	if r.Messages != 100 || r.Errors != 0 || r.Delivery == nil || r.Delivery.Delivered != 100 {
		t.Errorf("bench: %d acknowledged, %d errors, delivery %+v; want 100, 0, 100 delivered\n%s",
			r.Messages, r.Errors, r.Delivery, stdout.String())
	}
}

// TestBenchIMAPCommand is a smoke test of `mxdesk bench imap` against the
// real server: every kind of command runs, none fails, and the folder the
// tool made is gone afterwards. Nothing about speed.
func TestBenchIMAPCommand(t *testing.T) {
	srv := newEnv(t).start(t)
	cmd := exec.Command(mxdeskBin, "bench", "imap", "--json", "--shared",
		"--imap", srv.addr("imap"), "--login", testLogin, "--password", testPassword,
		"--clients", "3", "--seed", "5", "--size", "500", "--duration", "1s", "--prefix", "load")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("mxdesk bench imap: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	var r struct {
		Errors     int `json:"errors"`
		PerCommand map[string]struct {
			Count int `json:"count"`
		} `json:"per_command"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("mxdesk bench imap --json printed no JSON: %v\n%s", err, stdout.String())
	}
	for _, name := range []string{"select", "flags", "headers", "body", "store", "append", "expunge"} {
		if r.PerCommand[name].Count == 0 {
			t.Errorf("no %s command measured\n%s", name, stdout.String())
		}
	}
	if r.Errors != 0 {
		t.Errorf("%d commands failed\n%s", r.Errors, stdout.String())
	}
	c := loginIMAP(t, srv.addr("imap"), testLogin, testPassword)
	boxes, err := c.List("", "load*", nil).Collect()
	if err != nil || len(boxes) != 0 {
		t.Errorf("after the bench: LIST load* = %v, %v; want no folder left", boxes, err)
	}
}
