package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// demoPorts are the demo's fixed loopback listeners (config/demo.go).
// TestDemoStarts is the only test that uses them, and it does not run in
// parallel, so a port found busy belongs to something outside the tests.
var demoPorts = []string{"127.0.0.1:2525", "127.0.0.1:2587", "127.0.0.1:1143", "127.0.0.1:8080"}

// TestDemoStarts runs `mxdesk serve` with no flags, as a new user would,
// and logs in over IMAP with a login and password it printed.
func TestDemoStarts(t *testing.T) {
	for _, a := range demoPorts {
		checkPortFree(t, a)
	}
	dir := t.TempDir()
	srv := startProc(t, dir, []string{"smtp", "imap", "http"}, "serve")
	out := srv.waitStdout("Stop with Ctrl-C.")
	logins := demoLogins(out)
	if len(logins) != 3 {
		t.Fatalf("demo printed %d logins with passwords, want 3:\n%s", len(logins), out)
	}
	imapAddr := printedIMAPAddr(t, out)
	for login, password := range logins {
		c := loginIMAP(t, imapAddr, login, password)
		if err := c.Logout().Wait(); err != nil {
			t.Errorf("LOGOUT %s: %v", login, err)
		}
	}
	srv.stop()
	if _, err := os.Stat(filepath.Join(dir, "mxdesk-data", "demo.toml")); err != nil {
		t.Errorf("demo data is not in ./mxdesk-data: %v", err)
	}
}

// demoLine matches one row of the demo's login table:
// login, password, role.
var demoLine = regexp.MustCompile(`(?m)^\s+(\S+@\S+)\s+([a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4})\s+(agent|supervisor|admin)\b`)

func demoLogins(stdout string) map[string]string {
	logins := map[string]string{}
	for _, m := range demoLine.FindAllStringSubmatch(stdout, -1) {
		logins[m[1]] = m[2]
	}
	return logins
}

var imapLine = regexp.MustCompile(`(?m)^\s+IMAP\s+(\S+)`)

func printedIMAPAddr(t *testing.T, stdout string) string {
	t.Helper()
	m := imapLine.FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("demo printed no IMAP address:\n%s", stdout)
	}
	return m[1]
}
