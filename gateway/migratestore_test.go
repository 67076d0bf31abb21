package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-imap/v2"

	"mxdesk/config"
	"mxdesk/gateway"
	"mxdesk/router"
	"mxdesk/store"
	"mxdesk/store/badgerstore"
	"mxdesk/store/pgstore"
	"mxdesk/store/storetest"
	"mxdesk/testutil"
	"mxdesk/testutil/pgtest"
)

// busyDesk runs a desk through its gestures and stops it: sessions in
// two queues, flags, an agent's folder and draft, an expunge, a reply
// queued for delivery (the smarthost is down), CRM events waiting (the
// CRM answers 503), a quarantined original, a campaign with its rows and
// an API token. It returns the stopped desk's configuration and the
// report of the replied session as the router gave it.
func busyDesk(t *testing.T) (*config.Config, router.SessionReport) {
	t.Helper()
	crm := testutil.StartCRM(t)
	crm.SetFail(func(int, testutil.CRMEvent) testutil.CRMAnswer { return testutil.CRMAnswer{Status: 503} })
	cfg := campaignConfigWith(t, "127.0.0.1:1", crm.TOML(""))
	cfg.Listen.Submission = "127.0.0.1:0"
	g, stop := startStoppable(t, cfg)

	fill(t, g)
	s := customerWrites(t, g, "support@example.test", carlaWrites)
	if text, err := submitAs(t, g, "alice@example.test", []string{"carla@customer.test", "support@example.test", "dave@customer.test"},
		crlf(thunderbirdReplyAll)); err != nil || !strings.Contains(text, "queued as "+s.ID) {
		t.Fatalf("alice's reply: %q %v", text, err)
	}
	sendRawMX(t, g, "carla@customer.test", "support@example.test", string(exeAsPDF("q-1@customer.test")))
	expungeDraft(t, g)
	createCampaign(t, g, "Mon-Fri 13:00-18:00", "10/s", campaignList(3))
	newAPIClient(t, g, "crm", router.RoleIntegrator)
	waitFor(t, "a CRM event that failed", func() bool { return failedHooks(t, g) > 0 }, g)

	rep, err := g.Router().Report(s.ID)
	if err != nil {
		t.Fatal(err)
	}
	stop()
	return cfg, rep
}

// startStoppable starts a gateway on cfg; stop closes it (and fails the
// test on an error), or the test's end does.
func startStoppable(t *testing.T, cfg *config.Config) (g *gateway.Gateway, stop func()) {
	t.Helper()
	g, err := gateway.New(cfg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		g.Close()
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			if err := g.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return g, stop
}

// expungeDraft deletes alice's draft over IMAP.
func expungeDraft(t *testing.T, g *gateway.Gateway) {
	t.Helper()
	c := loginIMAP(t, g.Addr("imap"), "alice@example.test")
	if _, err := c.Select("Drafts", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	c.Logout().Wait()
}

// failedHooks counts the CRM events that were tried and failed.
func failedHooks(t *testing.T, g *gateway.Gateway) int {
	t.Helper()
	n := 0
	err := g.Router().View(func(rd store.Reader) error {
		hooks, err := rd.Hooks(0)
		for _, h := range hooks {
			if h.Attempts > 0 {
				n++
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestMigrateStore copies a desk that worked on badger into PostgreSQL:
// every record reads back the same through the store's Reader (IDs,
// UIDs, flags, mod-sequences, expunged UIDs, bodies, sessions, tokens,
// events, queues, quarantine, campaign, API token), both checks agree,
// and a router on the copy reports the session as the desk did.
func TestMigrateStore(t *testing.T) {
	cfg, before := busyDesk(t)
	cfg.Store.Backend, cfg.Store.DSN = config.BackendPostgres, pgtest.Shared(t).NewDB(t)
	var out bytes.Buffer
	if err := gateway.MigrateStore(cfg, quietLog(), &out); err != nil {
		t.Fatalf("MigrateStore: %v\n%s", err, out.String())
	}
	t.Logf("migrate-store:\n%s", out.String())
	for _, want := range []string{"source consistent: ", "copied 1 rows into quarantine\n", "copied: mailboxes ", "copy consistent: "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	src, err := badgerstore.Open(filepath.Join(cfg.DataDir, "store"), badgerstore.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := pgstore.Open(context.Background(), cfg.Store.DSN, pgstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	recs := storetest.NewRecords()
	if err := src.Export(recs.Sink()); err != nil {
		t.Fatal(err)
	}
	if len(recs.Outbound) == 0 || len(recs.Hooks) == 0 || len(recs.Quarantined) == 0 || len(recs.CampaignRows) != 3 ||
		len(recs.APITokens) != 1 || len(recs.Expunged) == 0 {
		t.Fatalf("the desk lacks a kind: %d outbound, %d CRM events, %d quarantined, %d campaign rows, %d API tokens, expunged in %d mailboxes",
			len(recs.Outbound), len(recs.Hooks), len(recs.Quarantined), len(recs.CampaignRows), len(recs.APITokens), len(recs.Expunged))
	}
	err = src.View(func(a store.Reader) error {
		return dst.View(func(b store.Reader) error {
			for _, d := range storetest.Compare(recs, a, b) {
				t.Error(d)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := gateway.CheckStore(cfg, quietLog())
	if err != nil || len(r.Problems) > 0 {
		t.Errorf("check-store on the copy: %v %v", err, r.Problems)
	}
	routerReads(t, cfg, dst, before)
}

// routerReads opens a router on st and compares its report of the
// session with before.
func routerReads(t *testing.T, cfg *config.Config, st store.Store, before router.SessionReport) {
	t.Helper()
	r, err := router.New(cfg, st, router.Options{Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	after, err := r.Report(before.Session.ID)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(before)
	b, _ := json.Marshal(after)
	if !bytes.Equal(a, b) {
		t.Errorf("report on the copy:\n%s\nwant\n%s", b, a)
	}
}

// A second copy into the same database is refused, naming store.dsn;
// so is a copy while a server holds the badger store.
func TestMigrateStoreRefuses(t *testing.T) {
	cfg := testutil.Config(t, "")
	_, stop := startStoppable(t, cfg)
	cfg.Store.DSN = pgtest.Shared(t).NewDB(t)
	err := gateway.MigrateStore(cfg, quietLog(), &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "data_dir "+cfg.DataDir) || !strings.Contains(err.Error(), badgerstore.ErrLocked.Error()) {
		t.Errorf("copy while the server runs: %v, want ErrLocked naming data_dir", err)
	}
	stop()
	if err := gateway.MigrateStore(cfg, quietLog(), &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	err = gateway.MigrateStore(cfg, quietLog(), &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "store.dsn: "+pgstore.ErrNotEmpty.Error()) {
		t.Errorf("second copy: %v, want store.dsn: %v", err, pgstore.ErrNotEmpty)
	}
}
