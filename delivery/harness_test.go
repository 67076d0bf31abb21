package delivery_test

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/miekg/dns"

	"mxdesk/config"
	"mxdesk/delivery"
	"mxdesk/router"
	"mxdesk/store"
	"mxdesk/testutil"
	"mxdesk/testutil/teststore"
)

// waitTimeout bounds every wait for something a server or the worker does;
// none of them is a sleep.
const waitTimeout = 30 * time.Second

var ctx = context.Background()

// ---- DNS ----

// dnsServer is a real DNS server on loopback (UDP and TCP on one port)
// answering MX, A and TXT queries from its tables; every other name is
// NXDOMAIN.
type dnsServer struct {
	addr string

	mu  sync.Mutex
	mx  map[string][]*dns.MX
	a   map[string][]string
	txt map[string]string
}

func startDNS(t *testing.T) *dnsServer {
	t.Helper()
	d := &dnsServer{mx: map[string][]*dns.MX{}, a: map[string][]string{}, txt: map[string]string{}}
	var pc net.PacketConn
	var ln net.Listener
	for try := 0; ln == nil; try++ {
		var err error
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if ln, err = net.Listen("tcp", pc.LocalAddr().String()); err != nil {
			pc.Close()
			if try == 10 {
				t.Fatal(err)
			}
		}
	}
	d.addr = pc.LocalAddr().String()
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: d}, {Listener: ln, Handler: d}} {
		go srv.ActivateAndServe()
		t.Cleanup(func() { srv.Shutdown() })
	}
	return d
}

// addMX publishes domain's MX records: pairs of preference and host.
func (d *dnsServer) addMX(domain string, pref uint16, host string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	name := dns.Fqdn(domain)
	d.mx[name] = append(d.mx[name], &dns.MX{
		Hdr:        dns.RR_Header{Name: name, Rrtype: dns.TypeMX, Class: dns.ClassINET, Ttl: 60},
		Preference: pref, Mx: dns.Fqdn(host),
	})
}

func (d *dnsServer) addA(host, ip string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.a[dns.Fqdn(host)] = append(d.a[dns.Fqdn(host)], ip)
}

func (d *dnsServer) addTXT(name, value string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.txt[dns.Fqdn(name)] = value
}

func (d *dnsServer) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	if len(req.Question) == 1 {
		d.answer(m, req.Question[0])
	}
	w.WriteMsg(m)
}

func (d *dnsServer) answer(m *dns.Msg, q dns.Question) {
	d.mu.Lock()
	defer d.mu.Unlock()
	name := strings.ToLower(q.Name)
	hdr := func(t uint16) dns.RR_Header {
		return dns.RR_Header{Name: q.Name, Rrtype: t, Class: dns.ClassINET, Ttl: 60}
	}
	mx, a, txt := d.mx[name], d.a[name], d.txt[name]
	switch {
	case mx == nil && a == nil && txt == "":
		m.Rcode = dns.RcodeNameError
	case q.Qtype == dns.TypeMX:
		for _, r := range mx {
			m.Answer = append(m.Answer, r)
		}
	case q.Qtype == dns.TypeA:
		for _, ip := range a {
			m.Answer = append(m.Answer, &dns.A{Hdr: hdr(dns.TypeA), A: net.ParseIP(ip)})
		}
	case q.Qtype == dns.TypeTXT && txt != "":
		var parts []string
		for len(txt) > 255 {
			parts, txt = append(parts, txt[:255]), txt[255:]
		}
		m.Answer = append(m.Answer, &dns.TXT{Hdr: hdr(dns.TypeTXT), Txt: append(parts, txt)})
	}
}

// resolver asks only this server.
func (d *dnsServer) resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var nd net.Dialer
		return nd.DialContext(ctx, network, d.addr)
	}}
}

// ---- SMTP servers ----

// received is one message a test server accepted.
type received struct {
	helo string // EHLO name, as said last (after STARTTLS)
	tls  bool
	user string // AUTH PLAIN user, "" without AUTH
	from string
	to   []string
	data []byte
}

// smtpServer is a real go-smtp server on loopback, as a smarthost or a
// remote MX. Its replies are set by rcpt and data.
type smtpServer struct {
	addr string
	got  chan received
	// user and password, when set, make AUTH PLAIN required.
	user, password string

	mu    sync.Mutex
	rcpt  func(to string) error // nil: accept
	data  func() error          // nil: accept
	rcpts []string              // every RCPT TO seen, accepted or not
}

// startSMTP listens on ip:port (port "0": any); tlsConfig enables
// STARTTLS; auth, a user and a password, makes AUTH PLAIN required.
func startSMTP(t *testing.T, ip, port string, tlsConfig *tls.Config, auth ...string) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, port))
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{addr: ln.Addr().String(), got: make(chan received, 16)}
	if len(auth) == 2 {
		s.user, s.password = auth[0], auth[1]
	}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		_, isTLS := c.TLSConnectionState()
		return &serverSession{s: s, msg: received{helo: c.Hostname(), tls: isTLS}}, nil
	}))
	srv.Domain = "remote.test"
	srv.TLSConfig = tlsConfig
	srv.ReadTimeout, srv.WriteTimeout = waitTimeout, waitTimeout
	srv.ErrorLog = log.New(io.Discard, "", 0)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

func (s *smtpServer) setRcpt(fn func(to string) error) {
	s.mu.Lock()
	s.rcpt = fn
	s.mu.Unlock()
}

func (s *smtpServer) seenRcpts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.rcpts...)
}

// port is the server's port.
func (s *smtpServer) port() string {
	_, p, _ := net.SplitHostPort(s.addr)
	return p
}

// next waits for the next accepted message.
func (s *smtpServer) next(t *testing.T) received {
	t.Helper()
	select {
	case m := <-s.got:
		return m
	case <-time.After(waitTimeout):
		t.Fatalf("no message reached %s within %v", s.addr, waitTimeout)
		return received{}
	}
}

// none checks that the server accepted nothing (so far).
func (s *smtpServer) none(t *testing.T) {
	t.Helper()
	select {
	case m := <-s.got:
		t.Errorf("%s received a message for %v, want none", s.addr, m.to)
	default:
	}
}

type serverSession struct {
	s    *smtpServer
	msg  received
	auth bool
}

func (ss *serverSession) AuthMechanisms() []string {
	if ss.s.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *serverSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, password string) error {
		if user != ss.s.user || password != ss.s.password {
			return smtp.ErrAuthFailed
		}
		ss.auth, ss.msg.user = true, user
		return nil
	}), nil
}

func (ss *serverSession) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.user != "" && !ss.auth {
		return smtp.ErrAuthRequired
	}
	ss.msg.from = from
	return nil
}

func (ss *serverSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	ss.s.rcpts = append(ss.s.rcpts, to)
	fn := ss.s.rcpt
	ss.s.mu.Unlock()
	if fn != nil {
		if err := fn(to); err != nil {
			return err
		}
	}
	ss.msg.to = append(ss.msg.to, to)
	return nil
}

func (ss *serverSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	fn := ss.s.data
	ss.s.mu.Unlock()
	if fn != nil {
		if err := fn(); err != nil {
			return err
		}
	}
	ss.msg.data = data
	ss.s.got <- ss.msg
	return nil
}

func (ss *serverSession) Reset() {
	ss.msg = received{helo: ss.msg.helo, tls: ss.msg.tls, user: ss.msg.user}
}

func (ss *serverSession) Logout() error { return nil }

// reply is an SMTP error reply for the test servers' hooks.
func reply(code int, enhanced smtp.EnhancedCode, msg string) error {
	return &smtp.SMTPError{Code: code, EnhancedCode: enhanced, Message: msg}
}

// ---- the desk ----

// desk is a router on a real store with an injected clock, DKIM keys for
// its two domains (RSA for example.test, Ed25519 for ed.test) published
// in the DNS, and a delivery worker.
type desk struct {
	t       *testing.T
	dir     string
	cfg     *config.Config
	clock   *testutil.Clock
	dns     *dnsServer
	st      store.Store
	r       *router.Router
	w       *delivery.Worker
	reports chan delivery.Report
	opts    delivery.Options
}

// deskConfig is the configuration of a desk; %[1]s data_dir, %[2]s and
// %[3]s the DKIM keys, %[4]s the password hash, %[5]s the [delivery] table.
const deskConfig = `
hostname = "mx.example.test"
data_dir = %[1]q
[listen]
smtp = ""
submission = ""
imap = ""
http = ""
[[domain]]
name = "example.test"
dkim_selector = "sel"
dkim_key = %[2]q
[[domain]]
name = "ed.test"
dkim_selector = "ed"
dkim_key = %[3]q
[[queue]]
name = "Support"
addresses = ["support@example.test"]
[[queue]]
name = "Sales"
addresses = ["sales@ed.test"]
[[agent]]
login = "alice@example.test"
name = "Alice Rossi"
password_hash = %[4]q
queues = ["Support", "Sales"]
[delivery]
%[5]s
`

// newDesk builds a desk whose [delivery] table is delivery (resolver,
// timeout and retry_for are set unless it sets them).
func newDesk(t *testing.T, dnsSrv *dnsServer, deliveryTOML string, opts delivery.Options) *desk {
	t.Helper()
	dir := t.TempDir()
	d := &desk{t: t, dir: dir, clock: testutil.NewClock(), dns: dnsSrv}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaFile, edFile := writeKey(t, dir, "rsa.pem", rsaKey), writeKey(t, dir, "ed.pem", edKey)
	dnsSrv.addTXT("sel._domainkey.example.test", dkimTXT(t, rsaKey.Public()))
	dnsSrv.addTXT("ed._domainkey.ed.test", dkimTXT(t, edKey.Public()))
	for key, v := range map[string]string{"resolver": fmt.Sprintf("%q", dnsSrv.addr), "timeout": `"10s"`, "retry_for": `"2h"`} {
		if !strings.Contains(deliveryTOML, key+" ") {
			deliveryTOML += "\n" + key + " = " + v
		}
	}
	toml := fmt.Sprintf(deskConfig, filepath.Join(dir, "data"), rsaFile, edFile, testutil.PasswordHash(), deliveryTOML)
	if d.cfg, err = config.Parse([]byte(toml), "desk.toml"); err != nil {
		t.Fatalf("config: %v\n%s", err, toml)
	}
	d.reports = make(chan delivery.Report, 64)
	d.opts = opts
	d.opts.Now = d.clock.Now
	if d.opts.Logger == nil {
		d.opts.Logger = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	}
	d.opts.AfterAttempt = func(r delivery.Report) { d.reports <- r }
	d.open()
	return d
}

// open opens the store and builds router and worker (again, after close).
func (d *desk) open() {
	t := d.t
	st := teststore.Open(t, filepath.Join(d.dir, "store"), teststore.Options{})
	d.st = st
	t.Cleanup(func() { st.Close() })
	var err error
	if d.r, err = router.New(d.cfg, st, router.Options{Now: d.clock.Now}); err != nil {
		t.Fatal(err)
	}
	if d.w, err = delivery.New(d.r, d.cfg, d.opts); err != nil {
		t.Fatal(err)
	}
}

// restart closes the store and opens it again, as a new process would.
func (d *desk) restart() {
	if err := d.st.Close(); err != nil {
		d.t.Fatal(err)
	}
	d.open()
}

// submit sends a new message from alice (From: from) to rcpts through the
// router, as the submission port would, and returns its session.
func (d *desk) submit(from, subject string, rcpts ...string) router.Submitted {
	t := d.t
	t.Helper()
	a, err := d.r.Authenticate("alice@example.test", testutil.Password)
	if err != nil {
		t.Fatal(err)
	}
	raw := "From: Alice <" + from + ">\r\n" +
		"To: " + strings.Join(rcpts, ", ") + "\r\n" +
		"Subject: " + subject + "\r\n" +
		"Date: " + d.clock.Now().Format(time.RFC1123Z) + "\r\n" +
		"Message-ID: <" + strings.ReplaceAll(subject, " ", "-") + "@desk.test>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		"Hello,\r\nthis is " + subject + ".\r\n"
	sub, err := d.r.Submit(ctx, a, router.Envelope{From: a.Login, To: rcpts}, []byte(raw))
	if err != nil || sub.Queued != len(rcpts) {
		t.Fatalf("Submit: %+v, %v", sub, err)
	}
	return sub
}

// runDue steps the worker once and returns the reports of its attempts.
func (d *desk) runDue() []delivery.Report {
	d.t.Helper()
	n, err := d.w.RunDue(ctx)
	if err != nil {
		d.t.Fatalf("RunDue: %v", err)
	}
	reps := make([]delivery.Report, n)
	for i := range reps {
		reps[i] = <-d.reports // sent before RunDue returned
	}
	return reps
}

// queue is every queued message.
func (d *desk) queue() []store.Outbound {
	d.t.Helper()
	var obs []store.Outbound
	err := d.r.View(func(rd store.Reader) error {
		var err error
		obs, err = rd.DueOutbound(d.clock.Now().Add(1000*time.Hour), 1000)
		return err
	})
	if err != nil {
		d.t.Fatal(err)
	}
	return obs
}

// sessionBlobs returns the raw messages of a session's alice INBOX copies.
func (d *desk) inbox(session string) []string {
	d.t.Helper()
	var out []string
	err := d.r.View(func(rd store.Reader) error {
		inbox, err := rd.MailboxByName("alice@example.test", "INBOX")
		if err != nil {
			return err
		}
		msgs, err := rd.Messages(inbox.ID, 1, 0)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if m.Session != session {
				continue
			}
			raw, err := rd.Blob(m.Blob)
			if err != nil {
				return err
			}
			out = append(out, string(raw))
		}
		return nil
	})
	if err != nil {
		d.t.Fatal(err)
	}
	return out
}

func (d *desk) events(session string) []store.Event {
	var evs []store.Event
	d.r.View(func(rd store.Reader) error {
		var err error
		evs, err = rd.Events(session)
		return err
	})
	return evs
}

func writeKey(t *testing.T, dir, name string, key crypto.Signer) string {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// dkimTXT is the DKIM key record of pub (RFC 6376 3.6.1, RFC 8463).
func dkimTXT(t *testing.T, pub crypto.PublicKey) string {
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		return "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der)
	case ed25519.PublicKey:
		return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)
	}
	t.Fatalf("key type %T", pub)
	return ""
}

// testWriter sends the worker's log to the test's.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
