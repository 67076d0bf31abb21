package gateway_test

import (
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-sasl"
	"golang.org/x/crypto/bcrypt"

	"mxdesk/gateway"
	"mxdesk/testutil"
)

// Known secrets and a known body that must never reach the log.
const (
	canaryPassword = "Pw-canary-91f3c0d2"
	canaryWrong    = "Wrong-canary-5e7a11b4"
	canaryBody     = "Body-canary-0c44e9aa"
)

// TestLogsHoldNoSecrets runs logins (IMAP LOGIN, SMTP AUTH PLAIN and
// LOGIN, right and wrong) and messages with a known body (inbound,
// submitted, fetched) through a gateway logging JSON at debug level: every
// line parses, the mail lines carry session, queue and remote, and no
// password, AUTH payload or body text appears.
func TestLogsHoldNoSecrets(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte(canaryPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testutil.Config(t, `
[[agent]]
login = "dan@example.test"
name = "Dan Ek"
password_hash = "`+string(hash)+`"
queues = ["Support"]
`)
	cfg.Listen.Submission = "127.0.0.1:0"
	cfg.Delivery.Resolver = "127.0.0.1:1" // the reply's delivery fails fast, off the network
	out := &testutil.SyncBuffer{}
	g, err := gateway.New(cfg, slog.New(slog.NewJSONHandler(out, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		g.Close()
		t.Fatal(err)
	}
	exerciseLogins(t, g)
	exerciseMail(t, g)
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	checkLog(t, out.String())
}

func exerciseLogins(t *testing.T, g *gateway.Gateway) {
	if _, err := loginIMAPAs(t, g.Addr("imap"), "dan@example.test", canaryWrong); err == nil {
		t.Error("IMAP LOGIN with a wrong password succeeded")
	}
	for _, auth := range []sasl.Client{
		sasl.NewPlainClient("", "dan@example.test", canaryWrong),
		sasl.NewLoginClient("dan@example.test", canaryWrong),
	} {
		if err := dialSMTP(t, g.Addr("submission")).Auth(auth); err == nil {
			t.Error("AUTH with a wrong password succeeded")
		}
	}
}

func exerciseMail(t *testing.T, g *gateway.Gateway) {
	mx := dialSMTP(t, g.Addr("smtp"))
	msg := "From: carla@customer.test\r\nSubject: hello\r\nMessage-ID: <log-1@customer.test>\r\n\r\n" + canaryBody + "\r\n"
	if err := mx.SendMail("carla@customer.test", []string{"support@example.test"}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	imapc, err := loginIMAPAs(t, g.Addr("imap"), "dan@example.test", canaryPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := imapc.Select("Queues/Support", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := imapc.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{}}}).Collect(); err != nil {
		t.Fatal(err)
	}
	sub := dialSMTP(t, g.Addr("submission"))
	if err := sub.Auth(sasl.NewPlainClient("", "dan@example.test", canaryPassword)); err != nil {
		t.Fatal(err)
	}
	reply := "From: dan@example.test\r\nTo: carla@customer.test\r\nSubject: Re: hello\r\nIn-Reply-To: <log-1@customer.test>\r\n\r\nreply " + canaryBody + "\r\n"
	if err := sub.SendMail("dan@example.test", []string{"carla@customer.test"}, strings.NewReader(reply)); err != nil {
		t.Fatal(err)
	}
}

// checkLog parses every line and looks for what must and must not be in
// the log.
func checkLog(t *testing.T, log string) {
	t.Helper()
	plain := base64.StdEncoding.EncodeToString([]byte("\x00dan@example.test\x00" + canaryPassword))
	for _, bad := range []string{canaryPassword, canaryWrong, canaryBody, plain,
		base64.StdEncoding.EncodeToString([]byte(canaryPassword)), base64.StdEncoding.EncodeToString([]byte(canaryWrong))} {
		if strings.Contains(log, bad) {
			t.Errorf("the log holds %q:\n%s", bad, log)
		}
	}
	seen := map[string]map[string]any{}
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON (%v): %s", err, line)
		}
		seen[rec["msg"].(string)] = rec
	}
	for _, msg := range []string{"received", "submitted"} {
		rec := seen[msg]
		for _, attr := range []string{"session", "queue", "remote"} {
			if v, _ := rec[attr].(string); v == "" {
				t.Errorf("%q line without %s: %v", msg, attr, rec)
			}
		}
	}
	if seen["auth failed"] == nil || seen["login failed"] == nil {
		t.Errorf("no \"auth failed\" or \"login failed\" line:\n%s", log)
	}
}
