package gateway_test

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-smtp"

	"mxdesk/testutil"
)

// supportAddresses is the line of reloadBase the Support queue's
// switches follow.
const supportAddresses = `addresses = ["support@example.test"]`

// writeSupport writes the base configuration plus extra, with keys added
// to the Support queue; alice serves Returns too, and postmaster mail goes
// there (extra defines it).
func (e *reloadEnv) writeSupport(t *testing.T, keys, extra string) {
	t.Helper()
	// Postmaster mail must be taken: Returns takes it while Support is off.
	text := `postmaster = "returns@example.test"` + fmt.Sprintf(reloadBase, e.dataDir, e.tls, testutil.PasswordHash()) + extra
	text = strings.Replace(text, supportAddresses, supportAddresses+"\n"+keys, 1)
	text = strings.Replace(text, `queues = ["Support"]`, `queues = ["Support", "Returns"]`, 1)
	if err := os.WriteFile(e.path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// returnsForAlice adds a Returns queue that alice serves too.
const returnsForAlice = `
[[queue]]
name = "Returns"
addresses = ["returns@example.test"]
`

// wantSMTPCode checks that err is an SMTP refusal with code and enhanced
// code, or no error when code is 0.
func wantSMTPCode(t *testing.T, what string, err error, code int, enhanced smtp.EnhancedCode) {
	t.Helper()
	var se *smtp.SMTPError
	switch {
	case code == 0 && err != nil:
		t.Errorf("%s: %v, want it accepted", what, err)
	case code == 0:
	case !errors.As(err, &se) || se.Code != code || se.EnhancedCode != enhanced:
		t.Errorf("%s: %v, want %d %v", what, err, code, enhanced)
	}
}

// rcpt opens a transaction from a customer and answers RCPT TO addr.
func rcpt(t *testing.T, addr, to string) error {
	t.Helper()
	c := dialSMTP(t, addr)
	if err := c.Mail("carla@customer.test", nil); err != nil {
		t.Fatal(err)
	}
	return c.Rcpt(to, nil)
}

// mailTo sends a customer's message with extra header lines to rcpt.
func mailTo(t *testing.T, addr, rcpt, id, headers string) error {
	t.Helper()
	msg := "From: carla@customer.test\r\nTo: " + rcpt + "\r\nSubject: order " + id + "\r\nMessage-ID: <" + id + "@customer.test>\r\n" + headers + "\r\nhello\r\n"
	return dialSMTP(t, addr).SendMail("carla@customer.test", []string{rcpt}, strings.NewReader(msg))
}

// TestQueueSwitchesByReload: receive = false keeps a queue answering its
// conversations (reply address and In-Reply-To to the plain address
// accepted, new mail refused after DATA); enabled = false refuses every
// address of the queue at RCPT and transfers into it, while its sessions
// stay readable over IMAP; enabling it again takes mail at once.
func TestQueueSwitchesByReload(t *testing.T) {
	e := startFromFileWith(t, "", returnsForAlice)
	setKeys := func(keys string) {
		t.Helper()
		e.writeSupport(t, keys, returnsForAlice)
		if _, err := e.g.Reload(""); err != nil {
			t.Fatalf("reload with Support %q: %v", keys, err)
		}
	}
	setKeys("") // alice serves Returns too, from before any connection
	smtpAddr := e.g.Addr("smtp")
	if err := mailTo(t, smtpAddr, "support@example.test", "first", ""); err != nil {
		t.Fatal(err)
	}
	token := "support+" + sessionOf(t, e.g, "first@customer.test").Token + "@example.test"

	// A transaction that passed RCPT before the reload.
	inFlight := dialSMTP(t, smtpAddr)
	if err := inFlight.Mail("carla@customer.test", nil); err != nil {
		t.Fatal(err)
	}
	if err := inFlight.Rcpt("support@example.test", nil); err != nil {
		t.Fatal(err)
	}

	setKeys("receive = false")
	wantSMTPCode(t, "RCPT to the plain address, receive = false", rcpt(t, smtpAddr, "support@example.test"), 0, smtp.EnhancedCode{})
	wantSMTPCode(t, "new mail, receive = false", mailTo(t, smtpAddr, "support@example.test", "new", ""), 550, smtp.EnhancedCode{5, 7, 1})
	wantSMTPCode(t, "reply to the reply address, receive = false", mailTo(t, smtpAddr, token, "re1", ""), 0, smtp.EnhancedCode{})
	wantSMTPCode(t, "reply by In-Reply-To to the plain address, receive = false",
		mailTo(t, smtpAddr, "support@example.test", "re2", "In-Reply-To: <first@customer.test>\r\n"), 0, smtp.EnhancedCode{})
	for _, id := range []string{"re1", "re2"} {
		if s := sessionOf(t, e.g, id+"@customer.test"); s.Queue != "Support" || s.ID != sessionOf(t, e.g, "first@customer.test").ID {
			t.Errorf("%s filed in %s of %s, want the first session", id, s.ID, s.Queue)
		}
	}
	wantSMTPCode(t, "new mail to another queue", mailTo(t, smtpAddr, "returns@example.test", "ret", ""), 0, smtp.EnhancedCode{})
	// Support in To, Returns in Cc: the receiving one takes the new session.
	both := "From: carla@customer.test\r\nTo: support@example.test\r\nCc: returns@example.test\r\nSubject: both\r\nMessage-ID: <both@customer.test>\r\n\r\nhi\r\n"
	if err := dialSMTP(t, smtpAddr).SendMail("carla@customer.test", []string{"support@example.test", "returns@example.test"}, strings.NewReader(both)); err != nil {
		t.Errorf("new mail to Support and Returns: %v", err)
	} else if q := sessionOf(t, e.g, "both@customer.test").Queue; q != "Returns" {
		t.Errorf("mail to Support and Returns started its session in %s, want Returns", q)
	}

	setKeys("enabled = false")
	wantSMTPCode(t, "RCPT to a disabled queue", rcpt(t, smtpAddr, "support@example.test"), 550, smtp.EnhancedCode{5, 2, 1})
	wantSMTPCode(t, "RCPT to a disabled queue's reply address", rcpt(t, smtpAddr, token), 550, smtp.EnhancedCode{5, 2, 1})
	wantSMTPCode(t, "DATA of a transaction whose RCPT passed before the queue was disabled", finish(inFlight, "inflight"), 550, smtp.EnhancedCode{5, 2, 1})
	// receive's refusal after DATA, enabled's two at RCPT and one at DATA.
	if v := scrapeMetrics(t, e.g).value("mxdesk_messages_rejected_total", "reason", "queue_switch"); v != 4 {
		t.Errorf("mxdesk_messages_rejected_total{reason=\"queue_switch\"} = %v, want 4", v)
	}
	alice := loginIMAP(t, e.g.Addr("imap"), "alice@example.test")
	if n := countIn(t, alice, "Queues/Support"); n != 3 {
		t.Errorf("Queues/Support of the disabled queue holds %d, want the 3 messages of its session readable", n)
	}
	if _, err := alice.Select("Queues/Returns", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	_, err := alice.Move(imap.SeqSetNum(1), "Queues/Support").Wait()
	var ie *imap.Error
	if !errors.As(err, &ie) || ie.Code != imap.ResponseCodeCannot || !strings.Contains(ie.Text, "queue Support is disabled (queue.enabled = false)") {
		t.Errorf("MOVE into the disabled queue: %v, want NO [CANNOT] naming queue.enabled", err)
	}

	setKeys("")
	wantSMTPCode(t, "new mail once enabled again", mailTo(t, smtpAddr, "support@example.test", "again", ""), 0, smtp.EnhancedCode{})
}

// finish sends the DATA of a transaction whose RCPT was accepted.
func finish(c *smtp.Client, id string) error {
	w, err := c.Data()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "From: carla@customer.test\r\nSubject: %s\r\nMessage-ID: <%s@customer.test>\r\n\r\nhello\r\n", id, id)
	return w.Close()
}

// TestAccountOfDisabledQueue: the upstream account of a disabled queue
// stops importing, its status saying why, and what arrives upstream
// meanwhile stays there until the queue is enabled again, then comes in.
func TestAccountOfDisabledQueue(t *testing.T) {
	a := startAccount(t, "INBOX")
	account := returnsForAlice + accountTable(a.u, "INBOX", a.u.PasswordFile)
	a.writeSupport(t, "enabled = false", account)
	if _, err := a.g.Reload(""); err != nil {
		t.Fatal(err)
	}
	waitAccount(t, a.g, "invalid", "queue Support is disabled (queue.enabled = false): not importing, mail stays upstream")
	a.u.Append(t, a.upstream, "INBOX", upstreamMail("held", "carla@customer.test", "while disabled"))

	a.writeSupport(t, "", account)
	if _, err := a.g.Reload(""); err != nil {
		t.Fatal(err)
	}
	a.waitImport(t, "held") // not skipped while the queue was off: imported now
	waitAccount(t, a.g, "valid", "")
}

// TestSubmissionAndDisabledQueue: mutt's inline forward of a session to
// a disabled queue's address is refused, naming the switch, and the
// session stays in its queue; a message bob writes first, whose only
// queue is disabled, starts no session (its customer's answer would be
// refused), while carol's goes to the first of her queues that is
// enabled.
func TestSubmissionAndDisabledQueue(t *testing.T) {
	g, _ := gestureDesk(t, false)
	s := customerWrites(t, g, "support@example.test", carlaWrites)
	base := g.Router().Config()
	disable := func(queue string) {
		t.Helper()
		cfg := *base
		cfg.Queue = slices.Clone(cfg.Queue)
		cfg.QueueByName(queue).Enabled = false
		if err := g.Router().Reload(t.Context(), &cfg); err != nil {
			t.Fatal(err)
		}
	}
	disable("Billing")
	raw := strings.Replace(muttForward, "To: TO", "To: billing@example.test", 1)
	_, err := submitAs(t, g, "alice@example.test", []string{"billing@example.test"}, crlf(raw))
	if code, msg := smtpCode(err); code != 550 || !strings.Contains(msg, "queue Billing is disabled (queue.enabled = false)") {
		t.Errorf("forward into the disabled Billing: %v, want 550 naming queue.enabled", err)
	}
	if q := report(t, g, s.ID).Session.Queue; q != "Support" {
		t.Errorf("the session moved to %s, want it still in Support", q)
	}
	first := "From: %s\r\nTo: new@customer.test\r\nSubject: Our offer\r\nMessage-ID: <first-%[2]s@example.test>\r\n\r\nhello\r\n"
	_, err = submitAs(t, g, "bob@example.test", []string{"new@customer.test"}, fmt.Sprintf(first, "billing@example.test", "bob"))
	if code, msg := smtpCode(err); code != 550 || !strings.Contains(msg, "queue Billing is disabled (queue.enabled = false)") {
		t.Errorf("bob writing first from the disabled Billing: %v, want 550 naming queue.enabled", err)
	}
	_, err = submitAs(t, g, "bob@example.test", []string{"new@customer.test"}, fmt.Sprintf(first, "bob@example.test", "bob2"))
	if code, msg := smtpCode(err); code != 550 || !strings.Contains(msg, "your queues are disabled (queue.enabled = false)") {
		t.Errorf("bob writing first from his own address, his only queue disabled: %v, want 550 naming queue.enabled", err)
	}
	disable("Support")
	if _, err := submitAs(t, g, "carol@example.test", []string{"new@customer.test"}, fmt.Sprintf(first, "carol@example.test", "carol")); err != nil {
		t.Fatalf("carol writing first: %v", err)
	}
	if q := sessionOf(t, g, "first-carol@example.test").Queue; q != "Billing" {
		t.Errorf("carol's new session is in %s, want Billing, her first queue that is enabled", q)
	}
}
