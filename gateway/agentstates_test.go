package gateway_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/emersion/go-imap/v2"

	"mxdesk/config"
	"mxdesk/gateway"
	"mxdesk/router"
	"mxdesk/store"
	"mxdesk/testutil"
)

// agentRow is login's line of the supervisor view.
func agentRow(t *testing.T, g *gateway.Gateway, login string) gateway.SupervisorAgent {
	t.Helper()
	for _, a := range supervisorSnapshot(t, g).Agents {
		if a.Login == login {
			return a
		}
	}
	t.Fatalf("no agent %s on the supervisor page", login)
	return gateway.SupervisorAgent{}
}

// TestAgentStatesRonaAndHandling: alice is available for 30 minutes,
// lets her offer time out (RONA) for 5, comes back by a NOOP, opens the
// next session offered to her (in_session) and resolves it 12 minutes
// later. The metrics count the seconds per state and the handling time,
// and the supervisor page, followed live in Chromium, shows each state
// and her handled session.
func TestAgentStatesRonaAndHandling(t *testing.T) {
	exe := chromium(t)
	clock := testutil.NewClock()
	cfg := testutil.Config(t, "")
	support := &cfg.Queue[0]
	support.AutoAssign = true
	support.OfferTimeout = config.Duration{Duration: 30 * time.Minute}
	g := startGatewayClock(t, cfg, clock)
	alice := loginIMAP(t, g.Addr("imap"), "alice@example.test")
	sendToQueue(t, g, "support@example.test", "<st-1@customer.test>", "states")
	offered := func() bool { return agentRow(t, g, "alice@example.test").Active == 1 }
	waitFor(t, "the offer to alice", offered, g)

	clock.Advance(30 * time.Minute)
	if _, err := g.Router().RunDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	clock.Advance(5 * time.Minute)
	m := scrapeMetrics(t, g)
	for state, want := range map[string]float64{router.StateAvailable: 1800, router.StateRona: 300, router.StateAway: 0} {
		if got := m.value("mxdesk_agent_state_seconds_total", "agent", "alice@example.test", "state", state); got != want {
			t.Errorf("mxdesk_agent_state_seconds_total{alice,%s} = %v, want %v", state, got, want)
		}
	}
	if got := m.value("mxdesk_agent_state", "agent", "alice@example.test", "state", router.StateRona); got != 1 {
		t.Errorf("mxdesk_agent_state{alice,rona} = %v, want 1", got)
	}
	if got := m.value("mxdesk_agents", "state", router.StateRona); got != 1 {
		t.Errorf("mxdesk_agents{state=rona} = %v, want 1", got)
	}
	if a := agentRow(t, g, "alice@example.test"); a.State != router.StateRona || a.StateSeconds != 300 || a.StateTotals[router.StateAvailable] != 1800 {
		t.Errorf("alice on the page: %+v, want rona for 300 s after 1800 s available", a)
	}

	pill := chromedp.CSS(`tr[data-agent="alice@example.test"] .pill`)
	ctx := openSupervisorPage(t, exe, g, "carol@example.test", pill)
	if got := text(t, ctx, pill); got != router.StateRona {
		t.Errorf("alice's state on the page: %q, want rona", got)
	}
	poll(t, ctx, `document.getElementById("live-text").textContent === "live"`, "the event stream to open")

	// Back by any command: the next session is offered to her (the
	// first waits for someone else: never the same agent twice in a row).
	if err := alice.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, `document.querySelector('tr[data-agent="alice@example.test"] .pill').textContent === "available"`, "alice available on the page")
	sendToQueue(t, g, "support@example.test", "<st-2@customer.test>", "states again")
	waitFor(t, "the second offer to alice", offered, g)
	if _, err := alice.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := alice.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, `document.querySelector('tr[data-agent="alice@example.test"] .pill').textContent === "in_session"`, "alice in_session on the page")

	clock.Advance(12 * time.Minute)
	if _, err := alice.Move(imap.SeqSetNum(1), "Resolved").Wait(); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, `document.querySelector('tr[data-agent="alice@example.test"] td.handled').textContent === "1"`, "alice's handled session on the page")
	if got := text(t, ctx, chromedp.CSS(`tr[data-agent="alice@example.test"] td.handling`)); got != "12m 00s" {
		t.Errorf("alice's handling time on the page: %q, want 12m 00s", got)
	}
	m = scrapeMetrics(t, g)
	if got := m.value("mxdesk_session_handling_seconds", "queue", "Support"); got != 1 {
		t.Errorf("mxdesk_session_handling_seconds{Support} count = %v, want 1", got)
	}
	if got := m.value("mxdesk_agent_handling_seconds_total", "agent", "alice@example.test"); got != 720 {
		t.Errorf("mxdesk_agent_handling_seconds_total{alice} = %v, want 720", got)
	}
	if got := m.value("mxdesk_agent_state_seconds_total", "agent", "alice@example.test", "state", router.StateInSession); got != 720 {
		t.Errorf("mxdesk_agent_state_seconds_total{alice,in_session} = %v, want 720", got)
	}
	var handled []string
	g.Router().View(func(rd store.Reader) error {
		return rd.EachSession(func(s store.Session) error {
			evs, err := rd.Events(s.ID)
			for _, e := range evs {
				if e.Kind == "handled" {
					handled = append(handled, e.Actor+": "+e.Detail)
				}
			}
			return err
		})
	})
	if len(handled) != 1 || handled[0] != "alice@example.test: picked up and resolved in 12m0s" {
		t.Errorf("handled events %q", handled)
	}
}
