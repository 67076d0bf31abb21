package gateway_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"mxdesk/gateway"
	"mxdesk/store"
	"mxdesk/testutil"
)

// crmGateway starts a gateway with submission whose [crm] feeds c.
func crmGateway(t *testing.T, c *testutil.CRM, crmExtra string) *gateway.Gateway {
	t.Helper()
	cfg := testutil.Config(t, c.TOML(crmExtra))
	cfg.Listen.Submission = "127.0.0.1:0"
	return startGatewayCfg(t, cfg)
}

// session reads session id as it is now.
func session(t *testing.T, g *gateway.Gateway, id string) store.Session {
	t.Helper()
	var s store.Session
	err := g.Router().View(func(rd store.Reader) error {
		var err error
		s, err = rd.Session(id)
		return err
	})
	if err != nil {
		t.Fatalf("session %s: %v", id, err)
	}
	return s
}

// kinds lists the type/kind of events.
func kinds(events []testutil.CRMEvent) []string {
	var out []string
	for _, e := range events {
		out = append(out, testutil.TypeKind(e))
	}
	return out
}

// TestCRMFeedSurvivesFailures: the CRM fails the first attempts with a
// 500, a 429 with Retry-After and a dropped connection, then recovers.
// Every event arrives, validly signed, in order per session, each
// webhook-id once accepted and the same on its retries; the ticket_id
// the CRM gave is in the session and in every later event.
func TestCRMFeedSurvivesFailures(t *testing.T) {
	c := testutil.StartCRM(t)
	var throttled string      // the webhook-id answered 429
	var throttledAt time.Time // when
	c.SetFail(func(n int, e testutil.CRMEvent) testutil.CRMAnswer {
		switch n {
		case 1:
			return testutil.CRMAnswer{Status: 500, RetryAfter: -1}
		case 2:
			throttled, throttledAt = e.ID, time.Now()
			return testutil.CRMAnswer{Status: 429, RetryAfter: 1}
		case 3:
			return testutil.CRMAnswer{Drop: true}
		}
		return testutil.CRMAnswer{}
	})
	g := crmGateway(t, c, "metadata = true")
	sendRawMX(t, g, "carla@customer.test", "support@example.test", customerMail("crm1", "support@example.test", ""))
	sendRawMX(t, g, "dan@customer.test", "support@example.test", strings.Replace(customerMail("crm2", "support@example.test", ""), "carla@", "dan@", 1))
	one, two := sessionOf(t, g, "crm1@customer.test").ID, sessionOf(t, g, "crm2@customer.test").ID

	alice := loginIMAP(t, g.Addr("imap"), "alice@example.test")
	moveByMessageID(t, alice, "Queues/Support", "crm1@customer.test", "INBOX")
	reply := crlf("From: alice@example.test\nTo: carla@customer.test\nSubject: Re: about crm1\nMessage-ID: <r-crm1@example.test>\nIn-Reply-To: <crm1@customer.test>\n\nOn its way.\n")
	if _, err := submitAs(t, g, "alice@example.test", []string{"carla@customer.test"}, reply); err != nil {
		t.Fatal(err)
	}
	moveByMessageID(t, alice, "INBOX", "crm1@customer.test", "Resolved")

	wantOne := []string{"ticket.created", "ticket.comment/link", "ticket.comment/link", "ticket.comment/content",
		"ticket.attachment/application/pdf", "ticket.attachment/application/json"}
	wantTwo := []string{"ticket.created", "ticket.comment/link"}
	got := c.WaitFor(t, 30*time.Second, "every event of both sessions", func(ev []testutil.CRMEvent) bool {
		per := testutil.PerSession(ev)
		return len(per[one]) >= len(wantOne) && len(per[two]) >= len(wantTwo)
	})
	if bad := c.Bad(); len(bad) > 0 {
		t.Errorf("requests failed verification: %v", bad)
	}
	per := testutil.PerSession(got)
	if k := kinds(per[one]); !slices.Equal(k, wantOne) {
		t.Errorf("session %s: %v, want %v in that order", one, k, wantOne)
	}
	if k := kinds(per[two]); !slices.Equal(k, wantTwo) {
		t.Errorf("session %s: %v, want %v in that order", two, k, wantTwo)
	}
	retried := 0
	for _, e := range got {
		if n := c.Attempts(e.ID); n > 1 {
			retried += n - 1
		}
	}
	if retried < 3 {
		t.Errorf("%d retries seen by webhook-id, want the 3 failed attempts retried with the same id", retried)
	}
	at := c.AttemptTimes(throttled)
	if next := at[len(at)-1]; !next.After(throttledAt) || next.Sub(throttledAt) < time.Second {
		t.Errorf("the event answered 429 with Retry-After: 1 at %v was tried again at %v: want a second later", throttledAt, at)
	}

	ticket := c.Ticket(one)
	if s := session(t, g, one); s.TicketID != ticket || ticket == "" {
		t.Fatalf("session %s has ticket %q, the CRM gave %q", one, s.TicketID, ticket)
	}
	for _, e := range per[one][1:] {
		if e.Str("ticket_id") != ticket {
			t.Errorf("%s after ticket.created carries ticket_id %q, want %q", testutil.TypeKind(e), e.Str("ticket_id"), ticket)
		}
	}
	created := per[one][0]
	fc, _ := created.Data["first_comment"].(map[string]any)
	for field, want := range map[string]string{"sent_by": "carla@customer.test", "received_by": "support@example.test", "session": one, "queue": "Support", "subject": "about crm1"} {
		if got, _ := fc[field].(string); got != want {
			t.Errorf("first_comment.%s = %q, want %q", field, got, want)
		}
	}
	if created.Str("customer") != "carla@customer.test" || created.Str("queue") != "Support" {
		t.Errorf("ticket.created data: %v", created.Data)
	}
	link := per[one][2]
	if !strings.HasPrefix(link.Str("url"), "https://desk.example.test/m/"+one+"/") || !strings.Contains(link.Str("text"), "Re: about crm1") {
		t.Errorf("the reply's link comment: %v", link.Data)
	}
	checkLinkOpens(t, g, link.Str("url"), "On its way.")
	if text := per[one][3].Str("text"); !strings.Contains(text, "hello") || !strings.Contains(text, "On its way.") {
		t.Errorf("the content comment lacks the customer's or the agent's text:\n%s", text)
	}
	if pdf, err := base64.StdEncoding.DecodeString(per[one][4].Str("content")); err != nil || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Errorf("the PDF attachment does not decode to a PDF (%v): %.40q", err, pdf)
	}
}

// checkLinkOpens fetches a message link on the gateway's [listen] http
// (its base is crm.link_base_url) and expects the page to show want; the
// same link with its signature changed is refused.
func checkLinkOpens(t *testing.T, g *gateway.Gateway, link, want string) {
	t.Helper()
	local := strings.Replace(link, "https://desk.example.test", "http://"+g.Addr("http"), 1)
	for _, tc := range []struct {
		url    string
		status int
	}{{local, http.StatusOK}, {strings.Replace(local, "sig=", "sig=x", 1), http.StatusForbidden}} {
		resp, err := http.Get(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || (tc.status == http.StatusOK && !strings.Contains(string(page), want)) {
			t.Errorf("GET %s: %s, want %d showing %q", tc.url, resp.Status, tc.status, want)
		}
	}
}

// TestCRMTicketShown: the ticket_id the CRM answered is on the
// supervisor page, in @{ticket_id} of the auto-replies composed after it
// (the first one, composed with the inbound message, has the session ID),
// and the metrics count the events.
func TestCRMTicketShown(t *testing.T) {
	c := testutil.StartCRM(t)
	cfg := testutil.Config(t, `[queue.auto_reply]
enabled = true
on_idle = true
idle_days = 1
body = "Your ticket is @{ticket_id}."
`+c.TOML(""))
	cfg.Listen.Submission = "127.0.0.1:0"
	clock := testutil.NewClock()
	g := startGatewayClock(t, cfg, clock)

	sendRawMX(t, g, "carla@customer.test", "billing@example.test", customerMail("tk1", "billing@example.test", ""))
	id := sessionOf(t, g, "tk1@customer.test").ID
	c.WaitFor(t, 20*time.Second, "the ticket and the link", func(ev []testutil.CRMEvent) bool { return len(ev) == 2 })
	ticket := c.Ticket(id)
	waiting := func() []gateway.SupervisorWaiting { return supervisorSnapshot(t, g).Waiting }
	if w := waiting(); len(w) != 1 || w[0].ID != id || w[0].TicketID != ticket {
		t.Errorf("supervisor page waiting list %+v, want %s with ticket %s", w, id, ticket)
	}
	resp := supervisorGet(t, t.Context(), g, "/supervisor", "carol@example.test", testutil.Password)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), `<span class="ticket">`+ticket+`</span>`) {
		t.Errorf("the supervisor page does not show ticket %s", ticket)
	}

	bob := loginIMAP(t, g.Addr("imap"), "bob@example.test")
	moveByMessageID(t, bob, "Queues/Billing", "tk1@customer.test", "INBOX")
	reply := crlf("From: bob@example.test\nTo: carla@customer.test\nSubject: Re: about tk1\nMessage-ID: <r-tk1@example.test>\nIn-Reply-To: <tk1@customer.test>\n\nLooking.\n")
	if _, err := submitAs(t, g, "bob@example.test", []string{"carla@customer.test"}, reply); err != nil {
		t.Fatal(err)
	}
	clock.Advance(49 * time.Hour)
	// From dan: the auto-reply to carla bounced (no DNS here), which
	// keeps automatic mail from her for a while.
	sendRawMX(t, g, "dan@customer.test", "billing@example.test", strings.Replace(customerMail("tk2", "billing@example.test", "r-tk1@example.test"), "carla@", "dan@", 1))
	var replies []string
	g.Router().View(func(rd store.Reader) error {
		msgs, _ := rd.SessionMessages(id)
		seen := map[store.BlobID]bool{}
		for _, m := range msgs {
			raw, _ := rd.Blob(m.Blob)
			if !seen[m.Blob] && strings.Contains(string(raw), "Your ticket is") {
				replies = append(replies, string(raw))
			}
			seen[m.Blob] = true
		}
		return nil
	})
	if len(replies) != 2 || !strings.Contains(replies[0], "Your ticket is "+id+".") || !strings.Contains(replies[1], "Your ticket is "+ticket+".") {
		t.Errorf("auto-replies: want the first with %s, the second with %s:\n%s", id, ticket, strings.Join(replies, "\n----\n"))
	}

	c.WaitFor(t, 20*time.Second, "the links of the reply and the second message", func(ev []testutil.CRMEvent) bool { return len(ev) == 4 })
	m := scrapeMetrics(t, g)
	if got := m.value("mxdesk_crm_events_total", "type", "ticket.created", "result", "delivered"); got != 1 {
		t.Errorf("mxdesk_crm_events_total{ticket.created,delivered} = %v, want 1", got)
	}
	if got := m.value("mxdesk_crm_events_total", "type", "ticket.comment", "result", "delivered"); got < 2 {
		t.Errorf("mxdesk_crm_events_total{ticket.comment,delivered} = %v, want at least 2", got)
	}
	if _, ok := m["mxdesk_crm_outbox_events"]; !ok {
		t.Error("no mxdesk_crm_outbox_events")
	}
	if _, ok := m["mxdesk_crm_oldest_event_seconds"]; !ok {
		t.Error("no mxdesk_crm_oldest_event_seconds")
	}
}

// TestCRMModes: with crm.inbound off a customer's first message opens no
// ticket and the agent's reply does; a session an agent starts opens one
// (crm.outbound); content "each_reply" comments after each agent reply;
// the metadata file comes at each resolution, again after a reopen.
func TestCRMModes(t *testing.T) {
	c := testutil.StartCRM(t)
	g := crmGateway(t, c, "inbound = false\ncontent = \"each_reply\"\npdf = \"off\"\nmetadata = true")
	sendRawMX(t, g, "carla@customer.test", "support@example.test", customerMail("md1", "support@example.test", ""))
	one := sessionOf(t, g, "md1@customer.test").ID
	alice := loginIMAP(t, g.Addr("imap"), "alice@example.test")
	moveByMessageID(t, alice, "Queues/Support", "md1@customer.test", "INBOX")
	reply := crlf("From: alice@example.test\nTo: carla@customer.test\nSubject: Re: about md1\nMessage-ID: <r-md1@example.test>\nIn-Reply-To: <md1@customer.test>\n\nDone.\n")
	if _, err := submitAs(t, g, "alice@example.test", []string{"carla@customer.test"}, reply); err != nil {
		t.Fatal(err)
	}
	first := crlf("From: alice@example.test\nTo: dan@customer.test\nSubject: Your order\nMessage-ID: <new-md@example.test>\n\nYour order shipped.\n")
	if _, err := submitAs(t, g, "alice@example.test", []string{"dan@customer.test"}, first); err != nil {
		t.Fatal(err)
	}
	two := sessionOf(t, g, "new-md@example.test").ID
	moveByMessageID(t, alice, "INBOX", "md1@customer.test", "Resolved")
	sendRawMX(t, g, "carla@customer.test", "support@example.test", customerMail("md2", "support@example.test", "r-md1@example.test"))
	moveByMessageID(t, alice, "INBOX", "md2@customer.test", "Resolved")

	wantOne := []string{"ticket.created", "ticket.comment/link", "ticket.comment/content", "ticket.attachment/application/json",
		"ticket.comment/link", "ticket.attachment/application/json"}
	wantTwo := []string{"ticket.created", "ticket.comment/link", "ticket.comment/content"}
	got := c.WaitFor(t, 30*time.Second, "every event of both sessions", func(ev []testutil.CRMEvent) bool {
		per := testutil.PerSession(ev)
		return len(per[one]) >= len(wantOne) && len(per[two]) >= len(wantTwo)
	})
	per := testutil.PerSession(got)
	if k := kinds(per[one]); !slices.Equal(k, wantOne) {
		t.Errorf("session %s: %v, want %v", one, k, wantOne)
	}
	if k := kinds(per[two]); !slices.Equal(k, wantTwo) {
		t.Errorf("session %s (started by alice): %v, want %v", two, k, wantTwo)
	}
	if link := per[one][1]; !strings.Contains(link.Str("text"), "Re: about md1") {
		t.Errorf("the first link of %s is not to alice's reply: %v", one, link.Data)
	}
	fc, _ := per[two][0].Data["first_comment"].(map[string]any)
	if fc["sent_by"] != `"Alice Rossi via Support" <support@example.test>` || fc["received_by"] != "dan@customer.test" || fc["agent"] != "alice@example.test" {
		t.Errorf("first_comment of the session alice started: %v", fc)
	}
}
