package smtpserver_test

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mxdesk/router"
	"mxdesk/smtpserver"
	"mxdesk/store"
	"mxdesk/testutil"
)

const maxBytes = 64 << 10

type env struct {
	addr      string
	router    *router.Router
	clientTLS *tls.Config
}

func start(t *testing.T) *env {
	t.Helper()
	cfg := testutil.Config(t, "")
	r := testutil.Router(t, cfg, "")
	serverTLS, clientTLS := testutil.TLS(t)
	srv := smtpserver.New(r, smtpserver.Options{
		Hostname: "mx.example.test", TLSConfig: serverTLS,
		MaxMessageBytes: maxBytes, MaxRecipients: 5, MaxLineLength: 2000,
		ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &env{addr: ln.Addr().String(), router: r, clientTLS: clientTLS}
}

func message(id string, bodyLen int) string {
	body := strings.Repeat(strings.Repeat("x", 76)+"\r\n", bodyLen/78) + strings.Repeat("x", bodyLen%78)
	return fmt.Sprintf("From: Carla <carla@customer.test>\r\nTo: support@example.test\r\nSubject: test\r\nMessage-ID: <%s>\r\n\r\n%s\r\n",
		id, body)
}

// queueMessages returns the raw messages in Queues/<queue>.
func (e *env) queueMessages(t *testing.T, queue string) []string {
	t.Helper()
	a, err := e.router.Authenticate("carol@example.test", testutil.Password)
	if err != nil {
		t.Fatal(err)
	}
	f, err := e.router.Folder(a, "Queues/"+queue)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	e.router.View(func(rd store.Reader) error {
		msgs, err := rd.Messages(f.Mailbox, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			raw, err := rd.Blob(m.Blob)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, string(raw))
		}
		return nil
	})
	return out
}

func smtpCode(err error) (int, smtp.EnhancedCode) {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code, se.EnhancedCode
	}
	return 0, smtp.EnhancedCode{}
}

func TestExtensions(t *testing.T) {
	e := start(t)
	c, err := smtp.Dial(e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{"PIPELINING", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "STARTTLS"} {
		if ok, _ := c.Extension(ext); !ok {
			t.Errorf("EHLO lacks %s", ext)
		}
	}
	if ok, size := c.Extension("SIZE"); !ok || size != fmt.Sprint(maxBytes) {
		t.Errorf("SIZE = %v %q, want %d", ok, size, maxBytes)
	}
	if ok, _ := c.Extension("AUTH"); ok {
		t.Error("the MX offers AUTH")
	}
}

func TestDeliveryOverSTARTTLS(t *testing.T) {
	e := start(t)
	c, err := smtp.DialStartTLS(e.addr, e.clientTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := message("tls-1@customer.test", 100)
	if err := c.SendMail("carla@customer.test", []string{"support@example.test", "help@example.test"}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	got := e.queueMessages(t, "Support")
	if len(got) != 1 {
		t.Fatalf("%d messages in the queue, want 1 (two addresses of one queue)", len(got))
	}
	for _, want := range []string{"X-Mxdesk-Session: S-", "with ESMTPS", "Message-ID: <tls-1@customer.test>", "\r\n\r\n" + strings.SplitN(msg, "\r\n\r\n", 2)[1]} {
		if !strings.Contains(got[0], want) {
			t.Errorf("stored message lacks %q:\n%s", want, got[0])
		}
	}
}

func TestRecipientsRefusedAtRCPT(t *testing.T) {
	e := start(t)
	c, err := smtp.Dial(e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("carla@customer.test", nil); err != nil {
		t.Fatal(err)
	}
	for _, rcpt := range []string{"nobody@example.test", "noreply@example.test", "someone@elsewhere.test"} {
		code, enh := smtpCode(c.Rcpt(rcpt, nil))
		if code != 550 || enh != (smtp.EnhancedCode{5, 1, 1}) {
			t.Errorf("RCPT %s: %d %v, want 550 5.1.1", rcpt, code, enh)
		}
	}
	// The transaction is still usable for a good recipient.
	if err := c.Rcpt("billing@example.test", nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(w, message("after-rejects@customer.test", 10))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := e.queueMessages(t, "Billing"); len(got) != 1 {
		t.Fatalf("%d in Billing, want 1", len(got))
	}
}

func TestLimits(t *testing.T) {
	e := start(t)
	c, err := smtp.Dial(e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	err = c.SendMail("carla@customer.test", []string{"support@example.test"}, strings.NewReader(message("big@customer.test", maxBytes)))
	if code, _ := smtpCode(err); code != 552 {
		t.Errorf("oversized message: %v, want 552", err)
	}
	if err := c.Mail("carla@customer.test", &smtp.MailOptions{Size: maxBytes + 1}); err == nil {
		t.Error("MAIL FROM with SIZE over the limit accepted")
	}
	c.Reset()
	if err := c.Mail("carla@customer.test", nil); err != nil {
		t.Fatal(err)
	}
	var last error
	for i := range 7 {
		last = c.Rcpt("support@example.test", nil)
		if i < 5 && last != nil {
			t.Fatalf("RCPT %d: %v", i, last)
		}
	}
	if code, _ := smtpCode(last); code != 452 {
		t.Errorf("RCPT over max_recipients: %v, want 452", last)
	}
	if got := e.queueMessages(t, "Support"); len(got) != 0 {
		t.Errorf("%d messages stored after refusals", len(got))
	}
}

// raw is a line-level SMTP client for input no well-behaved client sends.
type raw struct {
	t    *testing.T
	conn net.Conn
	tp   *textproto.Conn
}

func dialRaw(t *testing.T, addr string) *raw {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := &raw{t: t, conn: conn, tp: textproto.NewConn(conn)}
	r.expect(220)
	return r
}

func (r *raw) send(line string) { fmt.Fprintf(r.conn, "%s\r\n", line) }

// expect reads a reply and checks its code: a three-digit code exactly, a
// single digit only its class.
func (r *raw) expect(code int) string {
	r.t.Helper()
	got, msg, err := r.tp.ReadResponse(0)
	if err != nil && got == 0 {
		r.t.Fatalf("reading reply: %v", err)
	}
	if got != code && got/100 != code {
		r.t.Fatalf("got %d %s, want %d", got, msg, code)
	}
	return msg
}

func TestMalformedInputKeepsServing(t *testing.T) {
	e := start(t)
	r := dialRaw(t, e.addr)
	r.send("EHLO client.test")
	r.expect(250)
	r.send("FROBNICATE now")
	r.expect(5)
	r.send("RCPT TO:<support@example.test>")
	r.expect(502)
	r.send("MAIL FROM:<carla@customer.test> SIZE=notanumber")
	r.expect(501)
	r.send("MAIL FROM:carla")
	r.expect(501)
	r.send(strings.Repeat("A", 5000)) // longer than max_line_length
	r.expect(5)
	r.conn.Close()

	// Pipelined transaction, and DATA left unterminated by a client that
	// goes away: nothing half-received may be stored.
	r = dialRaw(t, e.addr)
	fmt.Fprint(r.conn, "EHLO client.test\r\nMAIL FROM:<carla@customer.test>\r\nRCPT TO:<support@example.test>\r\nDATA\r\n")
	r.expect(250)
	r.expect(250)
	r.expect(250)
	r.expect(354)
	fmt.Fprint(r.conn, "Subject: cut off\r\n\r\nthe client dies here")
	r.conn.Close()

	// The server still serves a good client.
	c, err := smtp.Dial(e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SendMail("carla@customer.test", []string{"support@example.test"}, strings.NewReader(message("good@customer.test", 10))); err != nil {
		t.Fatal(err)
	}
	got := e.queueMessages(t, "Support")
	if len(got) != 1 || !strings.Contains(got[0], "good@customer.test") {
		t.Fatalf("queue holds %d messages: %q", len(got), got)
	}
}

func TestBinaryBodyAndNoMessageID(t *testing.T) {
	e := start(t)
	c, err := smtp.Dial(e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	body := "From: x@customer.test\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n\r\nç\x00ü 8bit\r\n"
	if err := c.SendMail("x@customer.test", []string{"support@example.test"}, bufio.NewReader(strings.NewReader(body))); err != nil {
		t.Fatal(err)
	}
	got := e.queueMessages(t, "Support")
	if len(got) != 1 || !strings.Contains(got[0], "Message-Id: <") || !strings.Contains(got[0], "ç\x00ü 8bit") {
		t.Fatalf("stored: %q", got)
	}
}

// A session's reply address (queue+token) is accepted and joins the session;
// any other plus-address is refused at RCPT like an unknown mailbox.
func TestReplyTokenRecipients(t *testing.T) {
	e := start(t)
	first, err := smtp.Dial(e.addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := first.SendMail("carla@customer.test", []string{"support@example.test"}, strings.NewReader(message("first@customer.test", 10))); err != nil {
		t.Fatal(err)
	}
	first.Close()
	sessions, err := e.router.ListSessions(router.SessionFilter{})
	if err != nil || len(sessions) != 1 {
		t.Fatalf("sessions = %v, %v", sessions, err)
	}
	s := sessions[0]
	c, err := smtp.Dial(e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("carla@customer.test", nil); err != nil {
		t.Fatal(err)
	}
	for _, rcpt := range []string{"support+guess123@example.test", "support+" + strings.ToLower(s.ID) + "@example.test", "billing+@example.test"} {
		if code, enh := smtpCode(c.Rcpt(rcpt, nil)); code != 550 || enh != (smtp.EnhancedCode{5, 1, 1}) {
			t.Errorf("RCPT %s: %d %v, want 550 5.1.1", rcpt, code, enh)
		}
	}
	if err := c.Rcpt("help+"+s.Token+"@example.test", nil); err != nil {
		t.Fatalf("token address refused: %v", err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(w, "From: carla@customer.test\r\nSubject: a new subject, no references\r\n\r\nmore\r\n")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	rep, err := e.router.Report(s.ID)
	if err != nil || len(rep.Messages) != 2 {
		t.Fatalf("session %s has %d messages (%v), want 2", s.ID, len(rep.Messages), err)
	}
}

// The MX accepts mail for our queues only, with or without TLS, and has no
// AUTH that could make it relay.
func TestMXNeverRelays(t *testing.T) {
	e := start(t)
	c, err := smtp.DialStartTLS(e.addr, e.clientTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Extension("AUTH"); ok {
		t.Error("the MX offers AUTH over TLS")
	}
	if code, _ := smtpCode(c.Auth(sasl.NewPlainClient("", "alice@example.test", testutil.Password))); code/100 != 5 {
		t.Errorf("AUTH on the MX: %d, want 5xx", code)
	}
	if err := c.Mail("alice@example.test", nil); err != nil {
		t.Fatal(err)
	}
	for _, rcpt := range []string{"carla@customer.test", "someone@elsewhere.test", "alice@example.test", "x@sub.example.test"} {
		if code, enh := smtpCode(c.Rcpt(rcpt, nil)); code != 550 || enh != (smtp.EnhancedCode{5, 1, 1}) {
			t.Errorf("RCPT %s on the MX: %d %v, want 550 5.1.1", rcpt, code, enh)
		}
	}
}

// An empty message, by DATA and "." at once or by BDAT 0 LAST, is refused
// and files nothing.
func TestEmptyMessageRefused(t *testing.T) {
	e := start(t)
	r := dialRaw(t, e.addr)
	r.send("EHLO client.test")
	r.expect(250)
	for _, transfer := range []func(){
		func() { r.send("DATA"); r.expect(354); r.send(".") },
		func() { r.send("BDAT 0 LAST") },
		func() { r.send("BDAT 2 LAST\r\n\r") }, // only an empty line
	} {
		r.send("MAIL FROM:<carla@customer.test>")
		r.expect(250)
		r.send("RCPT TO:<support@example.test>")
		r.expect(250)
		transfer()
		if msg := r.expect(554); !strings.Contains(msg, "Empty message") {
			t.Errorf("empty message: %q, want 554 5.6.0 Empty message", msg)
		}
	}
	if got := e.queueMessages(t, "Support"); len(got) != 0 {
		t.Fatalf("an empty message was filed: %q", got)
	}
}

// BDAT is held to smtp.max_line_length like DATA: a chunk with a longer
// line is refused naming the key, and the connection goes on (BDAT's
// framing is by size).
func TestBDATLineLengthLimit(t *testing.T) {
	e := start(t)
	// The long line comes after 8 KB of short ones: go-smtp reads ahead
	// 4 KB with the command line, under the command's line limit.
	short := strings.Repeat(strings.Repeat("y", 76)+"\r\n", 100)
	long := "Subject: long\r\n\r\n" + short + strings.Repeat("x", 3000) + "\r\n" // max_line_length is 2000
	r := dialRaw(t, e.addr)
	r.send("EHLO client.test")
	r.expect(250)
	r.send("MAIL FROM:<carla@customer.test>")
	r.expect(250)
	r.send("RCPT TO:<support@example.test>")
	r.expect(250)
	fmt.Fprintf(r.conn, "BDAT %d LAST\r\n%s", len(long), long)
	if msg := r.expect(500); !strings.Contains(msg, "smtp.max_line_length") {
		t.Errorf("BDAT with a 3000-byte line: %q, want 500 naming smtp.max_line_length", msg)
	}
	r.send("NOOP")
	r.expect(250)

	// DATA answers the same.
	r.send("MAIL FROM:<carla@customer.test>")
	r.expect(250)
	r.send("RCPT TO:<support@example.test>")
	r.expect(250)
	r.send("DATA")
	r.expect(354)
	fmt.Fprint(r.conn, long+".\r\n")
	if msg := r.expect(500); !strings.Contains(msg, "smtp.max_line_length") {
		t.Errorf("DATA with a 3000-byte line: %q, want 500 naming smtp.max_line_length", msg)
	}
	if got := e.queueMessages(t, "Support"); len(got) != 0 {
		t.Fatalf("a message over the line limit was filed: %d", len(got))
	}
}
