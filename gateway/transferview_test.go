package gateway_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mxdesk/config"
	"mxdesk/gateway"
	"mxdesk/router"
	"mxdesk/testutil"
)

// transferView is Support's view of its transfers to an agent.
const transferView = "Queues/Support/Transfers"

// startTransferDesk runs a gateway whose Support queue (kpi_wait_alarm
// 10 minutes) is served by alice and bob; carol supervises.
func startTransferDesk(t *testing.T) (*gateway.Gateway, *testutil.Clock) {
	t.Helper()
	cfg := testutil.Config(t, "")
	cfg.Queue[0].KPIWaitAlarm = config.Duration{Duration: 10 * time.Minute}
	cfg.Agent[1].Queues = append(cfg.Agent[1].Queues, "Support")
	clock := testutil.NewClock()
	return startGatewayClock(t, cfg, clock), clock
}

// viewFlags lists the flags of each message in c's transfer view, by
// Message-ID.
func viewFlags(t *testing.T, c *imapclient.Client) map[string][]imap.Flag {
	t.Helper()
	sel, err := c.Select(transferView, nil).Wait()
	if err != nil {
		t.Fatalf("SELECT %s: %v", transferView, err)
	}
	out := map[string][]imap.Flag{}
	if sel.NumMessages == 0 {
		return out
	}
	msgs, err := c.Fetch(imap.SeqSetNum(1, sel.NumMessages), &imap.FetchOptions{Flags: true, Envelope: true}).Collect()
	if err != nil {
		t.Fatalf("FETCH in %s: %v", transferView, err)
	}
	for _, m := range msgs {
		out[m.Envelope.MessageID] = m.Flags
	}
	return out
}

// inboxCount is how many messages login's INBOX holds.
func inboxCount(t *testing.T, c *imapclient.Client) uint32 {
	t.Helper()
	st, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	return *st.NumMessages
}

// TestTransferViewTakeByMove: carol (supervisor) assigns a session to
// bob; alice sees it in Queues/Support/Transfers tagged $to_bob, and
// $KPIAlarm once it waits past kpi_wait_alarm by the injected clock; she
// moves it to her INBOX: it is hers (an event says from whom), gone from
// the view and from bob's INBOX.
func TestTransferViewTakeByMove(t *testing.T) {
	g, clock := startTransferDesk(t)
	sendToQueue(t, g, "support@example.test", "<tv-1@customer.test>", "waits for bob")
	carol := loginIMAP(t, g.Addr("imap"), "carol@example.test")
	moveByMessageID(t, carol, "Queues/Support", "tv-1@customer.test", "Agents/bob@example.test")

	alice := loginIMAP(t, g.Addr("imap"), "alice@example.test")
	bob := loginIMAP(t, g.Addr("imap"), "bob@example.test")
	flags := viewFlags(t, alice)["tv-1@customer.test"]
	if !slices.Contains(flags, imap.Flag(router.TransferKeyword("bob@example.test"))) || slices.Contains(flags, router.KPIAlarmKeyword) {
		t.Fatalf("alice sees flags %v in %s, want $to_bob@example.test without $KPIAlarm (%v)", flags, transferView, viewFlags(t, alice))
	}
	if n := inboxCount(t, bob); n != 1 {
		t.Fatalf("bob's INBOX holds %d, want the transfer", n)
	}
	if q := supervisorSnapshot(t, g).Queues[0]; q.Name != "Support" || q.Transfers != 1 {
		t.Errorf("supervisor snapshot %s: %d in the transfer view, want 1", q.Name, q.Transfers)
	}

	clock.Advance(11 * time.Minute)
	if _, err := g.Router().RunDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if flags := viewFlags(t, alice)["tv-1@customer.test"]; !slices.Contains(flags, router.KPIAlarmKeyword) {
		t.Fatalf("11 minutes unopened, over Support's 10: flags %v, want %s", flags, router.KPIAlarmKeyword)
	}

	moveByMessageID(t, alice, transferView, "tv-1@customer.test", "INBOX")
	if s := sessionOf(t, g, "tv-1@customer.test"); s.Agent != "alice@example.test" {
		t.Errorf("after alice's move the session is %q's", s.Agent)
	}
	if got := lastEvent(report(t, g, sessionOf(t, g, "tv-1@customer.test").ID), "assigned"); !strings.Contains(got, "transferred to bob@example.test") {
		t.Errorf("the assigned event says %q, want whom it was taken from", got)
	}
	if v := viewFlags(t, alice); len(v) != 0 {
		t.Errorf("%s still lists %v after alice took it", transferView, v)
	}
	if n := inboxCount(t, bob); n != 0 {
		t.Errorf("bob's INBOX still holds %d after alice took it", n)
	}
	if n := inboxCount(t, alice); n != 1 {
		t.Errorf("alice's INBOX holds %d, want the session", n)
	}
	if q := supervisorSnapshot(t, g).Queues[0]; q.Transfers != 0 {
		t.Errorf("supervisor snapshot: %d in Support's transfer view after alice took it, want 0", q.Transfers)
	}
}

// TestTransferViewCountInBrowser: the supervisor page's Support row
// counts the sessions in its transfer view, pushed as they come and go.
func TestTransferViewCountInBrowser(t *testing.T) {
	exe := chromium(t)
	g, _ := startTransferDesk(t)
	cell := chromedp.CSS(`tr[data-queue="Support"] td.transfers`)
	ctx := openSupervisorPage(t, exe, g, "carol@example.test", cell)
	if got := text(t, ctx, cell); got != "0" {
		t.Errorf("Support's transfers %q, want 0", got)
	}
	poll(t, ctx, `document.getElementById("live-text").textContent === "live"`, "the event stream to open")
	sendToQueue(t, g, "support@example.test", "<tv-3@customer.test>", "for bob")
	carol := loginIMAP(t, g.Addr("imap"), "carol@example.test")
	moveByMessageID(t, carol, "Queues/Support", "tv-3@customer.test", "Agents/bob@example.test")
	poll(t, ctx, `document.querySelector('tr[data-queue="Support"] td.transfers').textContent === "1"`, "Support's transfers to become 1")
	alice := loginIMAP(t, g.Addr("imap"), "alice@example.test")
	moveByMessageID(t, alice, transferView, "tv-3@customer.test", "INBOX")
	poll(t, ctx, `document.querySelector('tr[data-queue="Support"] td.transfers').textContent === "0"`, "Support's transfers to go back to 0")
}

// TestTransferViewLeavesWhenOpened: bob opening the session he was
// given removes it from the view; a non-supervisor can't send someone
// else's session anywhere but their own folders from the view.
func TestTransferViewLeavesWhenOpened(t *testing.T) {
	g, _ := startTransferDesk(t)
	sendToQueue(t, g, "support@example.test", "<tv-2@customer.test>", "bob opens it")
	carol := loginIMAP(t, g.Addr("imap"), "carol@example.test")
	moveByMessageID(t, carol, "Queues/Support", "tv-2@customer.test", "Agents/bob@example.test")
	alice := loginIMAP(t, g.Addr("imap"), "alice@example.test")
	if v := viewFlags(t, alice); len(v) != 1 {
		t.Fatalf("%s lists %v, want bob's transfer", transferView, v)
	}
	if _, err := alice.Move(imap.SeqSetNum(1), "Queues/Support").Wait(); err == nil {
		t.Errorf("alice moved bob's transfer from %s to a queue", transferView)
	}

	bob := loginIMAP(t, g.Addr("imap"), "bob@example.test")
	if _, err := bob.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{}}}).Collect(); err != nil {
		t.Fatal(err)
	}
	if v := viewFlags(t, alice); len(v) != 0 {
		t.Errorf("%s still lists %v after bob opened it", transferView, v)
	}
	if s := sessionOf(t, g, "tv-2@customer.test"); s.Agent != "bob@example.test" || s.Status != router.StatusActive {
		t.Errorf("after bob read it the session is %q's, %s", s.Agent, s.Status)
	}
}

// TestTransferViewLatestInboundOnly: the customer writes again while the
// transfer waits: the view lists the new message, once; resolved, the
// session leaves the view.
func TestTransferViewLatestInboundOnly(t *testing.T) {
	g, _ := startTransferDesk(t)
	sendToQueue(t, g, "support@example.test", "<tv-4@customer.test>", "first")
	carol := loginIMAP(t, g.Addr("imap"), "carol@example.test")
	moveByMessageID(t, carol, "Queues/Support", "tv-4@customer.test", "Agents/bob@example.test")
	sendRawMX(t, g, "carla@customer.test", "support@example.test", "From: Carla <carla@customer.test>\r\nTo: support@example.test\r\n"+
		"Subject: Re: first\r\nMessage-ID: <tv-5@customer.test>\r\nIn-Reply-To: <tv-4@customer.test>\r\nReferences: <tv-4@customer.test>\r\n\r\nAny news?\r\n")
	alice := loginIMAP(t, g.Addr("imap"), "alice@example.test")
	v := viewFlags(t, alice)
	if _, ok := v["tv-5@customer.test"]; !ok || len(v) != 1 {
		t.Fatalf("%s lists %v, want the customer's latest message only", transferView, v)
	}

	bob := loginIMAP(t, g.Addr("imap"), "bob@example.test")
	moveByMessageID(t, bob, "INBOX", "tv-5@customer.test", "Resolved")
	if v := viewFlags(t, alice); len(v) != 0 {
		t.Errorf("%s still lists %v after bob resolved it", transferView, v)
	}
}
