package router_test

import (
	"slices"
	"testing"
	"time"

	"mxdesk/config"
	"mxdesk/router"
	"mxdesk/store"
	"mxdesk/testutil"
)

// A session closed in a queue that was removed since keeps its history
// where it was; the customer's reply to the removed queue's token address
// is accepted and reopens it in the fallback queue (the first queue).
func TestClosedSessionOfRemovedQueueReopensInFallback(t *testing.T) {
	dir := t.TempDir()
	clock := testutil.NewClock()
	r, stop := openRouter(t, testutil.Config(t, ""), dir, clock)
	d := send(t, r, []string{"billing@example.test"}, "From: carla@customer.test\r\nMessage-ID: <cl-1@customer.test>\r\nSubject: invoice\r\n")
	bob := login(t, r, "bob@example.test")
	q, err := r.Folder(bob, "Queues/Billing")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := r.Move(ctx, bob, q.Mailbox, []store.UID{1}, "Resolved", nil); err != nil {
		t.Fatal(err)
	}
	clock.Advance(31 * 24 * time.Hour)
	if _, err := r.RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	token := session(t, r, d.Session).Token
	stop()

	cfg := testutil.Config(t, "")
	cfg.Queue = slices.DeleteFunc(cfg.Queue, func(q config.Queue) bool { return q.Name == "Billing" })
	cfg.Agent = slices.DeleteFunc(cfg.Agent, func(a config.Agent) bool { return a.Login == "bob@example.test" })
	cfg.Agent[1].Queues = []string{"Support"} // carol
	r, _ = openRouter(t, cfg, dir, clock)
	if s := session(t, r, d.Session); s.Status != router.StatusClosed || s.Queue != "Billing" {
		t.Fatalf("closed session after the start: %s in %s, want it left Closed in Billing", s.Status, s.Queue)
	}
	addr := "billing+" + token + "@example.test"
	if err := r.CheckRecipient(addr); err != nil {
		t.Fatalf("the removed queue's token address is refused: %v", err)
	}
	if err := r.CheckRecipient("billing@example.test"); err != router.ErrUnknownRecipient {
		t.Errorf("the removed queue's own address: %v, want unknown", err)
	}
	got := send(t, r, []string{addr}, "From: carla@customer.test\r\nMessage-ID: <cl-2@customer.test>\r\nSubject: Re: invoice\r\n")
	s := session(t, r, d.Session)
	if got.Session != d.Session || s.Status != router.StatusReopened || s.Queue != "Support" || got.Folder != "Queues/Support" {
		t.Errorf("the reply: session %s (%s), %s in %s; want %s Reopened in Queues/Support", got.Session, got.Folder, s.Status, s.Queue, d.Session)
	}
	if kinds := eventKinds(t, r, d.Session); !slices.Contains(kinds, "transferred") {
		t.Errorf("events %v: no transfer to the fallback queue", kinds)
	}
}
