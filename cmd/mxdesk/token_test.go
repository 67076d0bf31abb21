package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestTokenCommands: token create prints the token alone on its last
// line, offline (on the store) and online (over the admin socket); the
// token opens the running server's API; list shows names and roles but
// no secret; revoke closes the API to it at once; a taken name, a bad
// role and a bad expiry are refused.
func TestTokenCommands(t *testing.T) {
	path, cfg := sessionConfig(t)
	if err := startServer(t, cfg).Close(); err != nil { // a store to create the first token in
		t.Fatal(err)
	}
	status, out, errOut := runCmd(t, "", "token", "create", "--name", "crm", "--role", "integrator", "--config", path)
	if status != 0 {
		t.Fatalf("token create offline: status %d, stderr %q", status, errOut)
	}
	offline := lastLine(out)
	if !tokenLine.MatchString(offline) {
		t.Fatalf("token create printed %q", out)
	}

	g := startServer(t, cfg)
	status, out, errOut = runCmd(t, "", "token", "create", "--name", "boss", "--role", "supervisor", "--expires", "720h", "--config", path)
	if status != 0 || !strings.Contains(out, "role supervisor, expires 20") {
		t.Fatalf("token create online: status %d, stderr %q, out %q", status, errOut, out)
	}
	online := lastLine(out)
	if !tokenLine.MatchString(online) {
		t.Fatalf("token create online printed %q", out)
	}
	for token, want := range map[string]int{offline: http.StatusOK, online: http.StatusOK, "mxd_wrong": http.StatusUnauthorized} {
		if got := apiStatus(t, g.Addr("http"), token); got != want {
			t.Errorf("GET /api/v1/sessions with %.8s…: %d, want %d", token, got, want)
		}
	}

	status, out, _ = runCmd(t, "", "token", "list", "--config", path)
	if status != 0 || !strings.Contains(out, "boss  supervisor") || !strings.Contains(out, "crm   integrator") ||
		strings.Contains(out, offline) || strings.Contains(out, online) {
		t.Errorf("token list: status %d:\n%s", status, out)
	}
	if status, out, _ = runCmd(t, "", "token", "revoke", "crm", "--config", path); status != 0 || !strings.Contains(out, "crm revoked") {
		t.Errorf("token revoke: status %d %q", status, out)
	}
	if got := apiStatus(t, g.Addr("http"), offline); got != http.StatusUnauthorized {
		t.Errorf("a revoked token: %d, want 401", got)
	}
	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"--name", "boss", "--role", "admin"}, 1, `an API token called "boss" exists`},
		{[]string{"--name", "x", "--role", "root"}, 1, `role "root": want integrator, supervisor or admin`},
		{[]string{"--name", "x", "--role", "admin", "--expires", "soon"}, 2, "want a duration (720h)"},
		{[]string{"--role", "admin"}, 2, "--name"},
	} {
		status, _, errOut := runCmd(t, "", append([]string{"token", "create", "--config", path}, tc.args...)...)
		if status != tc.code || !strings.Contains(errOut, tc.says) {
			t.Errorf("token create %v: status %d, stderr %q; want %d saying %q", tc.args, status, errOut, tc.code, tc.says)
		}
	}
	if status, _, errOut := runCmd(t, "", "token", "revoke", "nobody", "--config", path); status != 1 || !strings.Contains(errOut, `no API token called "nobody"`) {
		t.Errorf("revoke of an unknown token: %d %q", status, errOut)
	}
}

// tokenLine is the last line of token create: the token alone, mxd_ and
// 32 random bytes in unpadded base64url.
var tokenLine = regexp.MustCompile(`^mxd_[A-Za-z0-9_-]{43}$`)

// lastLine is the last line of s, its newline removed.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func apiStatus(t *testing.T, addr, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+addr+"/api/v1/sessions", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestParseExpiry(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	if got, err := parseExpiry("48h", now); err != nil || !got.Equal(now.Add(48*time.Hour)) {
		t.Errorf("48h: %v %v", got, err)
	}
	if got, err := parseExpiry("2027-01-02T03:04:05Z", now); err != nil || got != time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC) {
		t.Errorf("RFC 3339: %v %v", got, err)
	}
	if _, err := parseExpiry("-1h", now); err == nil {
		t.Error("a negative duration is accepted")
	}
	if got, err := parseExpiry("", now); err != nil || !got.IsZero() {
		t.Errorf("empty: %v %v", got, err)
	}
}
