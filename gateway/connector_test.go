package gateway_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-message/textproto"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mxdesk/config"
	"mxdesk/gateway"
	"mxdesk/router"
	"mxdesk/store"
	"mxdesk/testutil"
	"mxdesk/testutil/dovecottest"
)

// accountTable is an [[account]] on the test's Dovecot user, feeding
// the Support queue of reloadBase.
func accountTable(u *dovecottest.User, folder, passwordFile string, lines ...string) string {
	return fmt.Sprintf(`
[[account]]
address = "help@upstream.test"
queue = "Support"
imap = %q
imap_tls = "none"
login = %q
password_file = %q
folder = %q
`, u.Addr(), u.Login, passwordFile, folder) + strings.Join(lines, "\n") + "\n"
}

// accountEnv is a gateway fed by one upstream Dovecot account.
type accountEnv struct {
	*reloadEnv
	u        *dovecottest.User
	upstream *imapclient.Client // someone else on the same mailbox
	folder   string
	imported chan router.Delivered
}

// startAccount starts a gateway importing folder of a new Dovecot user
// (startAccountUser).
func startAccount(t *testing.T, folder string, lines ...string) *accountEnv {
	t.Helper()
	return startAccountUser(t, dovecottest.Shared(t).NewUser(t), folder, lines...)
}

// startAccountUser starts a gateway importing folder (made if it is not
// INBOX) of u's mailbox, with lines added to its [[account]], and waits
// until the account is valid: its first contact is recorded.
func startAccountUser(t *testing.T, u *dovecottest.User, folder string, lines ...string) *accountEnv {
	t.Helper()
	a := &accountEnv{u: u, upstream: u.Client(t), folder: folder, imported: make(chan router.Delivered, 64)}
	if folder != "INBOX" {
		if err := a.upstream.Create(folder, nil).Wait(); err != nil {
			t.Fatal(err)
		}
	}
	a.reloadEnv = startFromFileWith(t, "", accountTable(u, folder, u.PasswordFile, lines...))
	a.hook()
	waitAccount(t, a.g, "valid", "")
	return a
}

// hook sends each import of the running gateway to a.imported.
func (a *accountEnv) hook() {
	a.g.OnImport(func(_ string, d router.Delivered) { a.imported <- d })
}

// restart closes the gateway and starts a new one on the same file and
// data directory.
func (a *accountEnv) restart(t *testing.T) {
	t.Helper()
	if err := a.g.Close(); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(a.path)
	if err != nil {
		t.Fatal(err)
	}
	if a.g, err = gateway.New(cfg, quietLog()); err != nil {
		t.Fatal(err)
	}
	a.hook()
	if err := a.g.Start(); err != nil {
		t.Fatal(err)
	}
}

// upstreamMail is a message as the upstream server stores it.
func upstreamMail(id, from, subject string) string {
	return "Return-Path: <" + from + ">\nReceived: from mail.customer.test by upstream.test; Thu, 3 Dec 2026 10:00:00 +0000\n" +
		"From: " + from + "\nTo: help@upstream.test\nSubject: " + subject + "\nMessage-ID: <" + id + "@customer.test>\n" +
		"Date: Thu, 3 Dec 2026 10:00:00 +0000\n\nHello, " + subject + "\n"
}

// waitImport waits for the next import and checks it is the message id.
func (a *accountEnv) waitImport(t *testing.T, id string) router.Delivered {
	t.Helper()
	select {
	case d := <-a.imported:
		if d.MessageID != id+"@customer.test" {
			t.Fatalf("imported %s, want %s@customer.test", d.MessageID, id)
		}
		return d
	case <-time.After(20 * time.Second):
		t.Fatalf("message %s not imported within 20s; accounts: %+v", id, a.g.Accounts())
	}
	return router.Delivered{}
}

// waitAccount polls the account's status until it is want ("valid" or
// "invalid") with an error containing errPart.
func waitAccount(t *testing.T, g *gateway.Gateway, want, errPart string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		list := g.Accounts()
		if len(list) == 1 && list[0].Valid == (want == "valid") && strings.Contains(list[0].LastError, errPart) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("account not %s (%q) within 20s: %+v", want, errPart, list)
		}
		<-tick.C
	}
}

// importState reads the account's position in the store.
func importState(t *testing.T, g *gateway.Gateway) store.ImportState {
	t.Helper()
	var st store.ImportState
	err := g.Router().View(func(rd store.Reader) (err error) {
		st, err = rd.ImportState("help@upstream.test")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// knownMessage tells whether a Message-ID is in the store.
func knownMessage(t *testing.T, g *gateway.Gateway, id string) bool {
	t.Helper()
	var found bool
	err := g.Router().View(func(rd store.Reader) error {
		_, err := rd.SessionByMessageID(id + "@customer.test")
		found = err == nil
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// TestAccountImportsNewMailByIdle: what is in the mailbox before the
// first contact stays upstream; a message appended while mxdesk runs
// reaches the queue through IDLE, one already read by someone else
// (\Seen) too, and the upstream copies are left as they were.
func TestAccountImportsNewMailByIdle(t *testing.T) {
	u := dovecottest.Shared(t).NewUser(t)
	before := u.Client(t)
	u.Append(t, before, "INBOX", upstreamMail("old", "olga@customer.test", "from last year"))
	before.Logout()

	a := startAccountUser(t, u, "INBOX")
	alice := loginIMAP(t, a.g.Addr("imap"), "alice@example.test")
	if n := countIn(t, alice, "Queues/Support"); n != 0 {
		t.Fatalf("Queues/Support holds %d messages before any import", n)
	}

	sent := time.Now()
	uidNew := a.u.Append(t, a.upstream, "INBOX", upstreamMail("new", "carla@customer.test", "order 17"))
	d := a.waitImport(t, "new")
	t.Logf("IDLE to queue: %v", time.Since(sent))
	if d.Queue != "Support" {
		t.Errorf("imported into queue %q, want Support", d.Queue)
	}
	a.u.Append(t, a.upstream, "INBOX", upstreamMail("read", "dan@customer.test", "already read"), imap.FlagSeen)
	a.waitImport(t, "read")

	if n := countIn(t, alice, "Queues/Support"); n != 2 {
		t.Errorf("Queues/Support holds %d messages, want 2", n)
	}
	if knownMessage(t, a.g, "old") {
		t.Error("the message that was upstream before the first contact was imported")
	}
	if st := importState(t, a.g); st.LastUID != uidNew+1 {
		t.Errorf("import state %+v, want LastUID %d", st, uidNew+1)
	}
	// Upstream is untouched: three messages, the new one still unread.
	sel, err := a.upstream.Select("INBOX", nil).Wait()
	if err != nil || sel.NumMessages != 3 {
		t.Fatalf("upstream INBOX: %v %+v", err, sel)
	}
	msgs, err := a.upstream.Fetch(imap.UIDSetNum(imap.UID(uidNew)), &imap.FetchOptions{Flags: true}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatal(err)
	}
	for _, f := range msgs[0].Flags {
		if f == imap.FlagSeen {
			t.Error("the imported message is \\Seen upstream (after_import = keep)")
		}
	}
}

// TestAccountRestartImportsNothingTwice: a message that arrived while
// mxdesk was down is imported at the restart, and only it.
func TestAccountRestartImportsNothingTwice(t *testing.T) {
	a := startAccount(t, "INBOX")
	a.u.Append(t, a.upstream, "INBOX", upstreamMail("one", "carla@customer.test", "first"))
	a.waitImport(t, "one")
	if err := a.g.Close(); err != nil {
		t.Fatal(err)
	}
	a.u.Append(t, a.upstream, "INBOX", upstreamMail("two", "dan@customer.test", "while down"))
	a.restart(t)
	a.waitImport(t, "two")
	a.u.Append(t, a.upstream, "INBOX", upstreamMail("three", "erik@customer.test", "after"))
	a.waitImport(t, "three") // "one" would have come first
	alice := loginIMAP(t, a.g.Addr("imap"), "alice@example.test")
	if n := countIn(t, alice, "Queues/Support"); n != 3 {
		t.Errorf("Queues/Support holds %d messages, want 3", n)
	}
}

// TestAccountUIDValidityChangeRescans: the folder is deleted and made
// again (a new UIDVALIDITY) with the same messages and a new one: only
// the new one is imported. Dovecot says nothing to an IDLE on a deleted
// folder: the poll after poll_interval finds it gone.
func TestAccountUIDValidityChangeRescans(t *testing.T) {
	a := startAccount(t, "Support", `poll_interval = "1s"`)
	mails := []string{upstreamMail("a", "carla@customer.test", "first"), upstreamMail("b", "dan@customer.test", "second")}
	for _, m := range mails {
		a.u.Append(t, a.upstream, "Support", m)
	}
	a.waitImport(t, "a")
	a.waitImport(t, "b")
	was := importState(t, a.g).UIDValidity

	if err := a.upstream.Delete("Support").Wait(); err != nil {
		t.Fatal(err)
	}
	if err := a.upstream.Create("Support", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	// A new connection: the one that deleted the folder may still hold
	// its old index ("Mailbox was deleted under us").
	again := a.u.Client(t)
	for _, m := range mails {
		a.u.Append(t, again, "Support", m)
	}
	a.u.Append(t, again, "Support", upstreamMail("c", "erik@customer.test", "third"))
	a.waitImport(t, "c")
	if st := importState(t, a.g); st.UIDValidity == was || st.LastUID != 3 {
		t.Errorf("import state %+v, want a new UIDVALIDITY (was %d) and LastUID 3", st, was)
	}
	alice := loginIMAP(t, a.g.Addr("imap"), "alice@example.test")
	if n := countIn(t, alice, "Queues/Support"); n != 3 {
		t.Errorf("Queues/Support holds %d messages, want 3", n)
	}
}

// TestAccountWrongPasswordThenReload: a wrong password makes the account
// invalid with the login error (mxdesk_account_up 0); the fixed
// configuration applies at a reload (1).
func TestAccountWrongPasswordThenReload(t *testing.T) {
	u := dovecottest.Shared(t).NewUser(t)
	wrong := t.TempDir() + "/wrong"
	writeFile(t, wrong, "not-the-password\n")
	e := startFromFileWith(t, "", accountTable(u, "INBOX", wrong))
	waitAccount(t, e.g, "invalid", `login failed for "`+u.Login+`"`)
	if m := scrapeMetrics(t, e.g); m["mxdesk_account_up"] == nil || m.value("mxdesk_account_up", "account", "help@upstream.test") != 0 {
		t.Errorf("mxdesk_account_up of the invalid account: %v", m["mxdesk_account_up"])
	}
	// The fixed configuration names the right password file; the old
	// one still holds the wrong password, so only the reload fixes it.
	e.write(t, accountTable(u, "INBOX", u.PasswordFile))
	if _, err := e.g.Reload(""); err != nil {
		t.Fatal(err)
	}
	waitAccount(t, e.g, "valid", "")
	if v := scrapeMetrics(t, e.g).value("mxdesk_account_up", "account", "help@upstream.test"); v != 1 {
		t.Errorf("mxdesk_account_up = %v once valid, want 1", v)
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// upstreamSMTP is the account's submission server: it takes AUTH PLAIN
// for one login and remembers who sent what.
type upstreamSMTP struct {
	addr            string
	login, password string
	got             chan upstreamMessage
}

type upstreamMessage struct {
	auth, from string
	rcpts      []string
	data       string
}

func startUpstreamSMTP(t *testing.T, login, password string) *upstreamSMTP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &upstreamSMTP{addr: ln.Addr().String(), login: login, password: password, got: make(chan upstreamMessage, 8)}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &upstreamSession{u: u}, nil }))
	srv.AllowInsecureAuth = true
	srv.ErrorLog = log.New(io.Discard, "", 0) // mxdesk closing its connection is no news
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return u
}

type upstreamSession struct {
	u   *upstreamSMTP
	msg upstreamMessage
}

func (s *upstreamSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *upstreamSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, password string) error {
		if user != s.u.login || password != s.u.password {
			return errors.New("bad credentials")
		}
		s.msg.auth = user
		return nil
	}), nil
}
func (s *upstreamSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.msg.auth == "" {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "authentication required"}
	}
	s.msg.from = from
	return nil
}
func (s *upstreamSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.msg.rcpts = append(s.msg.rcpts, to)
	return nil
}
func (s *upstreamSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.msg.data = string(b)
	s.u.got <- s.msg
	return nil
}
func (s *upstreamSession) Reset()        { s.msg = upstreamMessage{auth: s.msg.auth} }
func (s *upstreamSession) Logout() error { return nil }

// TestAccountReplyLeavesThroughUpstreamSMTP: an agent's reply in a
// session of the account's queue leaves through the account's SMTP,
// logged in as the account, From its address, threaded to the
// customer's message.
func TestAccountReplyLeavesThroughUpstreamSMTP(t *testing.T) {
	u := dovecottest.Shared(t).NewUser(t)
	up := startUpstreamSMTP(t, u.Login, u.Password)
	a := startAccountUser(t, u, "INBOX", fmt.Sprintf("smtp = %q\nsmtp_tls = \"none\"", up.addr))
	a.u.Append(t, a.upstream, "INBOX", upstreamMail("q1", "carla@customer.test", "where is my order"))
	a.waitImport(t, "q1")

	c := dialSMTP(t, a.g.Addr("submission"))
	if err := c.Auth(sasl.NewPlainClient("", "alice@example.test", testutil.Password)); err != nil {
		t.Fatal(err)
	}
	reply := "From: alice@example.test\r\nTo: carla@customer.test\r\nSubject: Re: where is my order\r\n" +
		"In-Reply-To: <q1@customer.test>\r\nMessage-ID: <r1@desk.test>\r\n\r\nIt left today.\r\n"
	if err := c.SendMail("alice@example.test", []string{"carla@customer.test"}, strings.NewReader(reply)); err != nil {
		t.Fatal(err)
	}
	var got upstreamMessage
	select {
	case got = <-up.got:
	case <-time.After(30 * time.Second):
		t.Fatal("the reply did not reach the account's SMTP")
	}
	h, err := textproto.ReadHeader(bufio.NewReader(strings.NewReader(got.data)))
	if err != nil {
		t.Fatal(err)
	}
	if got.auth != u.Login || got.from != "help@upstream.test" || !slices.Equal(got.rcpts, []string{"carla@customer.test"}) {
		t.Errorf("envelope: AUTH %q MAIL FROM %q RCPT %v; want %q, help@upstream.test, carla@customer.test", got.auth, got.from, got.rcpts, u.Login)
	}
	if from := h.Get("From"); !strings.Contains(from, "<help@upstream.test>") {
		t.Errorf("From: %q, want the account's address", from)
	}
	if h.Has("Reply-To") || h.Get("In-Reply-To") != "<q1@customer.test>" {
		t.Errorf("Reply-To %q (want none), In-Reply-To %q (want <q1@customer.test>)", h.Get("Reply-To"), h.Get("In-Reply-To"))
	}
}

// TestAccountAfterImport: after_import = "seen" flags the imported
// message upstream, "move:<folder>" moves it there; neither deletes.
func TestAccountAfterImport(t *testing.T) {
	t.Run("seen", func(t *testing.T) {
		a := startAccount(t, "INBOX", `after_import = "seen"`)
		uid := a.u.Append(t, a.upstream, "INBOX", upstreamMail("s1", "carla@customer.test", "flag me"))
		a.waitImport(t, "s1")
		waitUpstream(t, a.upstream, "INBOX", func(msgs []*imapclient.FetchMessageBuffer) bool {
			return len(msgs) == 1 && uint32(msgs[0].UID) == uid && slices.Contains(msgs[0].Flags, imap.FlagSeen)
		})
	})
	t.Run("move", func(t *testing.T) {
		a := startAccount(t, "INBOX", `after_import = "move:Imported"`)
		if err := a.upstream.Create("Imported", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		a.u.Append(t, a.upstream, "INBOX", upstreamMail("m1", "carla@customer.test", "move me"))
		a.waitImport(t, "m1")
		waitUpstream(t, a.upstream, "Imported", func(msgs []*imapclient.FetchMessageBuffer) bool { return len(msgs) == 1 })
		waitUpstream(t, a.upstream, "INBOX", func(msgs []*imapclient.FetchMessageBuffer) bool { return len(msgs) == 0 })
	})
}

// waitUpstream polls folder upstream (UID and flags of every message)
// until ok says so; after_import runs after the import is reported.
func waitUpstream(t *testing.T, c *imapclient.Client, folder string, ok func([]*imapclient.FetchMessageBuffer) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		sel, err := c.Select(folder, nil).Wait()
		if err != nil {
			t.Fatalf("SELECT %s upstream: %v", folder, err)
		}
		var msgs []*imapclient.FetchMessageBuffer
		if sel.NumMessages > 0 {
			var all imap.SeqSet
			all.AddRange(1, sel.NumMessages)
			if msgs, err = c.Fetch(all, &imap.FetchOptions{UID: true, Flags: true}).Collect(); err != nil {
				t.Fatal(err)
			}
		}
		if ok(msgs) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("upstream %s not as wanted within 20s: %d messages", folder, len(msgs))
		}
		<-tick.C
	}
}

// TestAccountLeavesTooBigMailUpstream: a message over
// smtp.max_message_bytes stays upstream, as the MX would refuse it, and
// the next one is imported.
func TestAccountLeavesTooBigMailUpstream(t *testing.T) {
	a := startAccount(t, "INBOX", "[smtp]\nmax_message_bytes = 4096")
	big := upstreamMail("big", "carla@customer.test", "a large file") + strings.Repeat("x", 5000) + "\n"
	a.u.Append(t, a.upstream, "INBOX", big)
	a.u.Append(t, a.upstream, "INBOX", upstreamMail("small", "carla@customer.test", "a small one"))
	a.waitImport(t, "small")
	if knownMessage(t, a.g, "big") {
		t.Error("the message over smtp.max_message_bytes was imported")
	}
	if st := importState(t, a.g); st.LastUID != 2 {
		t.Errorf("import state %+v, want LastUID 2 (past the big message)", st)
	}
}

// TestAccountTrustsUpstreamDMARCResult: with authentication_results set,
// a DMARC failure the upstream server recorded gets no auto-reply, as
// from the MX; a failure under another authserv-id is not trusted, even
// above the upstream's own pass.
func TestAccountTrustsUpstreamDMARCResult(t *testing.T) {
	a := startAccount(t, "INBOX", `authentication_results = "mx.upstream.test"`,
		"[queue.auto_reply]\nenabled = true\nbody = \"Hello @{consumer}, your ticket is @{ticket_id}.\"")
	failed := "Authentication-Results: mx.upstream.test; dmarc=fail header.from=bank.test\n" + upstreamMail("phish", "ceo@bank.test", "wire money")
	other := "Authentication-Results: elsewhere.test; dmarc=fail header.from=shop.test\n" +
		"Authentication-Results: mx.upstream.test; dmarc=pass header.from=shop.test\n" + upstreamMail("real", "ann@shop.test", "my order")
	a.u.Append(t, a.upstream, "INBOX", failed)
	a.waitImport(t, "phish")
	a.u.Append(t, a.upstream, "INBOX", other)
	a.waitImport(t, "real")
	m := scrapeMetrics(t, a.g)
	if dmarc, sent := m.value("mxdesk_autoreplies_total", "queue", "Support", "result", "dmarc"), m.value("mxdesk_autoreplies_total", "queue", "Support", "result", "sent"); dmarc != 1 || sent != 1 {
		t.Errorf("auto-replies: %v skipped for DMARC, %v sent; want 1 and 1", dmarc, sent)
	}
}

// TestAccountAutoReplyLeavesThroughUpstreamSMTP: the queue's auto-reply
// to imported mail leaves through the account's SMTP, From its address.
func TestAccountAutoReplyLeavesThroughUpstreamSMTP(t *testing.T) {
	u := dovecottest.Shared(t).NewUser(t)
	up := startUpstreamSMTP(t, u.Login, u.Password)
	a := startAccountUser(t, u, "INBOX", fmt.Sprintf("smtp = %q\nsmtp_tls = \"none\"", up.addr),
		"[queue.auto_reply]\nenabled = true\nbody = \"Hello @{consumer}, your ticket is @{ticket_id}.\"")
	a.u.Append(t, a.upstream, "INBOX", upstreamMail("ar1", "carla@customer.test", "hello"))
	a.waitImport(t, "ar1")
	var got upstreamMessage
	select {
	case got = <-up.got:
	case <-time.After(30 * time.Second):
		t.Fatal("the auto-reply did not reach the account's SMTP")
	}
	h, err := textproto.ReadHeader(bufio.NewReader(strings.NewReader(got.data)))
	if err != nil {
		t.Fatal(err)
	}
	if got.from != "help@upstream.test" || !strings.Contains(h.Get("From"), "<help@upstream.test>") || h.Get("Auto-Submitted") != "auto-replied" || h.Has("Reply-To") {
		t.Errorf("auto-reply: MAIL FROM %q, From %q, Auto-Submitted %q, Reply-To %q", got.from, h.Get("From"), h.Get("Auto-Submitted"), h.Get("Reply-To"))
	}
}

// TestAccountFilesUpstreamDMARCFailureAsSpam: a DMARC failure the
// trusted upstream recorded is filed as [inbound] files the MX's own:
// under the sender domain's p=reject or p=quarantine as spam (the
// queue's Spam folder, resolved), under p=none (or no policy written) in
// the queue as usual. Each provider writes the policy its own way; only
// the topmost field with the trusted authserv-id counts.
func TestAccountFilesUpstreamDMARCFailureAsSpam(t *testing.T) {
	cases := []struct {
		name, trusted string
		spam, notSpam string // Authentication-Results fields, topmost first
	}{{
		name: "google", trusted: "mx.google.com",
		spam: "Authentication-Results: mx.google.com;\n       dkim=fail header.i=@bank.test header.s=s1 header.b=Ab12Cd34;\n" +
			"       spf=softfail (google.com: domain of transitioning ceo@bank.test does not designate 192.0.2.7 as permitted sender) smtp.mailfrom=ceo@bank.test;\n" +
			"       dmarc=fail (p=REJECT sp=REJECT dis=NONE) header.from=bank.test\n" +
			"Authentication-Results: mx.google.com; dmarc=pass header.from=bank.test\n", // forged below: ignored
		notSpam: "Authentication-Results: elsewhere.test; dmarc=fail (p=REJECT sp=REJECT dis=NONE) header.from=shop.test\n" + // forged above: ignored
			"Authentication-Results: mx.google.com;\n       spf=none (google.com: shop.test does not designate permitted sender hosts) smtp.mailfrom=ann@shop.test;\n" +
			"       dmarc=fail (p=NONE sp=NONE dis=NONE) header.from=shop.test\n",
	}, {
		name: "microsoft", trusted: "mx.microsoft.com",
		spam: "Authentication-Results: spf=fail (sender IP is 192.0.2.7)\n smtp.mailfrom=bank.test; dkim=none (message not signed)\n" +
			" header.d=none;dmarc=fail action=quarantine header.from=bank.test;compauth=fail\n reason=000\n" +
			"Authentication-Results: spf=pass smtp.mailfrom=bank.test; dmarc=pass action=none header.from=bank.test\n",
		notSpam: "Authentication-Results: spf=fail (sender IP is 192.0.2.8)\n smtp.mailfrom=shop.test; dkim=none (message not signed)\n" +
			" header.d=none;dmarc=fail action=none header.from=shop.test;compauth=fail\n reason=001\n",
	}, {
		name: "opendmarc", trusted: "mail.upstream.test",
		spam:    "Authentication-Results: mail.upstream.test;\n\tdmarc=fail reason=\"No valid SPF, No valid DKIM\" header.from=bank.test policy.dmarc=reject\n",
		notSpam: "Authentication-Results: mail.upstream.test; dmarc=fail (p=none dis=none) header.from=shop.test\n",
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := startAccount(t, "INBOX", fmt.Sprintf("authentication_results = %q", c.trusted),
				"[queue.auto_reply]\nenabled = true\nbody = \"Hello @{consumer}, your ticket is @{ticket_id}.\"")
			a.u.Append(t, a.upstream, "INBOX", c.spam+upstreamMail("phish-"+c.name, "ceo@bank.test", "wire money"))
			d := a.waitImport(t, "phish-"+c.name)
			if s := session(t, a.g, d.Session); !s.Spam || s.Status != router.StatusResolved || d.Folder != "Queues/Support/Spam" {
				t.Errorf("p=reject/quarantine failure: spam %v, status %s, folder %q; want spam, Resolved, Queues/Support/Spam", s.Spam, s.Status, d.Folder)
			}
			a.u.Append(t, a.upstream, "INBOX", c.notSpam+upstreamMail("order-"+c.name, "ann@shop.test", "my order"))
			d = a.waitImport(t, "order-"+c.name)
			if s := session(t, a.g, d.Session); s.Spam || d.Folder != "Queues/Support" {
				t.Errorf("p=none failure: spam %v, folder %q; want the queue", s.Spam, d.Folder)
			}
			m := scrapeMetrics(t, a.g)
			if dmarc, sent := m.value("mxdesk_autoreplies_total", "queue", "Support", "result", "dmarc"), m.value("mxdesk_autoreplies_total", "queue", "Support", "result", "sent"); sent != 0 {
				t.Errorf("auto-replies: %v skipped for DMARC, %v sent; want none sent", dmarc, sent)
			}
		})
	}
}
