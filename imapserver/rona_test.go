package imapserver_test

import (
	"context"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"mxdesk/router"
	storepkg "mxdesk/store"
)

// wantState checks an agent's state as supervisors see it.
func (h *harness) wantState(login, want string) {
	h.t.Helper()
	if got := h.state(login).State; got != want {
		h.t.Fatalf("%s is %s, want %s", login, got, want)
	}
}

// An agent whose offer timed out is in RONA: no more offers, though they
// have the fewest sessions, until they send any IMAP command. RONA
// survives a restart.
func TestRonaUntilIMAPActivity(t *testing.T) {
	h := newDeskHarness(t, desk{})
	b := h.login(ben)
	h.login(ann)
	d1 := h.toDesk("r1@customer.test")
	h.wantAgent(d1, ann)

	h.advance(30*time.Minute, b) // ann stays silent
	h.runDue(1)
	if got := h.agentOf(d1.Session); got != ben {
		t.Fatalf("ann's offer expired: to %q, want ben", got)
	}
	h.wantState(ann, router.StateRona)
	h.wantAgent(h.toDesk("r2@customer.test"), ben) // ann has none, but is in RONA

	h.restart()
	h.wantState(ann, router.StateRona)
	h.login(ben)
	h.login(cid)
	h.wantAgent(h.toDesk("r3@customer.test"), cid) // cid has none and is not in RONA

	h.login(ann) // LOGIN is a command: she is back
	h.wantState(ann, router.StateAvailable)
	h.wantAgent(h.toDesk("r4@customer.test"), ann)
}

// A NOOP brings a connected agent in RONA back, and so does the state
// call of the admin API (SetAway false) without any IMAP connection.
func TestRonaBackByNoopOrAPI(t *testing.T) {
	h := newDeskHarness(t, desk{})
	a, b := h.login(ann), h.login(ben)
	h.wantAgent(h.toDesk("n1@customer.test"), ann)
	h.advance(30*time.Minute, b)
	h.runDue(1)
	h.wantState(ann, router.StateRona)
	a.noop()
	h.wantState(ann, router.StateAvailable)
	b.selectBox("INBOX") // ben opens n1: his offer ends
	store(t, b, imap.UIDSetNum(b.uidOf("n1@customer.test")), imap.StoreFlagsAdd, imap.FlagSeen)

	// Her second offer times out too; she logs out, and a supervisor
	// makes her available through the API.
	h.wantAgent(h.toDesk("n2@customer.test"), ann)
	h.advance(30*time.Minute, b)
	h.runDue(1)
	h.wantState(ann, router.StateRona)
	logout(t, a)
	h.wantState(ann, router.StateRona)
	if err := h.r.SetAway(context.Background(), ann, false); err != nil {
		t.Fatal(err)
	}
	h.wantState(ann, router.StateOffline)
}

// Status/Available, the agent's gesture for coming back, ends RONA; an
// agent with an opened (Active) session is in_session.
func TestRonaStatusAvailableAndInSession(t *testing.T) {
	h := newDeskHarness(t, desk{})
	a, b := h.login(ann), h.login(ben)
	h.wantAgent(h.toDesk("g1@customer.test"), ann)
	h.advance(30*time.Minute, b)
	h.runDue(1)
	h.wantState(ann, router.StateRona)
	b.selectBox("INBOX")
	b.move("g1@customer.test", "Status/Available") // ben's own state: ann stays in RONA
	h.wantState(ann, router.StateRona)
	h.wantState(ben, router.StateAvailable)

	b.selectBox("INBOX")
	store(t, b, imap.UIDSetNum(b.uidOf("g1@customer.test")), imap.StoreFlagsAdd, imap.FlagSeen)
	h.wantState(ben, router.StateInSession)

	// ann has no session left: she moves a draft of hers.
	appendMsg(t, a, "Drafts", "Subject: back\r\n\r\nx\r\n", nil)
	a.selectBox("Drafts")
	if _, err := a.Move(imap.UIDSetNum(a.uids()[0]), "Status/Available").Wait(); err != nil {
		t.Fatal(err)
	}
	h.wantState(ann, router.StateAvailable)
}

// On several nodes the offer that timed out may have been another node's:
// that node marked the agent in RONA in its memory, this one has only
// the store's state. Her commands here reread it (at most every 30 s)
// and bring her back.
func TestRonaSetByAnotherNode(t *testing.T) {
	h := newDeskHarness(t, desk{})
	a := h.login(ann) // a command: her RONA is read now
	err := h.st.Update(context.Background(), storepkg.UpdateOptions{}, func(tx storepkg.Tx) error {
		st, err := tx.AgentState(ann)
		if err != nil {
			return err
		}
		st.RonaSince = h.clock.Now()
		return tx.PutAgentState(st)
	})
	if err != nil {
		t.Fatal(err)
	}
	a.noop()
	h.wantState(ann, router.StateRona) // read at login, not again yet
	h.advance(time.Minute, a)
	h.wantState(ann, router.StateAvailable)
}
