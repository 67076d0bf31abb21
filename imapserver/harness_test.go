package imapserver_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mxdesk/config"
	"mxdesk/imapserver"
	"mxdesk/router"
	"mxdesk/smtpserver"
	mxstore "mxdesk/store"
	"mxdesk/testutil"
	"mxdesk/testutil/teststore"
)

// Agents of testutil.Config: alice and carol serve Support, bob Billing.
const (
	alice = "alice@example.test"
	bob   = "bob@example.test"
	carol = "carol@example.test"
)

// waitTimeout bounds every wait for an event; reaching it fails the test.
const waitTimeout = 5 * time.Second

// harness is a real server on loopback over the run's store (teststore:
// badger in a temporary directory, or a PostgreSQL database), which it can
// restart on the same data. With smtp set it
// also runs the real inbound MX on the same router.
type harness struct {
	t     *testing.T
	cfg   *config.Config
	dir   string
	opts  imapserver.Options
	clock *testutil.Clock // nil: the router uses time.Now
	smtp  bool
	logs  *logRecord // every line the server logged

	st       mxstore.Store
	r        *router.Router
	srv      *imapserver.Server
	addr     string
	done     chan error
	mx       *smtpserver.Server
	smtpAddr string
	mxDone   chan error

	submission bool // run the submission server too (harness.submit)
	sub        *smtpserver.Server
	subAddr    string
	subDone    chan error

	expungedKept int // harnessConfig.expungedKept
}

// harnessConfig are the knobs of newHarnessWith.
type harnessConfig struct {
	extra string // TOML appended to testutil.Config
	opts  imapserver.Options
	clock *testutil.Clock
	smtp  bool // run the SMTP server too (harness.send)
	// submission runs the submission server too (harness.submit).
	submission bool
	top        string // top-level TOML keys (testutil.ConfigTop)
	// expungedKept bounds the expunged UIDs kept per mailbox
	// (teststore.Options.ExpungedKept; 0: the default).
	expungedKept int
}

func newHarness(t *testing.T) *harness {
	return newHarnessOpts(t, imapserver.Options{InsecureAuth: true})
}

func newHarnessOpts(t *testing.T, opts imapserver.Options) *harness {
	t.Helper()
	return newHarnessWith(t, harnessConfig{opts: opts})
}

func newHarnessWith(t *testing.T, hc harnessConfig) *harness {
	t.Helper()
	opts := hc.opts
	logs := &logRecord{changed: make(chan struct{})}
	opts.Logger = slog.New(&testLogHandler{t: t, rec: logs})
	h := &harness{t: t, cfg: testutil.ConfigTop(t, hc.top, hc.extra), dir: t.TempDir(), opts: opts, clock: hc.clock, smtp: hc.smtp, submission: hc.submission, expungedKept: hc.expungedKept, logs: logs}
	h.start()
	t.Cleanup(h.stop)
	return h
}

func (h *harness) start() {
	t := h.t
	t.Helper()
	st := teststore.Open(t, h.dir, teststore.Options{NoSync: true, ExpungedKept: h.expungedKept})
	ro := router.Options{Logger: h.opts.Logger}
	if h.clock != nil {
		ro.Now = h.clock.Now
	}
	r, err := router.New(h.cfg, st, ro)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.st, h.r, h.addr = st, r, l.Addr().String()
	h.srv = imapserver.New(r, h.opts)
	h.done = make(chan error, 1)
	go func() { h.done <- h.srv.Serve(l) }()
	if h.smtp {
		ml, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		h.smtpAddr = ml.Addr().String()
		h.mx = smtpserver.New(r, smtpserver.Options{
			Hostname: h.cfg.Hostname, MaxMessageBytes: 1 << 20, MaxRecipients: 50,
			ReadTimeout: waitTimeout, WriteTimeout: waitTimeout, Logger: h.opts.Logger,
		})
		h.mxDone = make(chan error, 1)
		go func() { h.mxDone <- h.mx.Serve(ml) }()
	}
	if h.submission {
		sl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		h.subAddr = sl.Addr().String()
		h.sub = smtpserver.NewSubmission(r, smtpserver.Options{
			Hostname: h.cfg.Hostname, InsecureAuth: true, MaxMessageBytes: 1 << 20, MaxRecipients: 50,
			ReadTimeout: waitTimeout, WriteTimeout: waitTimeout, Logger: h.opts.Logger,
		})
		h.subDone = make(chan error, 1)
		go func() { h.subDone <- h.sub.Serve(sl) }()
	}
}

func (h *harness) stop() {
	if h.srv == nil {
		return
	}
	if h.mx != nil {
		if err := h.mx.Close(); err != nil {
			h.t.Errorf("smtp close: %v", err)
		}
		if err := <-h.mxDone; err != nil {
			h.t.Errorf("smtp serve: %v", err)
		}
		h.mx = nil
	}
	if h.sub != nil {
		if err := h.sub.Close(); err != nil {
			h.t.Errorf("submission close: %v", err)
		}
		if err := <-h.subDone; err != nil {
			h.t.Errorf("submission serve: %v", err)
		}
		h.sub = nil
	}
	if err := h.srv.Close(); err != nil {
		h.t.Errorf("server close: %v", err)
	}
	if err := <-h.done; err != nil {
		h.t.Errorf("serve: %v", err)
	}
	if err := h.st.Close(); err != nil {
		h.t.Errorf("store close: %v", err)
	}
	h.srv = nil
}

// send delivers raw over the real SMTP server (the harness must run it)
// and returns the error of the SMTP transaction.
func (h *harness) send(from string, rcpts []string, raw string) error {
	h.t.Helper()
	if h.mx == nil {
		h.t.Fatal("harness without SMTP")
	}
	c, err := smtp.Dial(h.smtpAddr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("client.customer.test"); err != nil {
		return err
	}
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	for _, rcpt := range rcpts {
		if err := c.Rcpt(rcpt, nil); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, raw); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// submit sends raw as agent who over the real submission server (the
// harness must run it), with rcpts as the envelope, and returns the text
// of the DATA reply or its error.
func (h *harness) submit(who string, rcpts []string, raw string) (string, error) {
	h.t.Helper()
	if h.sub == nil {
		h.t.Fatal("harness without submission")
	}
	c, err := smtp.Dial(h.subAddr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if err := c.Hello("laptop.example.test"); err != nil {
		return "", err
	}
	if err := c.Auth(sasl.NewPlainClient("", who, testutil.Password)); err != nil {
		return "", err
	}
	if err := c.Mail(who, nil); err != nil {
		return "", err
	}
	for _, rcpt := range rcpts {
		if err := c.Rcpt(rcpt, nil); err != nil {
			return "", err
		}
	}
	w, err := c.Data()
	if err != nil {
		return "", err
	}
	if _, err := io.WriteString(w, raw); err != nil {
		return "", err
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		return "", err
	}
	return resp.StatusText, c.Quit()
}

// mustSend is send that fails the test on error.
func (h *harness) mustSend(from string, rcpts []string, raw string) {
	h.t.Helper()
	if err := h.send(from, rcpts, raw); err != nil {
		h.t.Fatalf("SMTP to %v: %v", rcpts, err)
	}
}

// restart closes server, router and store and opens them again on the
// same directory.
func (h *harness) restart() {
	h.stop()
	h.start()
}

// deliver sends a message to the Support queue as SMTP would.
func (h *harness) deliver(from, subject, body string) {
	h.t.Helper()
	h.deliverRaw("support@example.test", fmt.Sprintf("From: %s\r\nTo: support@example.test\r\nSubject: %s\r\nDate: Mon, 02 Jan 2006 15:04:05 +0000\r\n\r\n%s\r\n", from, subject, body))
}

func (h *harness) deliverRaw(to, raw string) {
	h.t.Helper()
	_, err := h.r.Deliver(context.Background(), router.Envelope{From: "customer@customer.test", To: []string{to}}, []byte(raw))
	if err != nil {
		h.t.Fatal(err)
	}
}

// client is an imapclient with its unilateral data on channels.
type client struct {
	*imapclient.Client
	t       *testing.T
	exists  chan uint32
	expunge chan uint32
	fetch   chan *imapclient.FetchMessageBuffer
	flags   chan []imap.Flag
}

// dial connects without logging in.
func (h *harness) dial() *client {
	h.t.Helper()
	c := &client{
		t:       h.t,
		exists:  make(chan uint32, 1000),
		expunge: make(chan uint32, 1000),
		fetch:   make(chan *imapclient.FetchMessageBuffer, 1000),
		flags:   make(chan []imap.Flag, 1000),
	}
	ic, err := imapclient.DialInsecure(h.addr, &imapclient.Options{UnilateralDataHandler: c.handler()})
	if err != nil {
		h.t.Fatal(err)
	}
	c.Client = ic
	h.t.Cleanup(func() { ic.Close() })
	return c
}

// login connects and logs in as who.
func (h *harness) login(who string) *client {
	h.t.Helper()
	c := h.dial()
	if err := c.Login(who, testutil.Password).Wait(); err != nil {
		h.t.Fatalf("login %s: %v", who, err)
	}
	return c
}

func (c *client) handler() *imapclient.UnilateralDataHandler {
	return &imapclient.UnilateralDataHandler{
		Expunge: func(seq uint32) { c.expunge <- seq },
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				c.exists <- *d.NumMessages
			}
			if d.Flags != nil {
				c.flags <- d.Flags
			}
		},
		Fetch: func(msg *imapclient.FetchMessageData) {
			buf, err := msg.Collect()
			if err == nil {
				c.fetch <- buf
			}
		},
	}
}

// selectBox selects a mailbox and fails the test on error.
func (c *client) selectBox(name string) *imap.SelectData {
	c.t.Helper()
	d, err := c.Select(name, nil).Wait()
	if err != nil {
		c.t.Fatalf("select %s: %v", name, err)
	}
	return d
}

func (c *client) waitExists(n uint32) {
	c.t.Helper()
	for {
		select {
		case got := <-c.exists:
			if got == n {
				return
			}
		case <-time.After(waitTimeout):
			c.t.Fatalf("no EXISTS %d", n)
		}
	}
}

func (c *client) waitExpunge() uint32 {
	c.t.Helper()
	select {
	case seq := <-c.expunge:
		return seq
	case <-time.After(waitTimeout):
		c.t.Fatal("no EXPUNGE")
	}
	return 0
}

func (c *client) waitFetch() *imapclient.FetchMessageBuffer {
	c.t.Helper()
	select {
	case f := <-c.fetch:
		return f
	case <-time.After(waitTimeout):
		c.t.Fatal("no unilateral FETCH")
	}
	return nil
}

func (c *client) waitFlags() []imap.Flag {
	c.t.Helper()
	select {
	case f := <-c.flags:
		return f
	case <-time.After(waitTimeout):
		c.t.Fatal("no untagged FLAGS")
	}
	return nil
}

// idle starts IDLE and returns a function that ends it.
func (c *client) idle() func() {
	c.t.Helper()
	cmd, err := c.Idle()
	if err != nil {
		c.t.Fatal(err)
	}
	return func() {
		c.t.Helper()
		if err := cmd.Close(); err != nil {
			c.t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			c.t.Fatal(err)
		}
	}
}

// fetchAll fetches items of every message in the selected mailbox.
func (c *client) fetchAll(opts *imap.FetchOptions) []*imapclient.FetchMessageBuffer {
	c.t.Helper()
	var all imap.SeqSet
	all.AddRange(1, 0)
	msgs, err := c.Fetch(all, opts).Collect()
	if err != nil {
		c.t.Fatalf("fetch: %v", err)
	}
	return msgs
}

// uids returns the UIDs of the selected mailbox in sequence order.
func (c *client) uids() []imap.UID {
	c.t.Helper()
	var seq imap.SeqSet
	seq.AddRange(1, 0)
	msgs, err := c.Fetch(seq, &imap.FetchOptions{UID: true}).Collect()
	if err != nil {
		c.t.Fatalf("fetch uids: %v", err)
	}
	out := make([]imap.UID, len(msgs))
	for i, m := range msgs {
		if m.SeqNum != uint32(i+1) {
			c.t.Fatalf("FETCH response %d has sequence number %d", i+1, m.SeqNum)
		}
		out[i] = m.UID
	}
	return out
}

// wantCode checks that err is an IMAP NO (or BAD) with the response code.
func wantCode(t *testing.T, err error, typ imap.StatusResponseType, code imap.ResponseCode) {
	t.Helper()
	ierr, ok := err.(*imap.Error)
	if !ok {
		t.Fatalf("error = %v (%T), want %s [%s]", err, err, typ, code)
	}
	if ierr.Type != typ || ierr.Code != code {
		t.Fatalf("error = %s [%s] %s, want %s [%s]", ierr.Type, ierr.Code, ierr.Text, typ, code)
	}
}

// rawConn speaks IMAP by hand, for what imapclient can't or won't send.
type rawConn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func (h *harness) raw() *rawConn {
	h.t.Helper()
	c, err := net.Dial("tcp", h.addr)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { c.Close() })
	rc := &rawConn{t: h.t, c: c, br: bufio.NewReader(c)}
	if greet := rc.line(); !strings.HasPrefix(greet, "* OK") {
		h.t.Fatalf("greeting %q", greet)
	}
	return rc
}

// line reads one response line.
func (rc *rawConn) line() string {
	rc.t.Helper()
	rc.c.SetReadDeadline(time.Now().Add(waitTimeout))
	l, err := rc.br.ReadString('\n')
	if err != nil {
		rc.t.Fatalf("read: %v (got %q)", err, l)
	}
	return strings.TrimRight(l, "\r\n")
}

func (rc *rawConn) send(s string) {
	rc.t.Helper()
	if _, err := rc.c.Write([]byte(s)); err != nil {
		rc.t.Fatal(err)
	}
}

// cmd sends a tagged command and returns the untagged lines and the
// tagged status line.
func (rc *rawConn) cmd(tag, command string) (untagged []string, status string) {
	rc.t.Helper()
	rc.send(tag + " " + command + "\r\n")
	return rc.until(tag)
}

// until reads until the tagged response of tag.
func (rc *rawConn) until(tag string) (untagged []string, status string) {
	rc.t.Helper()
	for {
		l := rc.line()
		if strings.HasPrefix(l, tag+" ") {
			return untagged, l
		}
		untagged = append(untagged, l)
	}
}

// testLogHandler sends the server's log to the test log and fails the test
// on a logged panic.
type testLogHandler struct {
	t     *testing.T
	attrs []slog.Attr
	rec   *logRecord // nil: lines are not kept
}

func (h *testLogHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *testLogHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Level.String() + " " + r.Message)
	for _, a := range h.attrs {
		b.WriteString(" " + a.String())
	}
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	h.rec.add(b.String())
	if strings.Contains(r.Message, "panic") {
		h.t.Error("server panicked: " + b.String())
	} else if r.Level >= slog.LevelWarn && testing.Verbose() {
		h.t.Log(b.String())
	}
	return nil
}

func (h *testLogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &testLogHandler{t: h.t, rec: h.rec, attrs: append(append([]slog.Attr(nil), h.attrs...), attrs...)}
}

// logRecord keeps the server's log lines ("LEVEL message key=value ...")
// so tests can wait for one.
type logRecord struct {
	mu      sync.Mutex
	lines   []string
	changed chan struct{} // closed and replaced on every new line
}

func (l *logRecord) add(line string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
	close(l.changed)
	l.changed = make(chan struct{})
}

// wait returns the first line holding every one of parts, waiting for it
// up to waitTimeout.
func (l *logRecord) wait(t *testing.T, parts ...string) string {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		l.mu.Lock()
		changed := l.changed
		for _, line := range l.lines {
			if containsAll(line, parts) {
				l.mu.Unlock()
				return line
			}
		}
		l.mu.Unlock()
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("no log line with %q", parts)
			return ""
		}
	}
}

// all returns the lines logged so far.
func (l *logRecord) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

func (h *testLogHandler) WithGroup(string) slog.Handler { return h }

func timeFromNow() time.Time { return time.Now().Add(waitTimeout) }
