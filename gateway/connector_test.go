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
	d := a.nextImport(t)
	if d.MessageID != id+"@customer.test" {
		t.Fatalf("imported %s, want %s@customer.test", d.MessageID, id)
	}
	return d
}

// nextImport waits for the next import.
func (a *accountEnv) nextImport(t *testing.T) router.Delivered {
	t.Helper()
	select {
	case d := <-a.imported:
		return d
	case <-time.After(20 * time.Second):
		t.Fatalf("nothing imported within 20s; accounts: %+v", a.g.Accounts())
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

	got := aliceReplies(t, a.g, up, "q1@customer.test", "r1@desk.test")
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

// aliceReplies sends alice's reply (Message-ID msgID) to carla's message
// inReplyTo through the submission port and returns it as the account's
// SMTP server got it.
func aliceReplies(t *testing.T, g *gateway.Gateway, up *upstreamSMTP, inReplyTo, msgID string) upstreamMessage {
	t.Helper()
	c := dialSMTP(t, g.Addr("submission"))
	if err := c.Auth(sasl.NewPlainClient("", "alice@example.test", testutil.Password)); err != nil {
		t.Fatal(err)
	}
	reply := "From: alice@example.test\r\nTo: carla@customer.test\r\nSubject: Re: where is my order\r\n" +
		"In-Reply-To: <" + inReplyTo + ">\r\nMessage-ID: <" + msgID + ">\r\n\r\nIt left today.\r\n"
	if err := c.SendMail("alice@example.test", []string{"carla@customer.test"}, strings.NewReader(reply)); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-up.got:
		return got
	case <-time.After(30 * time.Second):
		t.Fatal("the reply did not reach the account's SMTP")
	}
	return upstreamMessage{}
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

// microsoftNDR is the non-delivery report Microsoft 365 puts in the
// mailbox of a sender whose message failed: multipart/report with the
// text and HTML explanation, the delivery status (Status 5.1.10) and the
// returned message; no In-Reply-To.
func microsoftNDR(original string) string {
	return "Return-Path: <>\nFrom: Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@upstream.test>\n" +
		"To: <help@upstream.test>\nDate: Thu, 3 Dec 2026 10:05:00 +0000\n" +
		"Content-Type: multipart/report; report-type=delivery-status;\n\tboundary=\"b6d1c9a1-2a34-4e6b-9a7e-3f0c5e1d2a11\"\n" +
		"Content-Language: en-US\nMessage-ID: <8f1c7a5e-2f0b-4a3e-9a51-1e0c9d6b7a22@upstream.test>\n" +
		"Subject: Undeliverable: Re: where is my order\nAuto-Submitted: auto-replied\nX-MS-Exchange-Message-Is-Ndr:\nMIME-Version: 1.0\n\n" +
		"--b6d1c9a1-2a34-4e6b-9a7e-3f0c5e1d2a11\nContent-Type: multipart/alternative; differences=Content-Type;\n\tboundary=\"9c2b5e7d-1f3a-4c8e-b0d2-6a4f8e1c3b55\"\n\n" +
		"--9c2b5e7d-1f3a-4c8e-b0d2-6a4f8e1c3b55\nContent-Type: text/plain; charset=\"us-ascii\"\nContent-Transfer-Encoding: quoted-printable\n\n" +
		"Your message to carla@customer.test couldn't be delivered.\ncarla wasn't found at customer.test.\n\n" +
		"--9c2b5e7d-1f3a-4c8e-b0d2-6a4f8e1c3b55\nContent-Type: text/html; charset=\"us-ascii\"\n\n" +
		"<html><body><p>Your message to carla@customer.test couldn't be delivered.</p></body></html>\n" +
		"--9c2b5e7d-1f3a-4c8e-b0d2-6a4f8e1c3b55--\n\n" +
		"--b6d1c9a1-2a34-4e6b-9a7e-3f0c5e1d2a11\nContent-Type: message/delivery-status\n\n" +
		"Reporting-MTA: dns;AM0PR01MB1234.eurprd01.prod.exchangelabs.com\nReceived-From-MTA: dns;AM0PR01MB5678.eurprd01.prod.exchangelabs.com\n" +
		"Arrival-Date: Thu, 3 Dec 2026 10:04:58 +0000\n\n" +
		"Final-Recipient: rfc822;carla@customer.test\nAction: failed\nStatus: 5.1.10\n" +
		"Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient carla@customer.test not found by SMTP address lookup\n\n" +
		"--b6d1c9a1-2a34-4e6b-9a7e-3f0c5e1d2a11\nContent-Type: message/rfc822\n\n" + original + "\n" +
		"--b6d1c9a1-2a34-4e6b-9a7e-3f0c5e1d2a11--\n"
}

// gmailNDR is the bounce Gmail sends (Status 5.1.1): the explanation in
// multipart/related, the delivery status, the returned message's header
// (text/rfc822-headers, as for a large message).
func gmailNDR(original, inReplyTo string) string {
	head, _, _ := strings.Cut(strings.ReplaceAll(original, "\r\n", "\n"), "\n\n")
	return "Return-Path: <>\nFrom: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\nTo: help@upstream.test\n" +
		"Auto-Submitted: auto-replied\nSubject: Delivery Status Notification (Failure)\n" +
		"References: <" + inReplyTo + ">\nIn-Reply-To: <" + inReplyTo + ">\nX-Failed-Recipients: carla@customer.test\n" +
		"Message-ID: <6570a1b2.050a0220.abcd.0001.GMR@mx.google.com>\nDate: Thu, 03 Dec 2026 02:06:00 -0800 (PST)\nMIME-Version: 1.0\n" +
		"Content-Type: multipart/report; boundary=\"000000000000abcd\"; report-type=delivery-status\n\n" +
		"--000000000000abcd\nContent-Type: multipart/related; boundary=\"000000000000ef01\"\n\n" +
		"--000000000000ef01\nContent-Type: multipart/alternative; boundary=\"000000000000ef02\"\n\n" +
		"--000000000000ef02\nContent-Type: text/plain; charset=\"UTF-8\"\n\n** Address not found **\n\n" +
		"Your message wasn't delivered to carla@customer.test because the address couldn't be found.\n\n" +
		"--000000000000ef02\nContent-Type: text/html; charset=\"UTF-8\"\n\n<html><body>Address not found</body></html>\n" +
		"--000000000000ef02--\n--000000000000ef01--\n" +
		"--000000000000abcd\nContent-Type: message/delivery-status\n\n" +
		"Reporting-MTA: dns; googlemail.com\nReceived-From-MTA: dns; help@upstream.test\nArrival-Date: Thu, 03 Dec 2026 02:05:58 -0800 (PST)\n\n" +
		"Final-Recipient: rfc822; carla@customer.test\nAction: failed\nStatus: 5.1.1\n" +
		"Remote-MTA: dns; mx.customer.test. (192.0.2.25, the server for the domain customer.test.)\n" +
		"Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does not exist.\n" +
		"Last-Attempt-Date: Thu, 03 Dec 2026 02:06:00 -0800 (PST)\n\n" +
		"--000000000000abcd\nContent-Type: text/rfc822-headers\n\n" + head + "\n\n" +
		"--000000000000abcd--\n"
}

// sessionEvents lists the events of kind in session id.
func sessionEvents(t *testing.T, g *gateway.Gateway, id, kind string) []store.Event {
	t.Helper()
	var out []store.Event
	err := g.Router().View(func(rd store.Reader) error {
		evs, err := rd.Events(id)
		for _, e := range evs {
			if e.Kind == kind {
				out = append(out, e)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sessionCount counts every session of the store.
func sessionCount(t *testing.T, g *gateway.Gateway) int {
	t.Helper()
	n := 0
	err := g.Router().View(func(rd store.Reader) error {
		return rd.EachSession(func(store.Session) error { n++; return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAccountBounceOfReplyGoesToItsSession: the bounce of a reply sent
// through the account's SMTP comes back into the account's mailbox. In
// Microsoft 365's and Gmail's shapes it is filed as the reply's bounce
// (the session's bounced event, the DSN in its thread, no automatic mail
// to the address), with the import's position in the same transaction:
// no new session, and nothing again after a restart. A DSN about a
// message that mxdesk did not send is ordinary mail.
func TestAccountBounceOfReplyGoesToItsSession(t *testing.T) {
	u := dovecottest.Shared(t).NewUser(t)
	up := startUpstreamSMTP(t, u.Login, u.Password)
	a := startAccountUser(t, u, "INBOX", fmt.Sprintf("smtp = %q\nsmtp_tls = \"none\"", up.addr))
	a.u.Append(t, a.upstream, "INBOX", upstreamMail("q1", "carla@customer.test", "where is my order"))
	s1 := a.waitImport(t, "q1").Session
	sent := aliceReplies(t, a.g, up, "q1@customer.test", "r1@desk.test")
	before := sessionCount(t, a.g)

	uid := a.u.Append(t, a.upstream, "INBOX", microsoftNDR(sent.data))
	if d := a.nextImport(t); !d.Bounced || d.Session != s1 {
		t.Fatalf("Microsoft 365 NDR: bounced %v in session %s, want the bounce of %s", d.Bounced, d.Session, s1)
	}
	if evs := sessionEvents(t, a.g, s1, "bounced"); len(evs) != 1 || !strings.Contains(evs[0].Detail, "carla@customer.test") || !strings.Contains(evs[0].Detail, "5.1.10") {
		t.Errorf("bounced events of %s: %+v, want one naming carla@customer.test and 5.1.10", s1, evs)
	}
	if st := importState(t, a.g); st.LastUID != uid {
		t.Errorf("import position %d after the bounce, want its UID %d", st.LastUID, uid)
	}
	var am store.AutoMail
	a.g.Router().View(func(rd store.Reader) (err error) { am, err = rd.AutoMail("carla@customer.test"); return err })
	if !am.SuppressedUntil.After(time.Now()) {
		t.Errorf("automatic mail to carla not paused after the permanent failure: %+v", am)
	}

	a.u.Append(t, a.upstream, "INBOX", upstreamMail("q2", "carla@customer.test", "and the other order"))
	s2 := a.waitImport(t, "q2").Session
	sent = aliceReplies(t, a.g, up, "q2@customer.test", "r2@desk.test")
	a.u.Append(t, a.upstream, "INBOX", gmailNDR(sent.data, "r2@desk.test"))
	if d := a.nextImport(t); !d.Bounced || d.Session != s2 {
		t.Fatalf("Gmail NDR: bounced %v in session %s, want the bounce of %s", d.Bounced, d.Session, s2)
	}
	if evs := sessionEvents(t, a.g, s2, "bounced"); len(evs) != 1 || !strings.Contains(evs[0].Detail, "5.1.1 The email account") {
		t.Errorf("bounced events of %s: %+v, want one with Gmail's diagnostic", s2, evs)
	}
	if n := sessionCount(t, a.g); n != before+1 {
		t.Errorf("%d sessions after two bounces and one customer message, want %d", n, before+1)
	}

	a.restart(t)
	waitAccount(t, a.g, "valid", "")
	// it returns carla's own message: in a session, but not sent by us
	stranger := strings.ReplaceAll(microsoftNDR(upstreamMail("q1", "carla@customer.test", "where is my order")),
		"8f1c7a5e-2f0b-4a3e-9a51-1e0c9d6b7a22", "stranger")
	a.u.Append(t, a.upstream, "INBOX", stranger)
	if d := a.nextImport(t); d.Bounced || d.Session == s1 || d.Session == s2 {
		t.Errorf("a DSN about a customer's message: bounced %v in session %s, want a new session", d.Bounced, d.Session)
	}
	if evs := sessionEvents(t, a.g, s1, "bounced"); len(evs) != 1 {
		t.Errorf("%d bounced events of %s after the restart, want 1", len(evs), s1)
	}
}

// TestAccountSMTPAppliesAtReload: a reload that points the account's smtp
// at another server sends the next reply there, and is not reported as
// waiting for a restart.
func TestAccountSMTPAppliesAtReload(t *testing.T) {
	u := dovecottest.Shared(t).NewUser(t)
	first, second := startUpstreamSMTP(t, u.Login, u.Password), startUpstreamSMTP(t, u.Login, u.Password)
	a := startAccountUser(t, u, "INBOX", fmt.Sprintf("smtp = %q\nsmtp_tls = \"none\"", first.addr))
	a.u.Append(t, a.upstream, "INBOX", upstreamMail("q1", "carla@customer.test", "where is my order"))
	a.waitImport(t, "q1")
	aliceReplies(t, a.g, first, "q1@customer.test", "r1@desk.test")

	a.write(t, accountTable(u, "INBOX", u.PasswordFile, fmt.Sprintf("smtp = %q\nsmtp_tls = \"none\"", second.addr)))
	res, err := a.g.Reload("")
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(res.Restart, "account[0].smtp") {
		t.Errorf("reload reports account[0].smtp as a restart key: %v", res.Restart)
	}
	if got := aliceReplies(t, a.g, second, "q1@customer.test", "r2@desk.test"); got.from != "help@upstream.test" {
		t.Errorf("the reply after the reload: MAIL FROM %q", got.from)
	}
	select {
	case got := <-first.got:
		t.Errorf("the old server got a message after the reload: %q", got.data)
	default:
	}
}
