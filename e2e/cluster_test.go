package e2e

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"mxdesk/testutil/pgtest"
)

// The cluster's second agent, who claims against alice from another node.
const (
	bobLogin    = "bob@example.test"
	bobPassword = "bob-e2e-password"
)

// cluster is several mxdesk nodes on one PostgreSQL database: each node
// has its own data_dir and loopback listeners, and the same queues,
// agents and [store] as the others, as a two-node deployment has
// (docs/scale-out.md).
type cluster struct {
	pg    *pgtest.Server
	dsn   string
	nodes []*testEnv
}

// clusterOptions vary what the nodes' common configuration says.
type clusterOptions struct {
	pg         *pgtest.Server // nil: the package's shared server
	smarthosts []string       // node i's [delivery] smarthost; none: no [delivery]
}

// newCluster writes n nodes' configurations on a fresh database; start
// runs them.
func newCluster(t testing.TB, n int, opts clusterOptions) *cluster {
	t.Helper()
	pg := opts.pg
	if pg == nil {
		pg = pgtest.Shared(t)
	}
	c := &cluster{pg: pg, dsn: pg.NewDB(t)}
	common := clusterConfig(t, c.dsn)
	for i := range n {
		dir := filepath.Join(t.TempDir(), fmt.Sprintf("node%d", i))
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		env := &testEnv{dir: dir, configPath: filepath.Join(dir, "mxdesk.toml")}
		cfg := fmt.Sprintf("data_dir = %q\n", filepath.Join(dir, "data")) + common
		if i < len(opts.smarthosts) {
			cfg += fmt.Sprintf(clusterDelivery, opts.smarthosts[i])
		}
		if err := os.WriteFile(env.configPath, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		c.nodes = append(c.nodes, env)
	}
	return c
}

// startAll starts every node, one after the other (the first migrates the
// schema), and waits until each is ready.
func (c *cluster) startAll(t testing.TB) []*proc {
	t.Helper()
	procs := make([]*proc, len(c.nodes))
	for i, env := range c.nodes {
		procs[i] = env.start(t)
	}
	return procs
}

// clusterConfig is the part of the configuration every node shares: all
// but data_dir, which comes first, and the smarthost, which a test may
// give each node its own of, to see which node delivers.
func clusterConfig(t testing.TB, dsn string) string {
	t.Helper()
	return fmt.Sprintf(clusterTemplate, dsn, hashPassword(t, testPassword), hashPassword(t, bobPassword))
}

func hashPassword(t testing.TB, password string) string {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(hash)
}

// clusterTemplate is configTemplate's deployment on PostgreSQL, with a
// second agent and submission for the agents' replies.
const clusterTemplate = `hostname = "mx.example.test"
company  = "Example Inc."

[listen]
smtp       = "127.0.0.1:0"
submission = "127.0.0.1:0"
imap       = "127.0.0.1:0"
http       = "127.0.0.1:0"

[tls]
insecure_auth = true

[inbound]
resolver = "127.0.0.1:1"   # nothing answers: DNS checks fail fast

[limits]
messages_per_sender_per_hour = 0   # the load tests send thousands from one sender
commands_per_connection = 0        # ... over few connections

[store]
backend = "postgres"
dsn     = %q

[[domain]]
name = "example.test"

[[queue]]
name = "Support"
addresses = ["support@example.test"]

[[agent]]
login = "alice@example.test"
name = "Alice Rossi"
password_hash = %q
queues = ["Support"]

[[agent]]
login = "bob@example.test"
name = "Bob Bianchi"
password_hash = %q
queues = ["Support"]
`

// clusterDelivery sends the agents' replies to a loopback smarthost. The
// lease is short (twice the timeout, the least allowed) so that a test
// sees another node take over a dead node's reply within seconds; the
// timeout long enough for a held attempt to outlast a node's start.
const clusterDelivery = `
[delivery]
smarthost = %q
smarthost_tls = "none"
concurrency = 1
timeout = "8s"
lease = "16s"
`

// scrapeMetrics reads p's /metrics into name{labels} -> value.
func scrapeMetrics(t *testing.T, p *proc) map[string]float64 {
	t.Helper()
	resp, err := readyClient.Get("http://" + p.addr("http") + "/metrics")
	if err != nil {
		t.Fatalf("/metrics: %v", err)
	}
	defer resp.Body.Close()
	m := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err == nil {
			m[name] = v
		}
	}
	return m
}

// dutiesHeld lists the duties p holds: its mxdesk_duty_held series at 1.
func dutiesHeld(t *testing.T, p *proc) []string {
	t.Helper()
	var held []string
	for name, v := range scrapeMetrics(t, p) {
		if strings.HasPrefix(name, "mxdesk_duty_held{") && v == 1 {
			held = append(held, name)
		}
	}
	slices.Sort(held)
	return held
}

// waitDuties waits until p holds every duty of want.
func waitDuties(t *testing.T, p *proc, want []string) {
	t.Helper()
	deadline := time.Now().Add(loadTimeout)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for range tick.C {
		held := dutiesHeld(t, p)
		if !slices.ContainsFunc(want, func(d string) bool { return !slices.Contains(held, d) }) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v the surviving node holds %v, want %v", loadTimeout, held, want)
		}
	}
}
