package e2e

import (
	"fmt"
	"os"
	"slices"
	"testing"

	"mxdesk/testutil"
)

// withCRM adds to env's configuration a [crm] table feeding c, content
// and PDF off: two events per session (ticket.created, the link).
func (e *testEnv) withCRM(t *testing.T, c *testutil.CRM) {
	t.Helper()
	f, err := os.OpenFile(e.configPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("\n" + c.TOML(`content = "off"`+"\npdf = \"off\"")); err != nil {
		t.Fatal(err)
	}
}

// TestCRMEventsSurviveKill: the real binary is killed with SIGKILL while
// the CRM holds one of its webhook requests; after a restart every event
// of every session arrives (at least once: counted by distinct
// webhook-id), validly signed, in order per session, and none is
// invented.
func TestCRMEventsSurviveKill(t *testing.T) {
	const sessions = 12
	c := testutil.StartCRM(t)
	held := make(chan struct{}) // never closed: the request waits for the kill
	c.SetFail(func(n int, _ testutil.CRMEvent) testutil.CRMAnswer {
		if n == sessions {
			return testutil.CRMAnswer{Hold: held}
		}
		return testutil.CRMAnswer{}
	})
	env := newEnv(t)
	env.withCRM(t, c)
	srv := env.start(t)
	for i := range sessions {
		deliver(t, srv.addr("smtp"), fmt.Sprintf("crm-%d@client.example", i))
	}
	c.WaitFor(t, readyTimeout, "a request to hold", func([]testutil.CRMEvent) bool { return c.Requests() >= sessions })
	srv.kill()
	t.Logf("killed holding a request, with %d events accepted", len(c.Accepted()))

	srv = env.start(t)
	got := c.WaitFor(t, readyTimeout, "two events of every session", func(ev []testutil.CRMEvent) bool {
		per := testutil.PerSession(ev)
		done := 0
		for _, list := range per {
			if len(list) >= 2 {
				done++
			}
		}
		return done == sessions
	})
	if bad := c.Bad(); len(bad) > 0 {
		t.Errorf("requests failed verification: %v", bad)
	}
	per := testutil.PerSession(got)
	distinct := 0
	for session, list := range per {
		distinct += len(list)
		kinds := []string{}
		for _, e := range list {
			kinds = append(kinds, testutil.TypeKind(e))
		}
		if !slices.Equal(kinds, []string{"ticket.created", "ticket.comment/link"}) {
			t.Errorf("session %s: %v, want ticket.created then the link", session, kinds)
		}
	}
	if len(per) != sessions || distinct != 2*sessions {
		t.Errorf("%d sessions, %d distinct webhook-ids; want %d and %d", len(per), distinct, sessions, 2*sessions)
	}
	srv.stop()
	checkStoreConsistent(t, env)
}
