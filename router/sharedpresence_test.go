package router_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"mxdesk/config"
	"mxdesk/router"
	"mxdesk/store/pgstore"
	"mxdesk/testutil"
	"mxdesk/testutil/pgtest"
)

// presenceInterval is the nodes' heartbeat in these tests.
const presenceInterval = 50 * time.Millisecond

// deskQueue auto-assigns to agents logged in (the default); only dora
// serves it.
const deskQueue = `
[[queue]]
name = "Desk"
addresses = ["desk@example.test"]
auto_assign = true
[[agent]]
login = "dora@example.test"
name = "Dora Lind"
password_hash = %q
queues = ["Desk"]
`

// pgNode is a router on its own store on the shared database dsn, with
// shared presence running until the test ends; timers also runs its
// session timers and assignment (the node holding that duty).
func pgNode(t *testing.T, cfg *config.Config, dsn string, timers bool) (*router.Router, *pgstore.Store) {
	t.Helper()
	st, err := pgstore.Open(context.Background(), dsn, pgstore.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r, err := router.New(cfg, st, router.Options{SharedPresence: st.Presence(presenceInterval)})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { stop(); wg.Wait() })
	wg.Go(func() { r.RunPresence(runCtx) })
	if timers {
		wg.Go(func() { r.Run(runCtx) })
	}
	return r, st
}

func sharedDesk(t *testing.T) *config.Config {
	return testutil.Config(t, fmt.Sprintf(deskQueue, testutil.PasswordHash()))
}

// An agent connected to node A counts as present on node B, and absent
// once their last connection there closes.
func TestPresenceSeenAcrossNodes(t *testing.T) {
	cfg := sharedDesk(t)
	dsn := pgtest.Shared(t).NewDB(t)
	a, _ := pgNode(t, cfg, dsn, false)
	b, _ := pgNode(t, cfg, dsn, false)
	if b.Present("dora@example.test") {
		t.Fatal("dora present on b before logging in anywhere")
	}
	p := a.Connect(login(t, a, "dora@example.test"), nil)
	testutil.WaitFor(t, "b to see dora present", func() bool { return b.Present("dora@example.test") }, b)
	sts, err := b.AgentStatuses()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sts {
		if s.Login == "dora@example.test" && (!s.Present || s.State != router.StateAvailable) {
			t.Errorf("dora on b: %+v, want present and available", s)
		}
	}
	p.Close()
	testutil.WaitFor(t, "b to see dora gone", func() bool { return !b.Present("dora@example.test") }, b)
}

// A session waits on node B, which runs the assignment, for want of an
// agent logged in; dora logs in on node A: B offers her the session.
func TestAssignmentOffersToAgentOnAnotherNode(t *testing.T) {
	cfg := sharedDesk(t)
	dsn := pgtest.Shared(t).NewDB(t)
	a, _ := pgNode(t, cfg, dsn, false)
	b, _ := pgNode(t, cfg, dsn, true)
	d := deliver(t, b, "desk@example.test", "Message-ID: <wait-1@customer.test>\r\n")
	if s := session(t, b, d.Session); s.Agent != "" {
		t.Fatalf("session assigned to %q with nobody logged in", s.Agent)
	}
	defer a.Connect(login(t, a, "dora@example.test"), nil).Close()
	testutil.WaitFor(t, "b to assign the session to dora", func() bool { return session(t, b, d.Session).Agent == "dora@example.test" }, b)
}

// A node that died (its presence rows no longer renewed) stops counting
// after three heartbeats.
func TestDeadNodesPresenceIgnored(t *testing.T) {
	cfg := sharedDesk(t)
	dsn := pgtest.Shared(t).NewDB(t)
	b, _ := pgNode(t, cfg, dsn, false)
	dead, err := pgstore.Open(context.Background(), dsn, pgstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	p := dead.Presence(presenceInterval)
	// The node beats until b has seen dora (a loaded machine may take
	// longer than three beats to look), then dies: nothing renews its row.
	alive, beating := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(beating)
		for {
			if err := p.Publish(context.Background(), map[string]int{"dora@example.test": 1}); err != nil {
				t.Error(err)
				return
			}
			if err := p.Kick(context.Background()); err != nil {
				t.Error(err)
				return
			}
			select {
			case <-alive:
				return
			case <-time.After(presenceInterval):
			}
		}
	}()
	testutil.WaitFor(t, "b to see dora present", func() bool { return b.Present("dora@example.test") }, b)
	close(alive)
	<-beating
	testutil.WaitFor(t, "b to forget the dead node's dora", func() bool { return !b.Present("dora@example.test") }, b)
}
