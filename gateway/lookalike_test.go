package gateway_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mxdesk/gateway"
	"mxdesk/testutil"
)

// Unicode letters that case-fold to ASCII ones: ſ (U+017F, long s) folds
// to s, the Kelvin sign (U+212A) to k.
const (
	longS  = "\u017f"
	kelvin = "\u212a"
)

// startLookalikeDesk is the test desk plus a queue and an agent whose
// names have a k, for the Kelvin sign, and the submission listener.
func startLookalikeDesk(t *testing.T) *gateway.Gateway {
	t.Helper()
	cfg := testutil.Config(t, fmt.Sprintf(`
[[queue]]
name = "Kiosk"
addresses = ["kiosk@example.test"]
[[agent]]
login = "kim@example.test"
name = "Kim Berg"
password_hash = %q
queues = ["Kiosk"]
`, testutil.PasswordHash()))
	cfg.Listen.Submission = "127.0.0.1:0"
	return startGatewayCfg(t, cfg)
}

// A login spelled with a letter that Unicode folds to ASCII is nobody's,
// on IMAP and on SMTP AUTH: it neither logs in as the agent nor gets a
// lock key of its own (SPEC §10). An ASCII case variant is the agent.
func TestLookalikeLoginsAreRefused(t *testing.T) {
	g := startLookalikeDesk(t)
	lookalikes := []string{"alice@example.te" + longS + "t", kelvin + "im@example.test"}
	for _, login := range lookalikes {
		if _, err := loginIMAPAs(t, g.Addr("imap"), login, testutil.Password); err == nil {
			t.Errorf("IMAP LOGIN %q with the agent's password succeeded", login)
		}
		if err := authSubmission(t, g, login); err == nil {
			t.Errorf("SMTP AUTH %q with the agent's password succeeded", login)
		}
	}
	for _, login := range []string{"ALICE@Example.Test", "Kim@example.test"} {
		if _, err := loginIMAPAs(t, g.Addr("imap"), login, testutil.Password); err != nil {
			t.Errorf("IMAP LOGIN %q (ASCII case): %v", login, err)
		}
		if err := authSubmission(t, g, login); err != nil {
			t.Errorf("SMTP AUTH %q (ASCII case): %v", login, err)
		}
	}
}

// The lock is on the canonical login: wrong passwords for ALICE@ lock
// alice@ on every protocol, and no spelling gets in while it lasts.
func TestLoginLockOnTheCanonicalLogin(t *testing.T) {
	cfg := testutil.Config(t, "[limits]\nlogin_lock_after = 3\n")
	cfg.Listen.Submission = "127.0.0.1:0"
	g := startGatewayCfg(t, cfg)
	for range 3 {
		if _, err := loginIMAPAs(t, g.Addr("imap"), "ALICE@Example.Test", "wrong"); err == nil {
			t.Fatal("wrong password accepted")
		}
	}
	for _, login := range []string{"alice@example.test", "alice@example.te" + longS + "t"} {
		if _, err := loginIMAPAs(t, g.Addr("imap"), login, testutil.Password); err == nil {
			t.Errorf("IMAP LOGIN %q while alice is locked succeeded", login)
		}
	}
	if err := authSubmission(t, g, "alice@example.test"); !isCode(err, 454) {
		t.Errorf("SMTP AUTH alice@ while alice is locked: %v, want 454", err)
	}
}

// authSubmission authenticates on the submission port with AUTH PLAIN.
func authSubmission(t *testing.T, g *gateway.Gateway, login string) error {
	t.Helper()
	c, err := smtp.Dial(g.Addr("submission"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("laptop.example.test"); err != nil {
		t.Fatal(err)
	}
	return c.Auth(sasl.NewPlainClient("", login, testutil.Password))
}

// Recipients match as ASCII, case-insensitive (RFC 5321): ſupport@ is not
// Support's address on the MX, nor K-elvin kim@ an agent on submission.
func TestLookalikeRecipientsAreRefused(t *testing.T) {
	g := startLookalikeDesk(t)
	mx := dialSMTP(t, g.Addr("smtp"))
	if err := mx.Mail("carla@customer.test", &smtp.MailOptions{UTF8: true}); err != nil {
		t.Fatal(err)
	}
	for _, rcpt := range []string{longS + "upport@example.test", kelvin + "iosk@example.test", "support@example.te" + longS + "t"} {
		if err := mx.Rcpt(rcpt, nil); !isCode(err, 550) {
			t.Errorf("MX RCPT %q: %v, want 550", rcpt, err)
		}
	}
	for _, rcpt := range []string{"SUPPORT@example.test", "Kiosk@EXAMPLE.test"} {
		if err := mx.Rcpt(rcpt, nil); err != nil {
			t.Errorf("MX RCPT %q (ASCII case): %v", rcpt, err)
		}
	}

	sub := authedSubmission(t, g, "alice@example.test")
	if err := sub.Mail("alice@example.test", &smtp.MailOptions{UTF8: true}); err != nil {
		t.Fatal(err)
	}
	for _, rcpt := range []string{kelvin + "im@example.test", longS + "upport@example.test"} {
		if err := sub.Rcpt(rcpt, nil); !isCode(err, 550) {
			t.Errorf("submission RCPT %q: %v, want 550", rcpt, err)
		}
	}
	if err := sub.Rcpt("KIM@example.test", nil); err != nil {
		t.Errorf("submission RCPT KIM@ (ASCII case): %v", err)
	}
}

// isCode reports whether err is an SMTP reply with code.
func isCode(err error, code int) bool {
	var se *smtp.SMTPError
	return errors.As(err, &se) && se.Code == code
}

// Mail to postmaster@ our domains, or to <Postmaster> with no domain, is
// accepted (RFC 5321 4.1.1.3, 4.5.1) and opens a session where people
// read: the queue of the postmaster key, by default the first queue's
// address.
func TestPostmasterReachesAQueue(t *testing.T) {
	for i, tc := range []struct{ extra, rcpt, queue string }{
		{"", "PostMaster@example.test", "Support"},
		{`postmaster = "billing@example.test"`, "postmaster@example.test", "Billing"},
		{`postmaster = "billing@example.test"`, "Postmaster", "Billing"},
	} {
		g := startGatewayCfg(t, testutil.ConfigTop(t, tc.extra, ""))
		id := fmt.Sprintf("pm-%d@customer.test", i)
		s := customerWrites(t, g, tc.rcpt, "From: carla@customer.test\nTo: postmaster@example.test\nSubject: your server\nMessage-ID: <"+id+">\n\nhello\n")
		if s.Queue != tc.queue {
			t.Errorf("RCPT TO:<%s> with %q: session in %q, want %q", tc.rcpt, tc.extra, s.Queue, tc.queue)
		}
	}
}
