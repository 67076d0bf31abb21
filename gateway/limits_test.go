package gateway_test

import (
	"bufio"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"

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
