package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// The multi-node benchmark (issue 22) runs only when asked, without -race
// (the server is built as the test binary is):
//
//	MXDESK_CLUSTER_BENCH=1 go test -count=1 -run TestClusterBench -v -timeout 30m ./e2e/
//
// MXDESK_CLUSTER_BENCH_MESSAGES sets the messages per intake run (default
// 10000), MXDESK_CLUSTER_BENCH_PROBES the IDLE probes (default 500).
// It reports intake at 64 SMTP connections on one node with badger, one
// node with PostgreSQL and two nodes with PostgreSQL (the connections
// spread over both), and the latency from node A's 250 to the EXISTS of
// an IDLE client on node B. It asserts only that nothing failed;
// docs/performance.md has the figures.
func TestClusterBench(t *testing.T) {
	if os.Getenv("MXDESK_CLUSTER_BENCH") == "" {
		t.Skip("set MXDESK_CLUSTER_BENCH=1 to run the multi-node benchmark")
	}
	messages := envInt(t, "MXDESK_CLUSTER_BENCH_MESSAGES", 10000)
	probes := envInt(t, "MXDESK_CLUSTER_BENCH_PROBES", 500)
	intake := []string{"--conns", "64", "--messages", strconv.Itoa(messages), "--size", "5000", "--to", testQueueAddr}

	t.Run("badger-1-node", func(t *testing.T) {
		srv := newEnv(t).start(t)
		logBench(t, runBench(t, append(intake, "--smtp", srv.addr("smtp"))...))
	})
	t.Run("postgres-1-node", func(t *testing.T) {
		nodes := newCluster(t, 1, clusterOptions{}).startAll(t)
		logBench(t, runBench(t, append(intake, "--smtp", nodes[0].addr("smtp"))...))
	})
	t.Run("postgres-2-nodes", func(t *testing.T) {
		nodes := newCluster(t, 2, clusterOptions{}).startAll(t)
		logBench(t, runBench(t, append(intake, "--smtp", nodes[0].addr("smtp")+","+nodes[1].addr("smtp"))...))
	})
	t.Run("idle-across-nodes", func(t *testing.T) {
		nodes := newCluster(t, 2, clusterOptions{}).startAll(t)
		logBench(t, runBench(t, "--messages", "0", "--idle-probes", strconv.Itoa(probes), "--to", testQueueAddr,
			"--smtp", nodes[0].addr("smtp"), "--imap", nodes[1].addr("imap"),
			"--login", testLogin, "--password", testPassword, "--folder", testFolder))
	})
}

// runBench runs mxdesk bench --json with args; a failed transaction or
// probe fails the test.
func runBench(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(mxdeskBin, append([]string{"bench", "--json"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("mxdesk bench %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.Bytes()
}

// logBench logs the figures of a bench report.
func logBench(t *testing.T, out []byte) {
	t.Helper()
	var r struct {
		Messages     int             `json:"messages"`
		MessagesPerS float64         `json:"messages_per_second"`
		SMTPLatency  json.RawMessage `json:"smtp_latency"`
		Idle         json.RawMessage `json:"idle"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("mxdesk bench --json printed no JSON: %v\n%s", err, out)
	}
	if r.Messages > 0 {
		t.Logf("%s: %d messages, %.0f msg/s, SMTP transaction %s", t.Name(), r.Messages, r.MessagesPerS, r.SMTPLatency)
	}
	if r.Idle != nil {
		t.Logf("%s: IDLE %s", t.Name(), r.Idle)
	}
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		t.Fatalf("%s = %q: want a number", name, v)
	}
	return n
}
