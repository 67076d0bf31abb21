package gateway_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mxdesk/testutil"
)

// supervisorsOfEach adds dave, supervisor of Support only, and erin,
// supervisor of Billing only.
var supervisorsOfEach = `
[[agent]]
login = "dave@example.test"
password_hash = "` + testutil.PasswordHash() + `"
queues = ["Support"]
role = "supervisor"
[[agent]]
login = "erin@example.test"
password_hash = "` + testutil.PasswordHash() + `"
queues = ["Billing"]
role = "supervisor"
`

// TestTransferKeepsHistory: after a session moves from Support to
// Billing, Support's supervisor still reads its messages up to the
// transfer in All/Support, Billing's supervisor reads the whole session
// in All/Billing and what comes after it, nothing is listed twice, and
// reopening the closed session gives its agent each message once.
func TestTransferKeepsHistory(t *testing.T) {
	clock := testutil.NewClock()
	cfg := testutil.Config(t, supervisorsOfEach)
	cfg.Listen.Submission = "127.0.0.1:0"
	g := startGatewayClock(t, cfg, clock)
	customer := func(id, inReplyTo string) {
		t.Helper()
		sendRawMX(t, g, "carla@customer.test", "support@example.test", customerMail(strings.TrimSuffix(id, "@customer.test"), "support@example.test", inReplyTo))
	}
	customer("h1@customer.test", "")
	customer("h2@customer.test", "h1@customer.test")
	carol := loginIMAP(t, g.Addr("imap"), "carol@example.test")
	moveByMessageID(t, carol, "Queues/Support", "h2@customer.test", "Queues/Billing")
	customer("h3@customer.test", "h2@customer.test")

	dave := loginIMAP(t, g.Addr("imap"), "dave@example.test")
	erin := loginIMAP(t, g.Addr("imap"), "erin@example.test")
	if got := messageIDs(t, dave, "All/Support"); !slices.Equal(got, []string{"h1@customer.test", "h2@customer.test"}) {
		t.Errorf("Support's supervisor reads %v in All/Support, want the two messages before the transfer", got)
	}
	if got := messageIDs(t, erin, "All/Billing"); !slices.Equal(got, []string{"h1@customer.test", "h2@customer.test", "h3@customer.test"}) {
		t.Errorf("Billing's supervisor reads %v in All/Billing, want the whole session", got)
	}
	if _, err := dave.Move(imap.SeqSetNum(1), "Queues/Support").Wait(); err == nil {
		t.Error("All/Support took a MOVE out of it: the history is read-only")
	}

	// A transfer by forward to billing@ does the same; its note is part
	// of the session from then on, in Billing only.
	customer("f1@customer.test", "")
	moveByMessageID(t, loginIMAP(t, g.Addr("imap"), "alice@example.test"), "Queues/Support", "f1@customer.test", "INBOX")
	forward(t, g, "alice@example.test", "billing@example.test", "f1@customer.test")
	if got := messageIDs(t, dave, "All/Support"); !slices.Equal(got, []string{"h1@customer.test", "h2@customer.test", "f1@customer.test"}) {
		t.Errorf("All/Support after the forward: %v, want f1 kept there", got)
	}
	if got := messageIDs(t, erin, "All/Billing"); !slices.Equal(got, []string{"h1@customer.test", "h2@customer.test", "h3@customer.test", "f1@customer.test", "fwd-f1@customer.test"}) {
		t.Errorf("All/Billing after the forward: %v, want f1 and the transfer note added", got)
	}

	// bob resolves it, it closes, the customer writes again: reopened
	// in bob's INBOX with each message once.
	bob := loginIMAP(t, g.Addr("imap"), "bob@example.test")
	moveByMessageID(t, bob, "Queues/Billing", "h3@customer.test", "Resolved")
	clock.Advance(31 * 24 * time.Hour)
	if _, err := g.Router().RunDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	customer("h4@customer.test", "h3@customer.test")
	rep, err := g.Router().Report(sessionOf(t, g, "h4@customer.test").ID)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Session.Status != "Reopened" || rep.Session.Queue != "Billing" || len(rep.Messages) != 4 {
		t.Fatalf("after the reply: %s in %s with %d messages, want Reopened in Billing with 4", rep.Session.Status, rep.Session.Queue, len(rep.Messages))
	}
	want := []string{"h1@customer.test", "h2@customer.test", "h3@customer.test", "h4@customer.test"}
	if got := messageIDs(t, bob, "INBOX"); !slices.Equal(got, want) {
		t.Errorf("bob's INBOX after the reopening: %v, want %v", got, want)
	}
	if got := messageIDs(t, erin, "All/Billing"); len(got) != 6 || got[5] != "h4@customer.test" {
		t.Errorf("All/Billing after the reopening: %v, want both sessions, h4 last", got)
	}
	if got := messageIDs(t, dave, "All/Support"); len(got) != 3 {
		t.Errorf("All/Support after the reopening: %v, want the 3 messages before the transfers", got)
	}
}

// messageIDs selects folder and returns its messages' Message-IDs in
// UID order.
func messageIDs(t *testing.T, c *imapclient.Client, folder string) []string {
	t.Helper()
	sel, err := c.Select(folder, nil).Wait()
	if err != nil {
		t.Fatalf("SELECT %s: %v", folder, err)
	}
	if sel.NumMessages == 0 {
		return nil
	}
	msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Envelope: true}).Collect()
	if err != nil {
		t.Fatalf("FETCH in %s: %v", folder, err)
	}
	slices.SortFunc(msgs, func(a, b *imapclient.FetchMessageBuffer) int { return int(a.UID) - int(b.UID) })
	var ids []string
	for _, m := range msgs {
		ids = append(ids, strings.Trim(m.Envelope.MessageID, "<>"))
	}
	return ids
}
