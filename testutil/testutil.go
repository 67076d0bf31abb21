// Package testutil builds the pieces tests of several packages share: a
// configuration with known agents and queues, and a router on a fresh
// store in a temporary directory.
package testutil

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message/textproto"
	"golang.org/x/crypto/bcrypt"

	"mxdesk/config"
	"mxdesk/router"
	"mxdesk/store"
	"mxdesk/store/badgerstore"
	"mxdesk/testutil/teststore"
)

// Every store a test binary that uses testutil opens, the gateway's
// included, checks its consistency when it closes (badgerstore.Check):
// every test is also a test of the store's indexes.
func init() { badgerstore.CheckEveryStoreOnClose() }

// Password is the password of every agent of Config.
const Password = "secret"

var (
	hashOnce sync.Once
	hash     string
)

// PasswordHash is a bcrypt hash of Password (computed once, cheap cost).
func PasswordHash() string {
	hashOnce.Do(func() {
		h, err := bcrypt.GenerateFromPassword([]byte(Password), bcrypt.MinCost)
		if err != nil {
			panic(err)
		}
		hash = string(h)
	})
	return hash
}

// Config returns a valid configuration: domain example.test; queues
// Support (support@, help@) and Billing (billing@); send-only noreply@;
// agents alice (Support), bob (Billing), carol (both, supervisor), all with
// Password. extra is appended to the TOML (it may add keys or tables).
func Config(t testing.TB, extra string) *config.Config {
	t.Helper()
	return ConfigTop(t, "", extra)
}

// ConfigTop is Config with top-level keys (company, timezone, ...) that
// TOML only takes before the first table.
func ConfigTop(t testing.TB, top, extra string) *config.Config {
	t.Helper()
	toml := top + fmt.Sprintf(`
hostname = "mx.example.test"
data_dir = %q
[[send_only]]
address = "noreply@example.test"
[tls]
insecure_auth = true
[inbound]
resolver = "127.0.0.1:1"   # nothing answers: DNS checks fail fast, never reach the network
[listen]
smtp = "127.0.0.1:0"
submission = ""
imap = "127.0.0.1:0"
http = "127.0.0.1:0"
[[domain]]
name = "example.test"
[[queue]]
name = "Support"
addresses = ["support@example.test", "help@example.test"]
[[queue]]
name = "Billing"
addresses = ["billing@example.test"]
[[agent]]
login = "alice@example.test"
name = "Alice Rossi"
password_hash = %[2]q
queues = ["Support"]
[[agent]]
login = "bob@example.test"
name = "Bob Berg"
password_hash = %[2]q
queues = ["Billing"]
[[agent]]
login = "carol@example.test"
name = "Carol Nilsen"
password_hash = %[2]q
queues = ["Support", "Billing"]
role = "supervisor"
%s`, t.TempDir(), PasswordHash(), extra)
	cfg, err := config.Parse([]byte(toml), "test.toml")
	if err != nil {
		t.Fatalf("test config: %v\n%s", err, numbered(toml))
	}
	return cfg
}

// Router opens the run's store in dir (a new temporary one when "";
// teststore: badger, or PostgreSQL in the postgres run) and builds a
// router on it; both close when the test ends.
func Router(t testing.TB, cfg *config.Config, dir string) *router.Router {
	t.Helper()
	return RouterOpts(t, cfg, dir, router.Options{})
}

// RouterOpts is Router with options (an injected clock).
func RouterOpts(t testing.TB, cfg *config.Config, dir string, opts router.Options) *router.Router {
	t.Helper()
	st := teststore.Open(t, dir, teststore.Options{})
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	r, err := router.New(cfg, st, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Queued is a message of the outbox: the envelope as stored, the
// message's header parsed, the whole message.
type Queued struct {
	store.Outbound
	Header textproto.Header
	Raw    string
}

// Outbox returns the messages r has queued for delivery (at most 100,
// due within the hour of r's clock), oldest first.
func Outbox(t testing.TB, r *router.Router) []Queued {
	t.Helper()
	var out []Queued
	err := r.View(func(rd store.Reader) error {
		obs, err := rd.DueOutbound(r.Now().Add(time.Hour), 100)
		for _, o := range obs {
			raw, err := rd.Blob(o.Blob)
			if err != nil {
				return err
			}
			h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
			if err != nil {
				return fmt.Errorf("queued message %d: %w", o.ID, err)
			}
			out = append(out, Queued{Outbound: o, Header: h, Raw: string(raw)})
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func numbered(s string) string {
	var b strings.Builder
	for i, l := range strings.Split(s, "\n") {
		fmt.Fprintf(&b, "%3d %s\n", i+1, l)
	}
	return b.String()
}

// Clock is a settable clock for router.Options.Now: timers are tested by
// moving it, never by waiting.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock starts a clock at a fixed, ordinary moment.
func NewClock() *Clock {
	return &Clock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
