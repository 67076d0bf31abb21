package smtpserver_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	netsmtp "net/smtp"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mxdesk/router"
	"mxdesk/smtpserver"
	"mxdesk/testutil"
)

const alice = "alice@example.test"

// subEnv is a submission server on two loopback listeners: addr (plain,
// STARTTLS) and tlsAddr (implicit TLS).
type subEnv struct {
	addr, tlsAddr string
	srv           *smtpserver.Server
	router        *router.Router
	clientTLS     *tls.Config
	logs          *logBuffer
}

// logBuffer collects the server's log lines; handlers write from their
// own goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// line returns the first log line with msg=msg, or "".
func (l *logBuffer) line(msg string) string {
	for _, line := range strings.Split(l.String(), "\n") {
		if strings.Contains(line, "msg="+msg+" ") || strings.Contains(line, `msg="`+msg+`"`) {
			return line
		}
	}
	return ""
}

func startSubmission(t *testing.T, insecureAuth bool) *subEnv {
	t.Helper()
	cfg := testutil.Config(t, "")
	r := testutil.Router(t, cfg, "")
	serverTLS, clientTLS := testutil.TLS(t)
	logs := &logBuffer{}
	srv := smtpserver.NewSubmission(r, smtpserver.Options{
		Hostname: "mx.example.test", TLSConfig: serverTLS, InsecureAuth: insecureAuth,
		MaxMessageBytes: maxBytes, MaxRecipients: 5, MaxLineLength: 2000,
		ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second,
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
	e := &subEnv{srv: srv, router: r, clientTLS: clientTLS, logs: logs}
	done := make(chan error, 2)
	for _, serve := range []func(net.Listener) error{srv.Serve, srv.ServeTLS} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if e.addr == "" {
			e.addr = ln.Addr().String()
		} else {
			e.tlsAddr = ln.Addr().String()
		}
		go func() { done <- serve(ln) }()
	}
	t.Cleanup(func() {
		srv.Close()
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("Serve: %v", err)
			}
		}
	})
	return e
}

// dial connects over STARTTLS and authenticates with a, unless nil.
func (e *subEnv) dial(t *testing.T, a sasl.Client) *smtp.Client {
	t.Helper()
	c, err := smtp.DialStartTLS(e.addr, e.clientTLS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	if a != nil {
		if err := c.Auth(a); err != nil {
			t.Fatalf("AUTH: %v", err)
		}
	}
	return c
}

func plainAuth(password string) sasl.Client { return sasl.NewPlainClient("", alice, password) }

// fakeSubmit stands in for router.Submit and remembers its last call.
type fakeSubmit struct {
	mu     sync.Mutex
	calls  int
	agent  *router.Agent
	env    router.Envelope
	raw    []byte
	result router.Submitted
	err    error
}

func (f *fakeSubmit) submit(_ context.Context, a *router.Agent, env router.Envelope, raw []byte) (router.Submitted, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.agent, f.env, f.raw = a, env, bytes.Clone(raw)
	return f.result, f.err
}

func (f *fakeSubmit) set(res router.Submitted, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.result, f.err = res, err
}

// send runs one transaction from alice to rcpt and returns the DATA reply
// text or the error.
func send(t *testing.T, c *smtp.Client, rcpt, msg string) (string, error) {
	t.Helper()
	if err := c.Mail(alice, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt(rcpt, nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, msg)
	resp, err := w.CloseWithResponse()
	if err != nil {
		return "", err
	}
	return resp.StatusText, nil
}

const reply = "From: Alice <alice@example.test>\r\nTo: carla@customer.test\r\nSubject: Re: where is my order\r\n\r\nIt ships today.\r\n"

func TestSubmissionAuthOverSTARTTLS(t *testing.T) {
	e := startSubmission(t, false)
	for _, a := range []sasl.Client{plainAuth(testutil.Password), sasl.NewLoginClient(alice, testutil.Password)} {
		mech, _, _ := a.Start()
		t.Run(mech, func(t *testing.T) {
			c := e.dial(t, nil)
			if ok, mechs := c.Extension("AUTH"); !ok || mechs != "PLAIN LOGIN" {
				t.Errorf("EHLO after STARTTLS: AUTH %v %q, want PLAIN LOGIN", ok, mechs)
			}
			if err := c.Auth(a); err != nil {
				t.Fatal(err)
			}
			if err := c.Mail(alice, nil); err != nil {
				t.Fatal(err)
			}
			if err := c.Rcpt("carla@customer.test", nil); err != nil {
				t.Fatalf("authenticated agent may not send outside: %v", err)
			}
		})
	}
	if l := e.logs.line("authenticated"); !strings.Contains(l, "login="+alice) || !strings.Contains(l, "remote=127.0.0.1:") {
		t.Errorf("no log line of the login: %q", l)
	}
}

// loginAuth is the LOGIN mechanism for net/smtp, the way Outlook does it:
// no initial response, the server prompts for both.
type loginAuth struct{ user, password string }

func (a loginAuth) Start(*netsmtp.ServerInfo) (string, []byte, error) { return "LOGIN", nil, nil }

func (a loginAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	switch string(fromServer) {
	case "Username:":
		return []byte(a.user), nil
	case "Password:":
		return []byte(a.password), nil
	}
	return nil, fmt.Errorf("unexpected challenge %q", fromServer)
}

// The standard library's client, a different SMTP and SASL implementation
// from the server's own library.
func TestSubmissionNetSMTP(t *testing.T) {
	e := startSubmission(t, false)
	for _, a := range []netsmtp.Auth{netsmtp.PlainAuth("", alice, testutil.Password, "127.0.0.1"), loginAuth{alice, testutil.Password}} {
		mech, _, _ := a.Start(&netsmtp.ServerInfo{Name: "127.0.0.1", TLS: true})
		t.Run(mech, func(t *testing.T) {
			c, err := netsmtp.Dial(e.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Hello("client.test"); err != nil {
				t.Fatal(err)
			}
			if err := c.StartTLS(e.clientTLS); err != nil {
				t.Fatal(err)
			}
			if err := c.Auth(a); err != nil {
				t.Fatal(err)
			}
			if err := c.Mail(alice); err != nil {
				t.Fatal(err)
			}
			if err := c.Rcpt("carla@customer.test"); err != nil {
				t.Fatal(err)
			}
			if err := c.Quit(); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("unauthenticated", func(t *testing.T) {
		c, err := netsmtp.Dial(e.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.StartTLS(e.clientTLS); err != nil {
			t.Fatal(err)
		}
		var te *textproto.Error
		if err := c.Mail(alice); !errors.As(err, &te) || te.Code != 530 || !strings.HasPrefix(te.Msg, "5.7.0 ") {
			t.Errorf("MAIL FROM without AUTH: %v, want 530 5.7.0", err)
		}
	})
}

func TestSubmissionAuthNeedsTLS(t *testing.T) {
	auth := "AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00"+alice+"\x00"+testutil.Password))

	e := startSubmission(t, false)
	r := dialRaw(t, e.addr)
	r.send("EHLO client.test")
	if ehlo := r.expect(250); strings.Contains(ehlo, "AUTH") || !strings.Contains(ehlo, "STARTTLS") {
		t.Errorf("EHLO in plaintext offers AUTH or lacks STARTTLS:\n%s", ehlo)
	}
	r.send(auth)
	r.expect(5)
	r.send("MAIL FROM:<" + alice + ">")
	if msg := r.expect(530); !strings.HasPrefix(msg, "5.7.0 ") {
		t.Errorf("MAIL FROM without AUTH: 530 %s, want 5.7.0", msg)
	}
	r.conn.Close()
	if l := e.logs.line("authenticated"); l != "" {
		t.Errorf("authenticated in plaintext: %s", l)
	}

	// tls.insecure_auth (loopback tests only) allows it.
	e = startSubmission(t, true)
	c, err := smtp.Dial(e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Extension("AUTH"); !ok {
		t.Error("insecure_auth: no AUTH in plaintext")
	}
	if err := c.Auth(plainAuth(testutil.Password)); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail(alice, nil); err != nil {
		t.Fatal(err)
	}
}

func TestSubmissionWrongPassword(t *testing.T) {
	const wrong = "hunter2-not-it"
	e := startSubmission(t, true)

	// Three wrong passwords, then the server hangs up.
	r := dialRaw(t, e.addr)
	r.send("EHLO client.test")
	r.expect(250)
	for i := range 3 {
		r.send("AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00"+alice+"\x00"+wrong)))
		if msg := r.expect(535); !strings.HasPrefix(msg, "5.7.8 ") {
			t.Errorf("failure %d: 535 %s, want 5.7.8", i+1, msg)
		}
	}
	var ne net.Error
	if line, err := r.tp.ReadLine(); err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("connection still open after 3 failures: read %q, %v", line, err)
	}

	// The same over STARTTLS with LOGIN and a right password at the end:
	// the connection is gone, not just the password refused.
	c := e.dial(t, nil)
	for i := range 3 {
		code, enh := smtpCode(c.Auth(sasl.NewLoginClient(alice, wrong)))
		if code != 535 || enh != (smtp.EnhancedCode{5, 7, 8}) {
			t.Fatalf("LOGIN failure %d: %d %v, want 535 5.7.8", i+1, code, enh)
		}
	}
	if err := c.Auth(plainAuth(testutil.Password)); err == nil {
		t.Error("a fourth AUTH on the same connection succeeded")
	}

	// Two failures leave the connection usable; a new connection starts
	// afresh (the per-IP lockout is the rate limiter's, not this).
	c = e.dial(t, nil)
	for range 2 {
		if err := c.Auth(plainAuth(wrong)); err == nil {
			t.Fatal("wrong password accepted")
		}
	}
	if err := c.Auth(plainAuth(testutil.Password)); err != nil {
		t.Fatalf("right password after two failures: %v", err)
	}

	logs := e.logs.String()
	if strings.Contains(logs, wrong) || strings.Contains(logs, testutil.Password) {
		t.Errorf("a password is in the log:\n%s", logs)
	}
	if l := e.logs.line("auth failed"); !strings.Contains(l, "login="+alice) || !strings.Contains(l, "remote=127.0.0.1:") {
		t.Errorf("auth failure log line lacks login or remote address: %q", l)
	}
	if e.logs.line("too many failed authentications, closing") == "" {
		t.Error("closing after failures is not logged")
	}
}

func TestSubmissionUnauthenticated(t *testing.T) {
	e := startSubmission(t, false)
	c := e.dial(t, nil)
	code, enh := smtpCode(c.Mail(alice, nil))
	if code != 530 || enh != (smtp.EnhancedCode{5, 7, 0}) {
		t.Errorf("MAIL FROM without AUTH: %d %v, want 530 5.7.0", code, enh)
	}
	// go-smtp answers RCPT and DATA itself when MAIL was refused; either
	// way nothing gets through.
	for _, rcpt := range []string{"carla@customer.test", "support@example.test"} {
		if code, _ := smtpCode(c.Rcpt(rcpt, nil)); code/100 != 5 {
			t.Errorf("RCPT %s without AUTH: %d, want 5xx", rcpt, code)
		}
	}
	if _, err := c.Data(); err == nil {
		t.Error("DATA without AUTH accepted")
	}

	// Pipelined, the way a spammer would try it.
	e2 := startSubmission(t, true)
	r := dialRaw(t, e2.addr)
	fmt.Fprint(r.conn, "EHLO client.test\r\nMAIL FROM:<x@customer.test>\r\nRCPT TO:<carla@customer.test>\r\nDATA\r\n")
	r.expect(250)
	r.expect(530)
	r.expect(5)
	r.expect(5)
}

func TestSubmissionRecipients(t *testing.T) {
	e := startSubmission(t, false)
	c := e.dial(t, plainAuth(testutil.Password))
	if err := c.Mail(alice, nil); err != nil {
		t.Fatal(err)
	}
	for _, rcpt := range []string{"carla@customer.test", "Someone@Elsewhere.Test", "support@example.test", "bob@example.test"} {
		if err := c.Rcpt(rcpt, nil); err != nil {
			t.Errorf("RCPT %s: %v", rcpt, err)
		}
	}
	for _, tc := range []struct {
		rcpt string
		code int
		enh  smtp.EnhancedCode
	}{
		{"nobody@example.test", 550, smtp.EnhancedCode{5, 1, 1}},
		{"support+guess123@example.test", 550, smtp.EnhancedCode{5, 1, 1}},
		{"nodomain", 501, smtp.EnhancedCode{}}, // go-smtp's syntax check or ours
	} {
		code, enh := smtpCode(c.Rcpt(tc.rcpt, nil))
		if code != tc.code || (tc.enh != smtp.EnhancedCode{} && enh != tc.enh) {
			t.Errorf("RCPT %s: %d %v, want %d %v", tc.rcpt, code, enh, tc.code, tc.enh)
		}
	}
	if l := e.logs.line("rejected"); !strings.Contains(l, "login="+alice) || !strings.Contains(l, "rcpt=nobody@example.test") {
		t.Errorf("refused recipient log line: %q", l)
	}
}

// The SMTP side of DATA, with router.Submit replaced: the replies to each
// outcome, and what Submit gets.
func TestSubmissionData(t *testing.T) {
	e := startSubmission(t, false)
	f := &fakeSubmit{}
	e.srv.SetSubmit(f.submit)
	c := e.dial(t, plainAuth(testutil.Password))

	tests := []struct {
		res  router.Submitted
		err  error
		code int
		enh  smtp.EnhancedCode
		text string
	}{
		{res: router.Submitted{Session: "S-ABCDE", Action: "reply"}, text: "queued as S-ABCDE"},
		{res: router.Submitted{Session: "S-ABCDE", Action: "new"}, text: "queued as S-ABCDE"},
		{res: router.Submitted{Session: "S-ABCDE", Action: "held", Held: "not sent: the customer wrote again at 10:42 (S-ABCDE)"},
			code: 550, enh: smtp.EnhancedCode{5, 7, 0}, text: "not sent: the customer wrote again at 10:42 (S-ABCDE)"},
		{res: router.Submitted{Session: "S-ABCDE", Action: "note"}, text: "note added to S-ABCDE"},
		{res: router.Submitted{Session: "S-ABCDE", Action: "transfer"}, text: "S-ABCDE transferred"},
		{err: &router.Error{Kind: router.KindTooBig, Msg: "3 attachments, the limit is 2"}, code: 552, enh: smtp.EnhancedCode{5, 3, 4}, text: "3 attachments, the limit is 2"},
		{err: &router.Error{Kind: router.KindInvalid, Msg: "no From header"}, code: 554, enh: smtp.EnhancedCode{5, 6, 0}, text: "no From header"},
		{err: &router.Error{Kind: router.KindForbidden, Msg: "not your queue"}, code: 550, enh: smtp.EnhancedCode{5, 7, 1}, text: "not your queue"},
		{err: &router.Error{Kind: router.KindNotFound, Msg: "no such session"}, code: 550, enh: smtp.EnhancedCode{5, 1, 1}, text: "no such session"},
		{err: fmt.Errorf("store: %w", errors.New("disk on fire")), code: 451, enh: smtp.EnhancedCode{4, 3, 0}},
	}
	for _, tc := range tests {
		f.set(tc.res, tc.err)
		text, err := send(t, c, "carla@customer.test", reply)
		if tc.code == 0 {
			if err != nil || !strings.Contains(text, tc.text) {
				t.Errorf("%s: %q, %v; want 250 %q", tc.res.Action, text, err, tc.text)
			}
			continue
		}
		var se *smtp.SMTPError
		if !errors.As(err, &se) || se.Code != tc.code || se.EnhancedCode != tc.enh || !strings.Contains(se.Message, tc.text) {
			t.Errorf("Submit error %v: reply %v, want %d %v %q", tc.err, err, tc.code, tc.enh, tc.text)
		}
		if strings.Contains(fmt.Sprint(err), "disk on fire") {
			t.Errorf("an internal error reached the client: %v", err)
		}
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	if f.agent == nil || f.agent.Login != alice {
		t.Errorf("Submit got agent %+v, want %s", f.agent, alice)
	}
	if f.env.From != alice || len(f.env.To) != 1 || f.env.To[0] != "carla@customer.test" || !f.env.TLS || f.env.Helo != "client.test" {
		t.Errorf("Submit got envelope %+v", f.env)
	}
	head, rest, _ := strings.Cut(string(f.raw), "\r\n\tby mx.example.test (mxdesk) with ESMTPSA;\r\n\t")
	if !strings.HasPrefix(head, "Received: from client.test ([127.0.0.1]) (authenticated as alice@example.test)") ||
		!strings.HasSuffix(rest, "\r\n"+reply) {
		t.Errorf("Submit got:\n%s", f.raw)
	}
	l := e.logs.line("submitted")
	for _, want := range []string{"login=" + alice, "session=S-ABCDE", "action=reply"} {
		if !strings.Contains(l, want) {
			t.Errorf("submitted log line lacks %s: %q", want, l)
		}
	}
	if e.logs.line("submit failed") == "" {
		t.Error("a temporary Submit failure is not logged")
	}
}

func TestSubmissionTooBig(t *testing.T) {
	e := startSubmission(t, false)
	f := &fakeSubmit{}
	e.srv.SetSubmit(f.submit)
	c := e.dial(t, plainAuth(testutil.Password))
	_, err := send(t, c, "carla@customer.test", message("big@example.test", maxBytes))
	if code, enh := smtpCode(err); code != 552 || enh != (smtp.EnhancedCode{5, 3, 4}) {
		t.Errorf("oversized message: %v, want 552 5.3.4", err)
	}
	if code, _ := smtpCode(c.Mail(alice, &smtp.MailOptions{Size: maxBytes + 1})); code != 552 {
		t.Errorf("MAIL FROM with SIZE over the limit: %d, want 552", code)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls != 0 {
		t.Errorf("Submit called %d times for oversized messages", f.calls)
	}
}

// Port 465: TLS from the first byte, and go-smtp must see it as TLS, or it
// would refuse AUTH.
func TestSubmissionImplicitTLS(t *testing.T) {
	e := startSubmission(t, false)
	f := &fakeSubmit{}
	f.set(router.Submitted{Session: "S-ABCDE", Action: "new"}, nil)
	e.srv.SetSubmit(f.submit)
	c, err := smtp.DialTLS(e.tlsAddr, e.clientTLS)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		t.Error("STARTTLS offered inside TLS")
	}
	if err := c.Auth(sasl.NewLoginClient(alice, testutil.Password)); err != nil {
		t.Fatal(err)
	}
	if text, err := send(t, c, "carla@customer.test", reply); err != nil || !strings.Contains(text, "queued as S-ABCDE") {
		t.Fatalf("DATA: %q %v", text, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.env.TLS || !bytes.Contains(f.raw, []byte("with ESMTPSA;")) {
		t.Errorf("implicit TLS not seen as TLS: %+v", f.env)
	}

	// A plaintext client on the TLS port gets nowhere and the server
	// goes on.
	r, err := net.Dial("tcp", e.tlsAddr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(r, "EHLO client.test\r\n")
	r.SetReadDeadline(time.Now().Add(10 * time.Second))
	io.Copy(io.Discard, r)
	r.Close()
	if err := c.Noop(); err != nil {
		t.Errorf("NOOP after a bad client: %v", err)
	}
}

// The whole path through router.Submit.
func TestSubmissionThroughRouter(t *testing.T) {
	e := startSubmission(t, false)
	c := e.dial(t, plainAuth(testutil.Password))
	msg := "From: Alice <alice@example.test>\r\nTo: carla@customer.test\r\nSubject: about your order\r\nMessage-ID: <out-1@example.test>\r\n\r\nHello Carla\r\n"
	text, err := send(t, c, "carla@customer.test", msg)
	if err != nil || !strings.Contains(text, "queued as S-") {
		t.Fatalf("new outbound message: %q %v, want 250 queued as S-…", text, err)
	}
	id := text[strings.Index(text, "S-"):]
	if _, err := e.router.Report(id); err != nil {
		t.Errorf("the 250 names session %s, which the router doesn't know: %v", id, err)
	}
	if l := e.logs.line("submitted"); !strings.Contains(l, "session="+id) || !strings.Contains(l, "action=new") {
		t.Errorf("submitted log line: %q", l)
	}
}

// AUTH with a response that is not base64, or not what the mechanism
// takes, is the client's syntax error: 501 5.5.2, not a temporary 454
// that clients retry. The connection goes on.
func TestSubmissionAuthMalformed(t *testing.T) {
	e := startSubmission(t, true)
	r := dialRaw(t, e.addr)
	r.send("EHLO client.test")
	r.expect(250)
	for _, exchange := range [][]string{
		{"AUTH PLAIN !!!!"},
		{"AUTH LOGIN", "%%%"},
		{"AUTH PLAIN", "not base64!"},
		{"AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("no separators"))},
	} {
		for _, line := range exchange[:len(exchange)-1] {
			r.send(line)
			r.expect(334)
		}
		r.send(exchange[len(exchange)-1])
		if msg := r.expect(501); !strings.HasPrefix(msg, "5.5.2 ") {
			t.Errorf("%q: 501 %s, want 501 5.5.2", exchange, msg)
		}
	}
	r.send("AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00"+alice+"\x00"+testutil.Password)))
	r.expect(235)
}
