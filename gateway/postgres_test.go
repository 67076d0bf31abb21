package gateway_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

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
// comes in over SMTP, alice reads it over IMAP and claims it (Queues/Support
// to Inbox), replies with mutt through submission, and the reply reaches
// the smarthost.
func TestPostgresDesk(t *testing.T) {
	g, snk := gestureDeskWith(t, func(cfg *config.Config) { usePostgres(t, cfg) })
	s := customerWrites(t, g, "support@example.test", carlaWrites)
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

// check-store checks only badger's store for now, and says so naming
// store.backend; backup and restore name PostgreSQL's own tools.
func TestPostgresCheckStoreAndBackupRefused(t *testing.T) {
	cfg := testutil.Config(t, "")
	cfg.Store.Backend, cfg.Store.DSN = config.BackendPostgres, "postgres://mxdesk@127.0.0.1:1/mxdesk"
	if _, err := gateway.CheckStore(cfg, quietLog()); err == nil || !strings.Contains(err.Error(), `store.backend = "postgres"`) {
		t.Errorf("CheckStore with the postgres backend: %v, want an error naming store.backend", err)
	}
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
