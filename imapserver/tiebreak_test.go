package imapserver_test

import (
	"testing"
	"time"
)

// Ties in auto-assignment go to the agent whose last assignment is oldest
// (SPEC §6), and every way a session reaches an agent is an assignment:
// here a claim by hand (Queues/Desk -> INBOX) and a supervisor's move to
// Agents/<login>, on top of auto-assignment.
func TestTieBreakCountsEveryAssignment(t *testing.T) {
	t.Parallel()
	h := newDeskHarness(t, desk{})
	// Nobody is logged in: both wait in the queue.
	h.wantAgent(h.toDesk("t1@customer.test"), "")
	h.wantAgent(h.toDesk("t2@customer.test"), "")

	b := h.login(ben)
	b.selectBox("Queues/Desk")
	b.move("t1@customer.test", "INBOX")
	h.advance(time.Minute, b)
	a := h.login(ann)
	a.selectBox("Queues/Desk")
	a.move("t2@customer.test", "INBOX") // ann's claim is the newer one
	h.advance(time.Minute, a, b)

	// One active each: ben, whose claim is older, gets the next one
	// (never-assigned ties would have gone to ann, first by login).
	h.wantAgent(h.toDesk("t3@customer.test"), ben)

	// ben 2, ann 1. With both away, a supervisor gives ann a waiting
	// session: 2 each, ann's assignment the newest, so the next one goes
	// to ben again.
	for _, who := range []string{ann, ben} {
		if err := h.r.SetAway(t.Context(), who, true); err != nil {
			t.Fatal(err)
		}
	}
	h.wantAgent(h.toDesk("t4@customer.test"), "")
	h.advance(time.Minute, a, b)
	s := h.login(sam)
	s.selectBox("Queues/Desk")
	s.move("t4@customer.test", "Agents/"+ann)
	for _, who := range []string{ann, ben} {
		if err := h.r.SetAway(t.Context(), who, false); err != nil {
			t.Fatal(err)
		}
	}
	h.advance(time.Minute, a, b, s)
	if got, want := h.state(ann).Active, h.state(ben).Active; got != 2 || want != 2 {
		t.Fatalf("ann has %d active, ben %d: the tie-break needs 2 each", got, want)
	}
	h.wantAgent(h.toDesk("t5@customer.test"), ben)
}
