package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/jackc/pgx/v5"

	"mxdesk/config"
	"mxdesk/gateway"
	"mxdesk/testutil"
	"mxdesk/testutil/pgtest"
)

// The gateway on the PostgreSQL store (store.backend = "postgres",
// issue 22): the same desk as on badger, on a fresh database of the
// package's postgres that serve migrates itself.

// usePostgres points cfg's store at a fresh database.
func usePostgres(t testing.TB, cfg *config.Config) {
	t.Helper()
	cfg.Store.Backend, cfg.Store.DSN = config.BackendPostgres, pgtest.Shared(t).NewDB(t)
}

// muttReplyToCarla is mutt's r on carlaWrites, claimed by alice.
const muttReplyToCarla = `Date: Mon, 2 Mar 2026 09:30:00 +0100
From: Alice Rossi <alice@example.test>
To: Carla Rossi <carla@customer.test>
Subject: Re: Double charge on invoice 4471
Message-ID: <20260302083000.GA1717@laptop.example.test>
References: <c1@customer.test>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii
Content-Disposition: inline
In-Reply-To: <c1@customer.test>
User-Agent: Mutt/2.2.12 (2023-09-09)

On Mon, Mar 02, 2026 at 09:00:00AM +0100, Carla Rossi wrote:
> I was charged twice for invoice 4471.

We refunded the second charge.
`

// TestPostgresDesk: the basic desk on PostgreSQL. A customer's message
// comes in over SMTP and shows up on alice's IDLE, alice reads it over
// IMAP and claims it (Queues/Support to Inbox), replies with mutt
// through submission, and the reply reaches the smarthost.
func TestPostgresDesk(t *testing.T) {
	g, snk := gestureDeskWith(t, func(cfg *config.Config) { usePostgres(t, cfg) })
	exists := make(chan uint32, 8)
	watcher := loginIMAPWatching(t, g.Addr("imap"), "alice@example.test", exists)
	if _, err := watcher.Select("Queues/Support", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	idle, err := watcher.Idle()
	if err != nil {
		t.Fatal(err)
	}
	s := customerWrites(t, g, "support@example.test", carlaWrites)
	waitExists(t, exists, 1, "alice's IDLE on Queues/Support after carla's message")
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if s.Queue != "Support" || s.Agent != "" {
		t.Fatalf("session %+v, want waiting in Support", s)
	}
	if raw := imapMessage(t, g, "alice@example.test", "Queues/Support", "c1@customer.test"); !strings.Contains(raw, "I was charged twice") {
		t.Fatalf("Queues/Support over IMAP: %q, want carla's message", raw)
	}
	c := loginIMAP(t, g.Addr("imap"), "alice@example.test")
	moveByMessageID(t, c, "Queues/Support", "<c1@customer.test>", "INBOX")
	if s = sessionOf(t, g, "c1@customer.test"); s.Agent != "alice@example.test" {
		t.Fatalf("after the move to INBOX the session is %+v, want alice's", s)
	}
	if _, err := submitAs(t, g, "alice@example.test", []string{"carla@customer.test"}, crlf(muttReplyToCarla)); err != nil {
		t.Fatalf("alice's reply: %v", err)
	}
	// The session's participants (dave, in Cc of carla's) are copied.
	h, rcpts := delivered(t, snk, "20260302083000.GA1717@laptop.example.test")
	if want := []string{"carla@customer.test", "dave@customer.test"}; !slices.Equal(rcpts, want) || h.Get("Subject") != "Re: Double charge on invoice 4471" {
		t.Errorf("the smarthost got the reply to %v with Subject %q, want %v", rcpts, h.Get("Subject"), want)
	}
	if ev := lastEvent(report(t, g, s.ID), "replied"); !strings.Contains(ev, "carla@customer.test") {
		t.Errorf("the session's last reply event is %q, want to carla", ev)
	}
}

// Backup and restore on postgres refuse, naming store.backend and
// PostgreSQL's own tools (check-store on postgres: migratestore_test.go).
func TestPostgresBackupRefused(t *testing.T) {
	cfg := testutil.Config(t, "")
	cfg.Store.Backend, cfg.Store.DSN = config.BackendPostgres, "postgres://mxdesk@127.0.0.1:1/mxdesk"
	if err := gateway.BackupOffline(cfg, quietLog(), nil); err == nil || !strings.Contains(err.Error(), `store.backend = "postgres"`) || !strings.Contains(err.Error(), "pg_dump") {
		t.Errorf("BackupOffline with the postgres backend: %v, want an error naming store.backend and pg_dump", err)
	}
	if err := gateway.Restore(cfg, quietLog(), nil); err == nil || !strings.Contains(err.Error(), `store.backend = "postgres"`) || !strings.Contains(err.Error(), "pg_restore") {
		t.Errorf("Restore with the postgres backend: %v, want an error naming store.backend and pg_restore", err)
	}
}

// On PostgreSQL the commit metrics count the store's commits; the
// metrics of badger's disk (its files, data_dir's free space) are absent,
// /readyz is ready, and the online backup names PostgreSQL's tools.
func TestPostgresMetricsAndBackup(t *testing.T) {
	cfg := testutil.Config(t, "")
	usePostgres(t, cfg)
	g := startGatewayCfg(t, cfg)
	sendRawMX(t, g, "carla@customer.test", "support@example.test", crlf(carlaWrites))
	m := scrapeMetrics(t, g)
	if got := m.value("mxdesk_store_commit_seconds"); got < 1 {
		t.Errorf("mxdesk_store_commit_seconds counted %v commits after a delivery, want at least 1", got)
	}
	if got := m.value("mxdesk_store_commit_updates"); got < 1 {
		t.Errorf("mxdesk_store_commit_updates counted %v commits after a delivery, want at least 1", got)
	}
	for _, name := range []string{"mxdesk_store_size_bytes", "mxdesk_store_free_bytes", "mxdesk_store_low_space"} {
		if m[name] != nil {
			t.Errorf("%s is reported on PostgreSQL: %v", name, m[name])
		}
	}
	if code, body := readyz(t, g); code != http.StatusOK {
		t.Errorf("/readyz = %d %q, want 200", code, body)
	}
	code, body := adminGet(t, gateway.AdminSocket(g.Router().Config()), "/v1/backup")
	if code != http.StatusNotImplemented || !strings.Contains(string(body), `store.backend = \"postgres\"`) || !strings.Contains(string(body), "pg_dump") {
		t.Errorf("GET /v1/backup = %d %s, want 501 naming store.backend and pg_dump", code, body)
	}
}

// wantUnavailable fails unless err is SMTP's 451 4.3.0 saying the store
// is unavailable, with a text that gives nothing of the store away.
func wantUnavailable(t *testing.T, what string, err error) {
	t.Helper()
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 451 || se.EnhancedCode != (smtp.EnhancedCode{4, 3, 0}) {
		t.Errorf("%s while PostgreSQL is down: %v, want 451 4.3.0", what, err)
		return
	}
	if !strings.Contains(se.Message, "temporarily unavailable") {
		t.Errorf("%s: the reply %q does not say the store is unavailable", what, se.Message)
	}
	for _, leak := range []string{"SQLSTATE", "dial", "127.0.0.1", "pgstore", "postgres"} {
		if strings.Contains(se.Message, leak) {
			t.Errorf("%s: the reply %q shows the internal error (%s)", what, se.Message, leak)
		}
	}
}

// wantIMAPUnavailable fails unless err is NO [UNAVAILABLE].
func wantIMAPUnavailable(t *testing.T, what string, err error) {
	t.Helper()
	var ie *imap.Error
	if !errors.As(err, &ie) || ie.Type != imap.StatusResponseTypeNo || ie.Code != imap.ResponseCodeUnavailable {
		t.Errorf("%s while PostgreSQL is down: %v, want NO [UNAVAILABLE]", what, err)
	}
}

// TestPostgresDownAndBack stops PostgreSQL under a running gateway:
// the MX answers 451 4.3.0 at RCPT (a new transaction) and at DATA (one
// whose RCPT was taken before), submission at DATA, IMAP NO
// [UNAVAILABLE], /readyz 503 naming store.dsn. When PostgreSQL is back
// on the same port and data, the node recovers without a restart: the
// next message is taken and readable over IMAP. A customer sending all
// along gets 250 or 451, and every message answered 250 is in the store.
func TestPostgresDownAndBack(t *testing.T) {
	pg := pgtest.New(t)
	cfg := testutil.Config(t, "")
	cfg.Listen.Submission = "127.0.0.1:0"
	cfg.Limits.MessagesPerSenderPerHour = 100000 // the load is one sender
	cfg.Store.Backend, cfg.Store.DSN = config.BackendPostgres, pg.NewDB(t)
	logs := &testutil.SyncBuffer{}
	g, err := gateway.New(cfg, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		g.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })

	sendRawMX(t, g, "carla@customer.test", "support@example.test", customerMail("before", "support@example.test", ""))
	imapc := loginIMAP(t, g.Addr("imap"), "alice@example.test")
	if got := messageIDs(t, imapc, "Queues/Support"); !slices.Equal(got, []string{"before@customer.test"}) {
		t.Fatalf("Queues/Support before the stop: %v", got)
	}
	selected := loginIMAP(t, g.Addr("imap"), "alice@example.test")
	if _, err := selected.Select("Queues/Support", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	// A customer's transaction and an agent's, begun before the stop.
	early := dialSMTP(t, g.Addr("smtp"))
	if err := early.Mail("carla@customer.test", nil); err != nil {
		t.Fatal(err)
	}
	if err := early.Rcpt("support@example.test", nil); err != nil {
		t.Fatal(err)
	}
	agent := dialSMTP(t, g.Addr("submission"))
	if err := agent.Auth(sasl.NewPlainClient("", "alice@example.test", testutil.Password)); err != nil {
		t.Fatal(err)
	}
	if err := agent.Mail("alice@example.test", nil); err != nil {
		t.Fatal(err)
	}
	if err := agent.Rcpt("carla@customer.test", nil); err != nil {
		t.Fatal(err)
	}

	// Customers sending on four connections all along: commits are in
	// flight when the server stops.
	var loads []*mxLoad
	for i := range 4 {
		loads = append(loads, startMXLoad(t, g.Addr("smtp"), fmt.Sprintf("load%d", i)))
	}
	for _, l := range loads {
		l.waitAcked(t)
	}

	pg.Stop(t)
	for _, l := range loads {
		l.waitDeferred(t)
	}
	wantUnavailable(t, "MX DATA", dataOn(early, customerMail("during", "support@example.test", "")))
	fresh := dialSMTP(t, g.Addr("smtp"))
	if err := fresh.Mail("carla@customer.test", nil); err != nil {
		t.Fatalf("MAIL while PostgreSQL is down: %v", err)
	}
	wantUnavailable(t, "MX RCPT", fresh.Rcpt("support@example.test", nil))
	wantUnavailable(t, "submission DATA", dataOn(agent, crlf(muttReplyToCarla)))
	_, err = imapc.Select("Queues/Support", nil).Wait()
	wantIMAPUnavailable(t, "SELECT", err)
	late := loginIMAP(t, g.Addr("imap"), "alice@example.test") // logins need no database
	_, err = late.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
	wantIMAPUnavailable(t, "STATUS on a new connection", err)
	_, err = late.List("", "*", nil).Collect()
	wantIMAPUnavailable(t, "LIST", err)
	_, err = selected.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{}}}).Collect()
	wantIMAPUnavailable(t, "FETCH BODY[]", err)
	_, err = selected.Search(&imap.SearchCriteria{Body: []string{"where"}}, nil).Wait()
	wantIMAPUnavailable(t, "SEARCH BODY", err)
	_, err = selected.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Collect()
	wantIMAPUnavailable(t, "STORE +FLAGS", err)
	if code, body := readyz(t, g); code != http.StatusServiceUnavailable || !strings.Contains(body, "store.dsn") {
		t.Errorf("/readyz while PostgreSQL is down: %d %q, want 503 naming store.dsn", code, body)
	}

	pg.Start(t)
	waitFor(t, "/readyz after PostgreSQL is back", func() bool { code, _ := readyz(t, g); return code == http.StatusOK })
	sendRawMX(t, g, "carla@customer.test", "support@example.test", customerMail("after", "support@example.test", ""))
	acked := []string{"before@customer.test", "after@customer.test"}
	for _, l := range loads {
		close(l.resume)
		l.waitAcked(t)
		acked = append(acked, l.end()...)
	}
	stored := messageIDs(t, imapc, "Queues/Support")
	t.Logf("%d messages answered 250 through the stop and start, %d stored", len(acked), len(stored))
	for _, id := range acked {
		if !slices.Contains(stored, id) {
			t.Errorf("<%s> was answered 250 but is not in Queues/Support after the restart", id)
		}
	}
	if slices.Contains(stored, "during@customer.test") {
		t.Errorf("<during@customer.test>, answered 451, is in Queues/Support")
	}
	if got := scrapeMetrics(t, g).value("mxdesk_store_commit_errors_total"); got < 1 {
		t.Errorf("mxdesk_store_commit_errors_total = %v after failed commits, want at least 1", got)
	}
	if !strings.Contains(logs.String(), "store.dsn") {
		t.Errorf("no log line names store.dsn:\n%s", logs)
	}
}

// mxLoad sends customers' mail through the MX, one message after the
// other on one connection, until stopped, and remembers which were
// answered 250. After a 451 it waits for resume, as a sending server
// keeps a deferred message for a later try.
type mxLoad struct {
	acked    chan string // the Message-ID of each message answered 250
	deferred chan struct{}
	resume   chan struct{}
	stop     chan struct{}
	done     chan struct{}
	ids      []string // every acked Message-ID, once done
}

func startMXLoad(t *testing.T, addr, name string) *mxLoad {
	l := &mxLoad{acked: make(chan string, 1024), deferred: make(chan struct{}, 1), resume: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	c := dialSMTP(t, addr)
	go func() {
		defer close(l.done)
		for n := 0; ; n++ {
			select {
			case <-l.stop:
				return
			default:
			}
			id := fmt.Sprintf("%s-%d", name, n)
			err := sendOn(c, "support@example.test", id)
			var se *smtp.SMTPError
			switch {
			case err == nil:
				l.acked <- id + "@customer.test"
			case errors.As(err, &se) && se.Code == 451:
				if err := c.Reset(); err != nil {
					t.Errorf("RSET after a 451: %v", err)
					return
				}
				select {
				case l.deferred <- struct{}{}:
				default:
				}
				select {
				case <-l.resume:
				case <-l.stop:
					return
				}
			default:
				t.Errorf("message %s while PostgreSQL stops and starts: %v, want 250 or 451", id, err)
				return
			}
		}
	}()
	return l
}

// waitAcked waits until one more message was answered 250.
func (l *mxLoad) waitAcked(t *testing.T) {
	t.Helper()
	select {
	case id := <-l.acked:
		l.ids = append(l.ids, id)
	case <-l.done:
		t.Fatal("the load stopped")
	case <-time.After(30 * time.Second):
		t.Fatal("no message answered 250 within 30 s")
	}
}

// waitDeferred waits until a message was answered 451, keeping what was
// answered 250 meanwhile.
func (l *mxLoad) waitDeferred(t *testing.T) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case id := <-l.acked:
			l.ids = append(l.ids, id)
		case <-l.deferred:
			return
		case <-l.done:
			t.Fatal("the load stopped")
		case <-deadline:
			t.Fatal("no message answered 451 within 30 s")
		}
	}
}

// end stops the load and returns every Message-ID answered 250.
func (l *mxLoad) end() []string {
	close(l.stop)
	<-l.done
	close(l.acked)
	for id := range l.acked {
		l.ids = append(l.ids, id)
	}
	return l.ids
}

// dataOn sends raw as the DATA of c's open transaction and returns the
// reply's error.
func dataOn(c *smtp.Client, raw string) error {
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, raw); err != nil {
		return err
	}
	return w.Close()
}

// A database out of reach at start fails New (serve exits 1, to be
// restarted) naming store.dsn, never the DSN's password.
func TestPostgresUnreachableAtStart(t *testing.T) {
	cfg := testutil.Config(t, "")
	cfg.Store.Backend, cfg.Store.DSN = config.BackendPostgres, "postgres://mxdesk:hunter2@127.0.0.1:1/mxdesk"
	g, err := gateway.New(cfg, quietLog())
	if err == nil {
		g.Close()
		t.Fatal("New with an unreachable database succeeded")
	}
	if !strings.HasPrefix(err.Error(), "store.dsn: ") || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("New with an unreachable database: %v, want an error naming store.dsn without the password", err)
	}
}

// A database whose commits are not durable (synchronous_commit = off)
// is served, with a warning naming store.dsn at start: a crash of the
// database could lose mail answered 250. The default says nothing.
func TestPostgresNotDurableWarned(t *testing.T) {
	cfg := testutil.Config(t, "")
	usePostgres(t, cfg)
	const warning = "store.dsn: the database's commits are not durable"
	start := func() string {
		logs := &testutil.SyncBuffer{}
		g, err := gateway.New(cfg, slog.New(slog.NewTextHandler(logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Close(); err != nil {
			t.Fatal(err)
		}
		return logs.String()
	}
	if logs := start(); strings.Contains(logs, warning) {
		t.Errorf("the default synchronous_commit warned:\n%s", logs)
	}
	conn, err := pgx.Connect(context.Background(), cfg.Store.DSN)
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(context.Background(), "ALTER DATABASE "+conn.Config().Database+" SET synchronous_commit = off")
	conn.Close(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if logs := start(); !strings.Contains(logs, warning) || !strings.Contains(logs, "synchronous_commit is off") {
		t.Errorf("synchronous_commit = off: no warning naming store.dsn and synchronous_commit:\n%s", logs)
	}
}
