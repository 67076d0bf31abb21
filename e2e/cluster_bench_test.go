package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"mxdesk/testutil/pgtest"
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

	t.Logf("load average before: %s", loadAverage())
	t.Run("badger-1-node", func(t *testing.T) {
		srv := newEnv(t).start(t)
		benchIntake(t, nil, []*proc{srv}, intake)
	})
	t.Run("postgres-1-node", func(t *testing.T) {
		cl := newCluster(t, 1, clusterOptions{})
		benchIntake(t, cl.pg, cl.startAll(t), intake)
	})
	t.Run("postgres-2-nodes", func(t *testing.T) {
		cl := newCluster(t, 2, clusterOptions{})
		benchIntake(t, cl.pg, cl.startAll(t), intake)
	})
	t.Run("idle-across-nodes", func(t *testing.T) {
		nodes := newCluster(t, 2, clusterOptions{}).startAll(t)
		logBench(t, runBench(t, "--messages", "0", "--idle-probes", strconv.Itoa(probes), "--to", testQueueAddr,
			"--smtp", nodes[0].addr("smtp"), "--imap", nodes[1].addr("imap"),
			"--login", testLogin, "--password", testPassword, "--folder", testFolder))
	})
}

// benchIntake runs the intake benchmark over nodes' SMTP listeners and
// logs, beside its figures, where the CPU went (the nodes, PostgreSQL,
// the load tool) and how many updates shared a store commit.
func benchIntake(t *testing.T, pg *pgtest.Server, nodes []*proc, intake []string) {
	t.Helper()
	var addrs []string
	for _, n := range nodes {
		addrs = append(addrs, n.addr("smtp"))
	}
	nodesCPU, pgCPU := procsCPU(nodes), postgresCPU(pg)
	out, tool := runBenchCPU(t, append(intake, "--smtp", strings.Join(addrs, ","))...)
	logBench(t, out)
	t.Logf("CPU seconds during the run: nodes %.1f, PostgreSQL %.1f, load tool %.1f; load average after: %s",
		procsCPU(nodes)-nodesCPU, postgresCPU(pg)-pgCPU, tool, loadAverage())
	for i, n := range nodes {
		m := scrapeMetrics(t, n)
		t.Logf("node %d: %.0f commits, %.1f updates per commit, %.2f ms per commit",
			i, m["mxdesk_store_commit_updates_count"], m["mxdesk_store_commit_updates_sum"]/m["mxdesk_store_commit_updates_count"],
			1000*m["mxdesk_store_commit_seconds_sum"]/m["mxdesk_store_commit_seconds_count"])
	}
}

// runBench runs mxdesk bench --json with args; a failed transaction or
// probe fails the test.
func runBench(t *testing.T, args ...string) []byte {
	t.Helper()
	out, _ := runBenchCPU(t, args...)
	return out
}

// runBenchCPU is runBench that also returns the tool's CPU seconds.
func runBenchCPU(t *testing.T, args ...string) ([]byte, float64) {
	t.Helper()
	cmd := exec.Command(mxdeskBin, append([]string{"bench", "--json"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("mxdesk bench %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	st := cmd.ProcessState
	return stdout.Bytes(), (st.UserTime() + st.SystemTime()).Seconds()
}

// clockTicks is the unit of /proc/PID/stat's CPU times (USER_HZ, 100 on
// Linux everywhere).
const clockTicks = 100

// procStat is the parent PID and CPU seconds (own, and of children
// waited for) of a process, from /proc; zeros if it is gone.
func procStat(pid int) (ppid int, own, children float64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, 0
	}
	// The fields after the command name, which is in parentheses.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	num := func(i int) float64 { v, _ := strconv.ParseFloat(f[i], 64); return v }
	ppid, _ = strconv.Atoi(f[1])
	return ppid, (num(11) + num(12)) / clockTicks, (num(13) + num(14)) / clockTicks
}

func procsCPU(ps []*proc) float64 {
	var sum float64
	for _, p := range ps {
		_, own, _ := procStat(p.cmd.Process.Pid)
		sum += own
	}
	return sum
}

// postgresCPU is the CPU seconds of the postmaster and its backends, live
// or ended; 0 without PostgreSQL.
func postgresCPU(pg *pgtest.Server) float64 {
	if pg == nil {
		return 0
	}
	_, own, ended := procStat(pg.Pid())
	sum := own + ended
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, own, _ := procStat(pid); ppid == pg.Pid() {
			sum += own
		}
	}
	return sum
}

func loadAverage() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
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
