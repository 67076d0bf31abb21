package gateway_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mxdesk/config"
	"mxdesk/gateway"
	"mxdesk/testutil"
)

// reloadBase is a deployment with one queue and one agent; tests append
// to it and write it to a file, which Reload reads again.
const reloadBase = `
hostname = "mx.example.test"
data_dir = %q
[tls]
insecure_auth = true
%s
[inbound]
resolver = "127.0.0.1:1"
[listen]
smtp = "127.0.0.1:0"
submission = "127.0.0.1:0"
imap = "127.0.0.1:0"
http = "127.0.0.1:0"
[[domain]]
name = "example.test"
[[queue]]
name = "Support"
addresses = ["support@example.test"]
[[agent]]
login = "alice@example.test"
name = "Alice Rossi"
password_hash = %q
queues = ["Support"]
`

// returnsQueue adds a queue, an agent who serves it, and gives it to
// alice too.
const returnsQueue = `
[[queue]]
name = "Returns"
addresses = ["returns@example.test"]
[[agent]]
login = "erin@example.test"
name = "Erin Blom"
password_hash = %q
queues = ["Returns"]
`

// reloadEnv is a running gateway started from a file the test rewrites.
type reloadEnv struct {
	g       *gateway.Gateway
	path    string
	dataDir string
	tls     string // TOML lines of [tls] besides insecure_auth
}

func startFromFile(t *testing.T) *reloadEnv { return startWithTLS(t, "") }

// startWithTLS is startFromFile with tls lines in [tls].
func startWithTLS(t *testing.T, tls string) *reloadEnv { return startFromFileWith(t, tls, "") }

// startFromFileWith is startWithTLS with extra TOML after the base.
func startFromFileWith(t *testing.T, tls, extra string) *reloadEnv {
	t.Helper()
	dir := t.TempDir()
	e := &reloadEnv{path: filepath.Join(dir, "mxdesk.toml"), dataDir: filepath.Join(dir, "data"), tls: tls}
	e.write(t, extra)
	cfg, err := config.Load(e.path)
	if err != nil {
		t.Fatal(err)
	}
	e.g, err = gateway.New(cfg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.g.Start(); err != nil {
		e.g.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.g.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return e
}

// write puts the base configuration plus extra in the file.
func (e *reloadEnv) write(t *testing.T, extra string) {
	t.Helper()
	text := fmt.Sprintf(reloadBase, e.dataDir, e.tls, testutil.PasswordHash()) + extra
	if err := os.WriteFile(e.path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// sendOn sends a message to rcpt on an open SMTP connection.
func sendOn(c *smtp.Client, rcpt, id string) error {
	msg := "From: carla@customer.test\r\nTo: " + rcpt + "\r\nSubject: order " + id + "\r\nMessage-ID: <" + id + "@customer.test>\r\n\r\nhello\r\n"
	return c.SendMail("carla@customer.test", []string{rcpt}, strings.NewReader(msg))
}

func dialSMTP(t *testing.T, addr string) *smtp.Client {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Hello("client.customer.test"); err != nil {
		t.Fatal(err)
	}
	return c
}

func loginIMAP(t *testing.T, addr, login string) *imapclient.Client {
	t.Helper()
	c, err := loginIMAPAs(t, addr, login, testutil.Password)
	if err != nil {
		t.Fatalf("LOGIN %s: %v", login, err)
	}
	return c
}

// loginIMAPAs connects and logs in with password; the connection closes
// when the test ends.
func loginIMAPAs(t *testing.T, addr, login, password string) (*imapclient.Client, error) {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, c.Login(login, password).Wait()
}

func countIn(t *testing.T, c *imapclient.Client, folder string) uint32 {
	t.Helper()
	sel, err := c.Select(folder, nil).Wait()
	if err != nil {
		t.Fatalf("SELECT %s: %v", folder, err)
	}
	return sel.NumMessages
}

// TestReloadAddsQueue: a new queue, its address and a new agent apply
// without a restart, and connections opened before the reload keep
// working through it.
func TestReloadAddsQueue(t *testing.T) {
	e := startFromFile(t)
	oldSMTP := dialSMTP(t, e.g.Addr("smtp"))
	oldIMAP := loginIMAP(t, e.g.Addr("imap"), "alice@example.test")
	if _, err := oldIMAP.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	var smtpErr *smtp.SMTPError
	if err := sendOn(oldSMTP, "returns@example.test", "before"); !errors.As(err, &smtpErr) || smtpErr.Code != 550 {
		t.Fatalf("mail to returns@ before the reload: %v, want 550", err)
	}

	e.write(t, fmt.Sprintf(returnsQueue, testutil.PasswordHash()))
	res, err := e.g.Reload("")
	if err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if len(res.Restart) != 0 || res.Path != e.path {
		t.Errorf("Reload = %+v, want path %s and nothing needing a restart", res, e.path)
	}

	if err := sendOn(oldSMTP, "returns@example.test", "old-conn"); err != nil {
		t.Fatalf("mail to the new address on the connection opened before the reload: %v", err)
	}
	if err := sendOn(dialSMTP(t, e.g.Addr("smtp")), "returns@example.test", "new-conn"); err != nil {
		t.Fatalf("mail to the new address on a new connection: %v", err)
	}
	if err := oldIMAP.Noop().Wait(); err != nil {
		t.Fatalf("NOOP on the IMAP connection opened before the reload: %v", err)
	}
	if n := countIn(t, oldIMAP, "Queues/Support"); n != 0 {
		t.Errorf("Queues/Support holds %d, want 0", n)
	}
	erin := loginIMAP(t, e.g.Addr("imap"), "erin@example.test")
	if n := countIn(t, erin, "Queues/Returns"); n != 2 {
		t.Errorf("Queues/Returns holds %d messages for the new agent, want 2", n)
	}
}

// TestReloadEndsChangedLogins: a reload that changes an agent's queues
// ends the agent's IMAP connections and makes its submission connection
// log in again, so nobody keeps seeing a queue taken away; agents whose
// entry did not change keep their connections.
func TestReloadEndsChangedLogins(t *testing.T) {
	e := startFromFile(t)
	e.write(t, fmt.Sprintf(returnsQueue, testutil.PasswordHash()))
	if _, err := e.g.Reload(""); err != nil {
		t.Fatal(err)
	}
	alice := loginIMAP(t, e.g.Addr("imap"), "alice@example.test")
	erin := loginIMAP(t, e.g.Addr("imap"), "erin@example.test")
	aliceSubmit := dialSMTP(t, e.g.Addr("submission"))
	if err := aliceSubmit.Auth(sasl.NewPlainClient("", "alice@example.test", testutil.Password)); err != nil {
		t.Fatal(err)
	}

	// Alice moves from Support to Returns.
	text, err := os.ReadFile(e.path)
	if err != nil {
		t.Fatal(err)
	}
	moved := strings.Replace(string(text), `queues = ["Support"]`, `queues = ["Returns"]`, 1)
	if err := os.WriteFile(e.path, []byte(moved), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := e.g.Reload(""); err != nil {
		t.Fatal(err)
	}

	select {
	case <-alice.Closed():
	case <-time.After(30 * time.Second):
		t.Fatal("alice's IMAP connection still open after her queues changed")
	}
	if err := erin.Noop().Wait(); err != nil {
		t.Errorf("erin's connection (entry unchanged) after the reload: %v", err)
	}
	var smtpErr *smtp.SMTPError
	if err := aliceSubmit.Mail("alice@example.test", nil); !errors.As(err, &smtpErr) || smtpErr.Code != 421 {
		t.Errorf("MAIL on alice's submission connection after the reload: %v, want 421", err)
	}
	again := loginIMAP(t, e.g.Addr("imap"), "alice@example.test")
	folders, err := again.List("", "Queues/*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range folders {
		names = append(names, f.Mailbox)
	}
	if !slices.Equal(names, []string{"Queues/Returns", "Queues/Returns/Transfers"}) {
		t.Errorf("alice's queue folders after logging in again: %v, want [Queues/Returns Queues/Returns/Transfers]", names)
	}
}

// TestReloadEndsSupervisorStream: a supervisor made a plain agent by a
// reload loses the live page at once (the browser reconnects and is
// refused), and the page of one who stays sees the new queue.
func TestReloadEndsSupervisorStream(t *testing.T) {
	e := startFromFile(t)
	supervisors := `
[[agent]]
login = "sam@example.test"
name = "Sam Berg"
password_hash = %[1]q
queues = ["Support"]
role = "supervisor"
[[agent]]
login = "sue@example.test"
name = "Sue Lind"
password_hash = %[1]q
queues = ["Support"]
role = "supervisor"
`
	e.write(t, fmt.Sprintf(supervisors, testutil.PasswordHash()))
	if _, err := e.g.Reload(""); err != nil {
		t.Fatal(err)
	}
	open := func(login string) <-chan gateway.SupervisorView {
		resp := supervisorGet(t, t.Context(), e.g, "/supervisor/events", login, testutil.Password)
		t.Cleanup(func() { resp.Body.Close() })
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %s", login, resp.Status)
		}
		snaps := readSnapshots(t, resp.Body)
		nextSnapshot(t, snaps, "a first snapshot", func(gateway.SupervisorView) bool { return true })
		return snaps
	}
	sam, sue := open("sam@example.test"), open("sue@example.test")

	demoted := strings.Replace(supervisors, `role = "supervisor"`, `role = "agent"`, 1)
	e.write(t, fmt.Sprintf(demoted, testutil.PasswordHash())+fmt.Sprintf(returnsQueue, testutil.PasswordHash()))
	if _, err := e.g.Reload(""); err != nil {
		t.Fatal(err)
	}
	nextSnapshot(t, sue, "the new queue", func(v gateway.SupervisorView) bool {
		return slices.ContainsFunc(v.Queues, func(q gateway.SupervisorQueue) bool { return q.Name == "Returns" })
	})
	timeout := time.After(15 * time.Second)
	for ended := false; !ended; {
		select {
		case _, more := <-sam:
			ended = !more
		case <-timeout:
			t.Fatal("the demoted supervisor's stream still runs")
		}
	}
	resp := supervisorGet(t, t.Context(), e.g, "/supervisor/events", "sam@example.test", testutil.Password)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("sam reconnecting: %s, want 403", resp.Status)
	}
}

// TestReloadRejectsBadFile: a syntax error or a validation error keeps
// the running configuration and says why, naming the key.
func TestReloadRejectsBadFile(t *testing.T) {
	e := startFromFile(t)
	e.write(t, fmt.Sprintf(returnsQueue, testutil.PasswordHash()))
	if _, err := e.g.Reload(""); err != nil {
		t.Fatal(err)
	}
	running := e.g.Router().Config()
	for _, tc := range []struct{ name, extra, want string }{
		{"syntax", "[[queue]\nname = \"Broken\"\n", "mxdesk.toml:"},
		{"validation", "[[agent]]\nlogin = \"zed@example.test\"\nname = \"Zed\"\npassword_hash = \"x\"\nqueues = [\"Nope\"]\n", "agent[2]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.write(t, fmt.Sprintf(returnsQueue, testutil.PasswordHash())+tc.extra)
			_, err := e.g.Reload("")
			var verrs config.ValidationErrors
			if !errors.As(err, &verrs) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Reload of a bad file: %v, want validation errors mentioning %q", err, tc.want)
			}
			if e.g.Router().Config() != running {
				t.Error("the configuration in force changed")
			}
			if err := sendOn(dialSMTP(t, e.g.Addr("smtp")), "returns@example.test", "after-"+tc.name); err != nil {
				t.Errorf("mail to returns@ after the failed reload: %v", err)
			}
		})
	}
	t.Run("admin socket", func(t *testing.T) {
		resp := postReload(t, e.g)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(body), "agent[2]") {
			t.Errorf("POST /v1/reload with a bad file: %s %s, want 422 naming agent[2]", resp.Status, body)
		}
	})
}

// postReload is POST /v1/reload on the gateway's admin socket.
func postReload(t *testing.T, g *gateway.Gateway) *http.Response {
	t.Helper()
	sock := gateway.AdminSocket(g.Router().Config())
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	resp, err := hc.Post("http://mxdesk/v1/reload", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestReloadRestartKeys: keys only a restart applies are reported and
// keep their running values; the rest applies.
func TestReloadRestartKeys(t *testing.T) {
	e := startFromFile(t)
	text, err := os.ReadFile(e.path)
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.NewReplacer(`hostname = "mx.example.test"`, `hostname = "mx2.example.test"`,
		`http = "127.0.0.1:0"`, `http = "127.0.0.1:1"`).Replace(string(text)) +
		"[smtp]\nmax_recipients = 7\n[limits]\nlogin_lock_after = 3\nconnections_per_ip = 1\n[sessions]\nactive_to_paused_days = 3\n" +
		"[crm]\nworkers = 2\n[archive]\ninterval = \"2h\"\nmax_sessions_per_run = 9\n" +
		fmt.Sprintf("[campaign]\nlink_base_url = \"https://desk2.example.test\"\nsecret_file = %q\n", campaignSecretFile(t))
	if err := os.WriteFile(e.path, []byte(changed), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := e.g.Reload("")
	if err != nil {
		t.Fatal(err)
	}
	want := "hostname listen.http smtp.max_recipients crm.workers campaign.link_base_url campaign.secret_file archive.interval"
	if got := strings.Join(res.Restart, " "); got != want {
		t.Errorf("restart keys %q, want %q", got, want)
	}
	cfg := e.g.Router().Config()
	if cfg.Hostname != "mx.example.test" || cfg.Listen.HTTP != "127.0.0.1:0" || cfg.SMTP.MaxRecipients != config.DefaultMaxRecipients {
		t.Errorf("restart-only keys in force: hostname %q listen.http %q smtp.max_recipients %d, want the running values",
			cfg.Hostname, cfg.Listen.HTTP, cfg.SMTP.MaxRecipients)
	}
	if cfg.Limits.LoginLockAfter != 3 || cfg.Sessions.ActiveToPausedDays != 3 {
		t.Errorf("live keys: login_lock_after %d active_to_paused_days %d, want 3 and 3", cfg.Limits.LoginLockAfter, cfg.Sessions.ActiveToPausedDays)
	}
	if cfg.CRM.Workers == 2 || cfg.Archive.Interval.Duration == 2*time.Hour || cfg.Archive.MaxSessionsPerRun != 9 {
		t.Errorf("crm.workers %d archive.interval %s archive.max_sessions_per_run %d: want the running workers and interval, the new bound",
			cfg.CRM.Workers, cfg.Archive.Interval.Duration, cfg.Archive.MaxSessionsPerRun)
	}
	if cfg.Campaign.LinkBaseURL == "https://desk2.example.test" {
		t.Errorf("campaign.link_base_url %q in force before a restart", cfg.Campaign.LinkBaseURL)
	}
	// connections_per_ip = 1 is in force: a second connection is refused.
	dialSMTP(t, e.g.Addr("smtp"))
	c, err := smtp.Dial(e.g.Addr("smtp"))
	if err == nil {
		err = c.Hello("client.customer.test") // reads the greeting
		c.Close()
	}
	if err == nil {
		t.Error("a second connection was accepted under connections_per_ip = 1")
	}
}

// TestReloadCertificatePaths: new tls.cert and tls.key paths apply on
// reload: new connections get the new certificate.
func TestReloadCertificatePaths(t *testing.T) {
	cert, key := testutil.TLSFiles(t, t.TempDir())
	e := startWithTLS(t, fmt.Sprintf("cert = %q\nkey = %q\n", cert, key))
	served := func() []byte {
		t.Helper()
		var peer []byte
		c, err := smtp.DialStartTLS(e.g.Addr("smtp"), &tls.Config{InsecureSkipVerify: true, VerifyConnection: func(cs tls.ConnectionState) error {
			peer = cs.PeerCertificates[0].Raw
			return nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Noop(); err != nil { // the handshake happens with the first command
			t.Fatal(err)
		}
		if peer == nil {
			t.Fatal("no certificate served")
		}
		return peer
	}
	first := served()
	cert2, key2 := testutil.TLSFiles(t, t.TempDir())
	e.tls = fmt.Sprintf("cert = %q\nkey = %q\n", cert2, key2)
	e.write(t, "")
	res, err := e.g.Reload("")
	if err != nil || len(res.Restart) != 0 {
		t.Fatalf("Reload = %+v, %v; want no error and nothing needing a restart", res, err)
	}
	if bytes.Equal(served(), first) {
		t.Error("the old certificate is still served after a reload with new paths")
	}
}
