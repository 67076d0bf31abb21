package gateway_test

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"

	"mxdesk/config"
	"mxdesk/gateway"
	"mxdesk/router"
	"mxdesk/testutil"
)

// deskPeople, on top of reloadBase (Support with alice): queue Desk
// (auto-assigning, the fallback) served by dave (and Support, in
// returnsAndFrank), and sue supervising Support and Desk.
const deskPeople = `
[[queue]]
name = "Desk"
addresses = ["desk@example.test"]
auto_assign = true
logged_in_only = false
[[agent]]
login = "dave@example.test"
password_hash = %[1]q
queues = [%[2]s]
[[agent]]
login = "sue@example.test"
password_hash = %[1]q
queues = ["Support", "Desk"]
role = "supervisor"
`

const returnsAndFrank = `
[[queue]]
name = "Returns"
addresses = ["returns@example.test"]
[[agent]]
login = "erin@example.test"
password_hash = %[1]q
queues = ["Returns"]
[[agent]]
login = "frank@example.test"
password_hash = %[1]q
queues = ["Support"]
`

// writeTop writes the configuration with top-level lines first (keys
// such as fallback_queue must come before the first table).
func (e *reloadEnv) writeTop(t *testing.T, top, extra string) {
	t.Helper()
	e.write(t, extra)
	text, err := os.ReadFile(e.path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.path, append([]byte(top+"\n"), text...), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestReloadRemovesAgentAndQueue (seed 001: an admin deletes a
// resource): a reload that removes frank, takes Support from dave's
// queues and removes the Returns queue sends frank's and dave's open
// Support sessions back to Support at once, waiting, and moves
// Returns' sessions to the fallback queue Desk, which auto-assigns them;
// each gets an unassigned or transferred event and a notice in its
// thread. Returns' history stays readable in All/Returns, the customer's
// reply to a Returns token address still reaches the session, and plain
// mail to returns@ is refused as unknown.
func TestReloadRemovesAgentAndQueue(t *testing.T) {
	e := startFromFile(t)
	hash := testutil.PasswordHash()
	e.writeTop(t, `fallback_queue = "Desk"`, fmt.Sprintf(deskPeople+returnsAndFrank, hash, `"Support", "Desk"`))
	if _, err := e.g.Reload(""); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	imapAddr := e.g.Addr("imap")
	sendRawMX(t, e.g, "carla@customer.test", "support@example.test", customerMail("rm-1", "support@example.test", ""))
	sendRawMX(t, e.g, "carla@customer.test", "support@example.test", customerMail("rm-6", "support@example.test", ""))
	sendRawMX(t, e.g, "carla@customer.test", "returns@example.test", customerMail("rm-2", "returns@example.test", ""))
	sendRawMX(t, e.g, "carla@customer.test", "returns@example.test", customerMail("rm-3", "returns@example.test", ""))
	moveByMessageID(t, loginIMAP(t, imapAddr, "frank@example.test"), "Queues/Support", "rm-1@customer.test", "INBOX")
	moveByMessageID(t, loginIMAP(t, imapAddr, "erin@example.test"), "Queues/Returns", "rm-2@customer.test", "INBOX")
	moveByMessageID(t, loginIMAP(t, imapAddr, "dave@example.test"), "Queues/Support", "rm-6@customer.test", "INBOX")
	daveSession := sessionOf(t, e.g, "rm-6@customer.test").ID
	frankSession, erinSession, waitingSession := sessionOf(t, e.g, "rm-1@customer.test").ID, sessionOf(t, e.g, "rm-2@customer.test").ID, sessionOf(t, e.g, "rm-3@customer.test").ID

	// sue watches Queues/Support.
	sueQueue := make(chan uint32, 16)
	sue := loginIMAPWatching(t, imapAddr, "sue@example.test", sueQueue)
	if _, err := sue.Select("Queues/Support", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	idle, err := sue.Idle()
	if err != nil {
		t.Fatal(err)
	}

	e.writeTop(t, `fallback_queue = "Desk"`, fmt.Sprintf(deskPeople, hash, `"Desk"`))
	if _, err := e.g.Reload(""); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	waitExists(t, sueQueue, 4, "frank's and dave's sessions and their notices in Queues/Support")
	idle.Close()
	idle.Wait()

	rep := report(t, e.g, frankSession)
	if rep.Session.Agent != "" || rep.Session.Status != router.StatusUnopened || rep.Session.Queue != "Support" {
		t.Errorf("frank's session after the reload: agent %q, %s in %s; want waiting Unopened in Support", rep.Session.Agent, rep.Session.Status, rep.Session.Queue)
	}
	wantEvent(t, rep, "unassigned", "system", "agent frank@example.test removed from the configuration")
	rep = report(t, e.g, daveSession)
	if rep.Session.Agent != "" || rep.Session.Queue != "Support" {
		t.Errorf("dave's Support session after Support left his queues: agent %q in %s; want waiting in Support", rep.Session.Agent, rep.Session.Queue)
	}
	wantEvent(t, rep, "unassigned", "system", "agent dave@example.test no longer serves queue Support")
	if got := headersIn(t, sue, "Queues/Support", "X-Mxdesk-Internal"); !slices.Equal(got, []string{"", "notice", "", "notice"}) {
		t.Errorf("Queues/Support: X-Mxdesk-Internal %q, want both sessions' messages and their notices", got)
	}

	for _, id := range []string{erinSession, waitingSession} {
		rep := report(t, e.g, id)
		if rep.Session.Queue != "Desk" || rep.Session.Agent != "dave@example.test" {
			t.Errorf("%s after Returns was removed: agent %q in %s; want auto-assigned to dave in Desk", id, rep.Session.Agent, rep.Session.Queue)
		}
		wantEvent(t, rep, "transferred", "system", "queue Returns removed from the configuration: moved to queue Desk")
	}
	wantEvent(t, report(t, e.g, erinSession), "unassigned", "system", "agent erin@example.test removed from the configuration")
	if got := messageIDs(t, sue, "All/Returns"); len(got) != 2 {
		t.Errorf("All/Returns holds %v, want the history of both Returns sessions", got)
	}
	dave := loginIMAP(t, imapAddr, "dave@example.test")
	if got := headersIn(t, dave, "INBOX", "X-Mxdesk-Internal"); !slices.Equal(got, []string{"", "notice", "", "notice"}) {
		t.Errorf("dave's INBOX: X-Mxdesk-Internal %q, want each Returns session's message and its notice", got)
	}

	// The customer answers Returns' reply address: accepted, threaded.
	token := report(t, e.g, erinSession).Session.Token
	reply := customerMail("rm-4", "returns+"+token+"@example.test", "rm-2@customer.test")
	sendRawMX(t, e.g, "carla@customer.test", "returns+"+token+"@example.test", reply)
	if got := sessionOf(t, e.g, "rm-4@customer.test").ID; got != erinSession {
		t.Errorf("the reply to the removed queue's token address went to %s, want %s", got, erinSession)
	}
	// dave writes a note to the removed queue's note address: filed in
	// the session too.
	before := len(report(t, e.g, erinSession).Messages)
	if _, err := submitAs(t, e.g, "dave@example.test", []string{"returns+note-" + token + "@example.test"},
		"From: dave@example.test\r\nTo: returns+note-"+token+"@example.test\r\nSubject: note\r\nMessage-ID: <note-rm@example.test>\r\n\r\nchecked the parcel\r\n"); err != nil {
		t.Fatalf("dave's note to the removed queue's note address: %v", err)
	}
	if got := len(report(t, e.g, erinSession).Messages); got != before+1 || sessionOf(t, e.g, "note-rm@example.test").ID != erinSession {
		t.Errorf("the note to the removed queue's note address: %d messages in %s (was %d)", got, erinSession, before)
	}
	var smtpErr *smtp.SMTPError
	err = dialSMTP(t, e.g.Addr("smtp")).SendMail("carla@customer.test", []string{"returns@example.test"}, strings.NewReader(customerMail("rm-5", "returns@example.test", "")))
	if !errors.As(err, &smtpErr) || smtpErr.Code != 550 || smtpErr.EnhancedCode != (smtp.EnhancedCode{5, 1, 1}) {
		t.Errorf("new mail to the removed queue's address: %v, want 550 5.1.1", err)
	}
}

func customerMail(id, to, inReplyTo string) string {
	m := "From: carla@customer.test\r\nTo: " + to + "\r\nSubject: about " + id + "\r\nMessage-ID: <" + id + "@customer.test>\r\n"
	if inReplyTo != "" {
		m += "In-Reply-To: <" + inReplyTo + ">\r\n"
	}
	return m + "\r\nhello\r\n"
}

// loginIMAPWatching logs in with the EXISTS counts sent to exists.
func loginIMAPWatching(t *testing.T, addr, login string, exists chan<- uint32) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, &imapclient.Options{UnilateralDataHandler: &imapclient.UnilateralDataHandler{
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				exists <- *d.NumMessages
			}
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(login, testutil.Password).Wait(); err != nil {
		t.Fatal(err)
	}
	return c
}

func waitExists(t *testing.T, exists <-chan uint32, want uint32, what string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case n := <-exists:
			if n == want {
				return
			}
		case <-timeout:
			t.Fatalf("no EXISTS %d (%s) within 10s", want, what)
		}
	}
}

func wantEvent(t *testing.T, rep router.SessionReport, kind, actor, detail string) {
	t.Helper()
	for _, e := range rep.Events {
		if e.Kind == kind && e.Actor == actor && strings.Contains(e.Detail, detail) {
			return
		}
	}
	t.Errorf("session %s has no %s event by %s saying %q: %+v", rep.Session.ID, kind, actor, detail, rep.Events)
}

// headersIn selects folder and returns a header field of each message,
// in UID order.
func headersIn(t *testing.T, c *imapclient.Client, folder, field string) []string {
	t.Helper()
	sel, err := c.Select(folder, nil).Wait()
	if err != nil {
		t.Fatalf("SELECT %s: %v", folder, err)
	}
	if sel.NumMessages == 0 {
		return nil
	}
	section := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{field}, Peek: true}
	msgs, err := c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		t.Fatalf("FETCH in %s: %v", folder, err)
	}
	slices.SortFunc(msgs, func(a, b *imapclient.FetchMessageBuffer) int { return int(a.UID) - int(b.UID) })
	var out []string
	for _, m := range msgs {
		v := strings.TrimSpace(string(m.FindBodySection(section)))
		_, v, _ = strings.Cut(v, ":")
		out = append(out, strings.TrimSpace(v))
	}
	return out
}

// TestStartMovesSessionsOfRemovedAgentAndQueue: the configuration was
// edited while mxdesk was down (bob and the Billing queue removed): at
// start bob's open Billing session moves to the first queue, Support,
// and waits there, with its events and notice; his resolved one moves
// too, stays Resolved and does not count as waiting.
func TestStartMovesSessionsOfRemovedAgentAndQueue(t *testing.T) {
	cfg := testutil.Config(t, "")
	before, err := gateway.New(cfg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	if err := before.Start(); err != nil {
		before.Close()
		t.Fatal(err)
	}
	sendRawMX(t, before, "carla@customer.test", "billing@example.test", customerMail("st-1", "billing@example.test", ""))
	sendRawMX(t, before, "carla@customer.test", "billing@example.test", customerMail("st-2", "billing@example.test", ""))
	bob := loginIMAP(t, before.Addr("imap"), "bob@example.test")
	moveByMessageID(t, bob, "Queues/Billing", "st-1@customer.test", "INBOX")
	moveByMessageID(t, bob, "Queues/Billing", "st-2@customer.test", "Resolved")
	id, resolved := sessionOf(t, before, "st-1@customer.test").ID, sessionOf(t, before, "st-2@customer.test").ID
	if err := before.Close(); err != nil {
		t.Fatal(err)
	}

	edited := testutil.Config(t, "")
	edited.DataDir = cfg.DataDir
	edited.Queue = slices.DeleteFunc(edited.Queue, func(q config.Queue) bool { return q.Name == "Billing" })
	edited.Agent = slices.DeleteFunc(edited.Agent, func(a config.Agent) bool { return a.Login == "bob@example.test" })
	edited.Agent[1].Queues = []string{"Support"} // carol
	g := startGatewayCfg(t, edited)

	rep := report(t, g, id)
	if rep.Session.Queue != "Support" || rep.Session.Agent != "" || rep.Session.Status != router.StatusUnopened {
		t.Errorf("bob's Billing session after the start: agent %q, %s in %s; want waiting Unopened in Support", rep.Session.Agent, rep.Session.Status, rep.Session.Queue)
	}
	wantEvent(t, rep, "transferred", "system", "queue Billing removed from the configuration: moved to queue Support")
	wantEvent(t, rep, "unassigned", "system", "agent bob@example.test removed from the configuration")
	if rep := report(t, g, resolved); rep.Session.Status != router.StatusResolved || rep.Session.Queue != "Support" {
		t.Errorf("bob's resolved session after the start: %s in %s, want Resolved in Support", rep.Session.Status, rep.Session.Queue)
	}
	carol := loginIMAP(t, g.Addr("imap"), "carol@example.test")
	if got := headersIn(t, carol, "Queues/Support", "X-Mxdesk-Internal"); !slices.Equal(got, []string{"", "notice", "", "notice"}) {
		t.Errorf("Queues/Support: X-Mxdesk-Internal %q, want each session's message and its notice", got)
	}
	stats, err := g.Router().WaitingStats()
	if err != nil || stats[0].Queue != "Support" || stats[0].Waiting != 1 {
		t.Errorf("waiting after the start: %+v %v, want the open session only in Support", stats, err)
	}
}
