package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpsUsage: the operations commands want their flags, and say what
// is missing.
func TestOpsUsage(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"reload"}, "--config FILE is required"},
		{[]string{"backup", "--config", "x.toml"}, "--out FILE is required"},
		{[]string{"restore", "--config", "x.toml"}, "--in FILE is required"},
		{[]string{"backup", "--out", "b"}, "--config FILE is required"},
		{[]string{"reload", "--config", "x.toml", "extra"}, `unexpected argument "extra"`},
	} {
		if status, _, errOut := runCmd(t, "", tt.args...); status != 2 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: status %d, stderr %q; want 2 and %q", tt.args, status, errOut, tt.want)
		}
	}
	for _, c := range []string{"reload", "backup", "restore"} {
		if status, out, _ := runCmd(t, "", c, "--help"); status != 0 || !strings.Contains(out, "Usage: mxdesk "+c) {
			t.Errorf("%s --help: status %d\n%s", c, status, out)
		}
	}
}

// TestOpsWithoutServer: reload has nothing to reload without a server;
// backup without a store says so; restore refuses a file that is not a
// backup and leaves no store behind.
func TestOpsWithoutServer(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mxdesk.toml")
	cfg := strings.Replace(goodConfig, `data_dir = "/var/lib/mxdesk"`, `data_dir = "`+filepath.Join(dir, "data")+`"`, 1)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if status, _, errOut := runCmd(t, "", "reload", "--config", path); status != 1 || !strings.Contains(errOut, "nothing to reload") {
		t.Errorf("reload without a server: status %d, stderr %q", status, errOut)
	}
	out := filepath.Join(dir, "b.mxb")
	if status, _, errOut := runCmd(t, "", "backup", "--out", out, "--config", path); status != 1 || !strings.Contains(errOut, "no store in data_dir") {
		t.Errorf("backup without a store: status %d, stderr %q", status, errOut)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a failed backup left %s (%v)", out, err)
	}
	junk := filepath.Join(dir, "junk")
	if err := os.WriteFile(junk, []byte("not a backup\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if status, _, errOut := runCmd(t, "", "restore", "--in", junk, "--config", path); status != 1 || !strings.Contains(errOut, "mxdesk-backup") {
		t.Errorf("restore of a file that is not a backup: status %d, stderr %q", status, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "store")); !os.IsNotExist(err) {
		t.Errorf("a failed restore left a store (%v)", err)
	}
}

// TestPrintReload: the server's answers to POST /v1/reload as the command
// prints them.
func TestPrintReload(t *testing.T) {
	answer := func(status int, body string) *http.Response {
		return &http.Response{StatusCode: status, Status: http.StatusText(status), Body: io.NopCloser(strings.NewReader(body))}
	}
	for _, tt := range []struct {
		resp        *http.Response
		status      int
		out, errOut string
	}{
		{answer(200, `{"path":"/etc/mxdesk/mxdesk.toml","restart":["listen.imap"]}`), 0,
			"reloaded /etc/mxdesk/mxdesk.toml\n  listen.imap changed: applies at the next restart\n", ""},
		{answer(422, `{"error":"configuration x is invalid; the running configuration stays in force","problems":["x:3: agent[0].queues: unknown queue \"Sales\""]}`), 1,
			"", "mxdesk reload: configuration x is invalid; the running configuration stays in force\nx:3: agent[0].queues: unknown queue \"Sales\"\n"},
		{answer(500, `oops`), 1, "", "mxdesk reload: Internal Server Error: oops\n"},
	} {
		var out, errOut strings.Builder
		status := printReload(stdio{out: &out, err: &errOut}, tt.resp)
		if status != tt.status || out.String() != tt.out || errOut.String() != tt.errOut {
			t.Errorf("answer %d: status %d\nstdout %q\nstderr %q\nwant %d %q %q", tt.resp.StatusCode, status, out.String(), errOut.String(), tt.status, tt.out, tt.errOut)
		}
	}
}
