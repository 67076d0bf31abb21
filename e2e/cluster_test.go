package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

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
// lease is short so that a test sees another node take over a reply
// within seconds; the timeout long enough that a held attempt outlasts
// the test's load phase.
const clusterDelivery = `
[delivery]
smarthost = %q
smarthost_tls = "none"
concurrency = 1
timeout = "8s"
lease = "16s"
`
