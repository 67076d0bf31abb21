package gateway_test

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mxdesk/gateway"
	"mxdesk/testutil"
)

// TestAbuseLimits drives the limits of SPEC §10 through the real
// listeners: connections per address, messages per sender per hour, and
// the lock after repeated failed logins.
func TestAbuseLimits(t *testing.T) {
	g := startGateway(t, "[limits]\nconnections_per_ip = 2\nmessages_per_sender_per_hour = 2\nlogin_lock_after = 3\n")

	// Two connections are fine; the third is told why and closed.
	var open []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", g.Addr("smtp"))
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, c)
		if line, _ := bufio.NewReader(c).ReadString('\n'); !strings.HasPrefix(line, "220 ") {
			t.Fatalf("greeting %q", line)
		}
	}
	third, err := net.Dial("tcp", g.Addr("imap"))
	if err != nil {
		t.Fatal(err)
	}
	third.SetReadDeadline(time.Now().Add(5 * time.Second))
	if line, _ := bufio.NewReader(third).ReadString('\n'); !strings.Contains(line, "BYE Too many connections") {
		t.Errorf("third connection (IMAP) read %q, want BYE naming the limit", line)
	}
	third.Close()
	for _, c := range open {
		c.Close()
	}

	// Messages per sender per hour: the third MAIL FROM is deferred.
	send := func() error {
		c, err := smtp.Dial(g.Addr("smtp"))
		if err != nil {
			return err
		}
		defer c.Close()
		return c.SendMail("carla@customer.test", []string{"support@example.test"},
			strings.NewReader("From: carla@customer.test\r\nSubject: x\r\n\r\nx\r\n"))
	}
	// Wait for the closed connections to give their slots back.
	var sendErr error
	for i := range 3 {
		for range 100 {
			sendErr = send()
			var se *smtp.SMTPError
			if !(errors.As(sendErr, &se) && se.Code == 421) && !errors.Is(sendErr, net.ErrClosed) {
				break
			}
		}
		if i < 2 && sendErr != nil {
			t.Fatalf("message %d: %v", i+1, sendErr)
		}
	}
	var se *smtp.SMTPError
	if !errors.As(sendErr, &se) || se.Code != 450 || !strings.Contains(se.Message, "messages_per_sender_per_hour") {
		t.Errorf("third message of the hour: %v, want 450 naming the limit", sendErr)
	}

	// Three wrong passwords lock the account: the right one is refused
	// too, with a reason.
	// A closed connection gives its slot back only once the server has
	// seen it close: a dial refused by connections_per_ip (BYE) is not a
	// login attempt, so try again until the server answers the login.
	login := func(password string) error {
		for {
			c, err := imapclient.DialInsecure(g.Addr("imap"), nil)
			if err != nil {
				t.Fatal(err)
			}
			err = c.Login("alice@example.test", password).Wait()
			c.Close()
			var ie *imap.Error
			if err == nil || (errors.As(err, &ie) && ie.Type == imap.StatusResponseTypeNo) {
				return err
			}
		}
	}
	for range 3 {
		if err := login("wrong"); err == nil {
			t.Fatal("wrong password accepted")
		}
	}
	err = login(testutil.Password)
	var ie *imap.Error
	if !errors.As(err, &ie) || ie.Code != imap.ResponseCodeUnavailable || !strings.Contains(ie.Text, "too many failed logins") {
		t.Errorf("login while locked: %v, want NO [UNAVAILABLE] too many failed logins", err)
	}
}

// An agent's outbound mail through submission is capped per message and
// per hour (limits.submission_recipients_per_message, _per_hour): one
// authenticated login can't mail a hundred outsiders at once or
// one by one. Other agents keep their own allowance.
func TestSubmissionRecipientLimits(t *testing.T) {
	cfg := testutil.Config(t, "[limits]\nsubmission_recipients_per_message = 2\nsubmission_recipients_per_hour = 3\n")
	cfg.Listen.Submission = "127.0.0.1:0"
	g := startGatewayCfg(t, cfg)
	c := authedSubmission(t, g, "alice@example.test")
	if err := c.Mail("alice@example.test", nil); err != nil {
		t.Fatal(err)
	}
	for _, rcpt := range []string{"a@customer.test", "b@customer.test", "A@customer.test"} {
		if err := c.Rcpt(rcpt, nil); err != nil {
			t.Fatalf("RCPT %s (within the limits, or repeated): %v", rcpt, err)
		}
	}
	err := c.Rcpt("c@customer.test", nil)
	if !isReply(err, 452, smtp.EnhancedCode{4, 5, 3}, "submission_recipients_per_message") {
		t.Errorf("third recipient of a message: %v, want 452 4.5.3 naming limits.submission_recipients_per_message", err)
	}
	if err := c.Reset(); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("alice@example.test", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("d@customer.test", nil); err != nil {
		t.Fatalf("third recipient of the hour: %v", err)
	}
	err = c.Rcpt("e@customer.test", nil)
	if !isReply(err, 451, smtp.EnhancedCode{4, 7, 1}, "submission_recipients_per_hour") {
		t.Errorf("fourth recipient of the hour: %v, want 451 4.7.1 naming limits.submission_recipients_per_hour", err)
	}

	bob := authedSubmission(t, g, "bob@example.test")
	if err := bob.Mail("bob@example.test", nil); err != nil {
		t.Fatal(err)
	}
	if err := bob.Rcpt("e@customer.test", nil); err != nil {
		t.Errorf("another agent's first recipient: %v", err)
	}
}

// authedSubmission is a submission connection logged in as login, closed
// when the test ends.
func authedSubmission(t *testing.T, g *gateway.Gateway, login string) *smtp.Client {
	t.Helper()
	c, err := smtp.Dial(g.Addr("submission"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Hello("laptop.example.test"); err != nil {
		t.Fatal(err)
	}
	if err := c.Auth(sasl.NewPlainClient("", login, testutil.Password)); err != nil {
		t.Fatalf("AUTH %s: %v", login, err)
	}
	return c
}

// isReply reports whether err is the SMTP reply code, enhanced code and
// a text containing text.
func isReply(err error, code int, enh smtp.EnhancedCode, text string) bool {
	var se *smtp.SMTPError
	return errors.As(err, &se) && se.Code == code && se.EnhancedCode == enh && strings.Contains(se.Message, text)
}

// Wrong passwords for one account lock that account, not the client's
// address: a supervisor mistyping on the live page (through the reverse
// proxy, so from loopback) locks neither the other supervisors nor the
// agents' IMAP clients on the same host.
func TestLoginLockKeepsToTheAccount(t *testing.T) {
	g := startGateway(t, "[limits]\nlogin_lock_after = 3\n")
	for range 3 {
		readAll(t, supervisorGet(t, t.Context(), g, "/supervisor", "carol@example.test", "wrong"))
	}
	if got := supervisorStatus(t, g, "", "carol@example.test"); got != http.StatusTooManyRequests {
		t.Fatalf("carol after 3 wrong passwords: %d, want 429", got)
	}
	if _, err := loginIMAPAs(t, g.Addr("imap"), "alice@example.test", testutil.Password); err != nil {
		t.Errorf("alice's IMAP login from the same address after carol's lock: %v", err)
	}
	if got := supervisorStatus(t, g, "", "bob@example.test"); got != http.StatusForbidden {
		t.Errorf("bob on the page from the same address: %d, want 403 (logged in, not a supervisor)", got)
	}
}

// Wrong passwords for many accounts from one address lock the address
// (per protocol). Behind a proxy of listen.http_trusted_proxies the
// address is the one the proxy put in X-Forwarded-For; from any other
// peer the header is ignored.
func TestLoginLockByForwardedAddress(t *testing.T) {
	spray := func(g *gateway.Gateway, forwardedFor string) {
		for _, login := range []string{"a@example.test", "b@example.test", "c@example.test"} {
			readAll(t, supervisorGetVia(t, t.Context(), g, "/supervisor", forwardedFor, login, "wrong"))
		}
	}
	t.Run("untrusted peer", func(t *testing.T) {
		g := startGateway(t, "[limits]\nlogin_lock_after = 3\n")
		spray(g, "203.0.113.7")
		if got := supervisorStatus(t, g, "198.51.100.1", "carol@example.test"); got != http.StatusTooManyRequests {
			t.Errorf("after failures for 3 accounts, another X-Forwarded-For from the same untrusted peer: %d, want 429", got)
		}
		if _, err := loginIMAPAs(t, g.Addr("imap"), "alice@example.test", testutil.Password); err != nil {
			t.Errorf("IMAP from the address locked for HTTP: %v", err)
		}
	})
	t.Run("trusted proxy", func(t *testing.T) {
		cfg := testutil.Config(t, "[limits]\nlogin_lock_after = 3\n")
		cfg.Listen.HTTPTrustedProxies = []string{"127.0.0.1"}
		g := startGatewayCfg(t, cfg)
		spray(g, "203.0.113.7")
		for forwardedFor, want := range map[string]int{
			"203.0.113.7":               http.StatusTooManyRequests,
			"198.51.100.5, 203.0.113.7": http.StatusTooManyRequests, // the client wrote the left entry
			"198.51.100.1":              http.StatusOK,
			"":                          http.StatusOK,
		} {
			if got := supervisorStatus(t, g, forwardedFor, "carol@example.test"); got != want {
				t.Errorf("carol with X-Forwarded-For %q: %d, want %d", forwardedFor, got, want)
			}
		}
	})
}

// supervisorStatus is the status of /supervisor/snapshot for login with
// the right password, forwarded for forwardedFor.
func supervisorStatus(t *testing.T, g *gateway.Gateway, forwardedFor, login string) int {
	t.Helper()
	resp := supervisorGetVia(t, t.Context(), g, "/supervisor/snapshot", forwardedFor, login, testutil.Password)
	readAll(t, resp)
	return resp.StatusCode
}

// firstLine dials addr and reads the server's first line.
func firstLine(t *testing.T, addr string) (net.Conn, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, _ := bufio.NewReader(c).ReadString('\n')
	return c, line
}

// TestConnectionsPerListener fills each mail listener up to
// limits.connections_per_listener from one address (the per-address
// limit set high): the next connection is told and closed, the other
// listeners still answer, and a slot given back serves again.
func TestConnectionsPerListener(t *testing.T) {
	cfg := testutil.Config(t, "[limits]\nconnections_per_ip = 50\nconnections_per_listener = 2\n")
	cfg.Listen.Submission = "127.0.0.1:0"
	g := startGatewayCfg(t, cfg)
	for _, l := range []struct{ name, greeting, refusal string }{
		{"smtp", "220 ", "421 4.7.0 too many connections, try later"},
		{"submission", "220 ", "421 4.7.0 too many connections, try later"},
		{"imap", "* OK", "* BYE too many connections"},
	} {
		var open []net.Conn
		for range 2 {
			c, line := firstLine(t, g.Addr(l.name))
			if !strings.HasPrefix(line, l.greeting) {
				t.Fatalf("%s: greeting %q", l.name, line)
			}
			open = append(open, c)
		}
		c, line := firstLine(t, g.Addr(l.name))
		if !strings.HasPrefix(line, l.refusal) {
			t.Errorf("%s: third connection read %q, want %q", l.name, line, l.refusal)
		}
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Errorf("%s: refused connection still open", l.name)
		}
		// The freed slot comes back once the server has seen the close.
		open[0].Close()
		deadline := time.Now().Add(10 * time.Second)
		for {
			_, line = firstLine(t, g.Addr(l.name))
			if strings.HasPrefix(line, l.greeting) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: freed slot not reusable, read %q", l.name, line)
			}
		}
		open[1].Close()
	}
}
