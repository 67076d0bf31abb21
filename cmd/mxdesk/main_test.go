package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mxdesk/passwd"
)

// runCmd runs mxdesk with args and stdin, and returns status and output.
func runCmd(t *testing.T, stdin string, args ...string) (status int, stdout, stderr string) {
	t.Helper()
	var out, errOut strings.Builder
	status = dispatch(args, stdio{in: strings.NewReader(stdin), out: &out, err: &errOut})
	return status, out.String(), errOut.String()
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		status, out, _ := runCmd(t, "", args...)
		if status != 0 {
			t.Errorf("%v: status %d", args, status)
		}
		for _, c := range []string{"serve", "check-config", "hash-password", "session", "bench", "help"} {
			if !strings.Contains(out, "\n  "+c+" ") {
				t.Errorf("%v: usage does not list %s:\n%s", args, c, out)
			}
		}
	}
	if status, _, errOut := runCmd(t, ""); status != 2 || !strings.Contains(errOut, "Commands:") {
		t.Errorf("no arguments: status %d, stderr %q", status, errOut)
	}
	if status, _, errOut := runCmd(t, "", "frobnicate"); status != 2 || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: status %d, stderr %q", status, errOut)
	}
}

func TestSubcommandHelp(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"check-config", "--help"}, []string{"Usage: mxdesk check-config", "-config FILE"}},
		{[]string{"hash-password", "-h"}, []string{"Usage: mxdesk hash-password", "-algorithm"}},
		{[]string{"help", "check-config"}, []string{"Usage: mxdesk check-config"}},
	}
	for _, tt := range tests {
		status, out, _ := runCmd(t, "", tt.args...)
		if status != 0 {
			t.Errorf("%v: status %d", tt.args, status)
		}
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: output lacks %q:\n%s", tt.args, w, out)
			}
		}
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"check-config", "--nope"},
		{"check-config"},
		{"check-config", "--config", "x.toml", "extra"},
		{"hash-password", "--algorithm", "md5"},
	} {
		if status, _, errOut := runCmd(t, "pw\n", args...); status != 2 || errOut == "" {
			t.Errorf("%v: status %d, stderr %q; want 2 and a message", args, status, errOut)
		}
	}
}

// goodConfig is a minimal valid configuration.
const goodConfig = `data_dir = "/var/lib/mxdesk"
hostname = "mx.example.test"

[listen]
submission = ""

[[domain]]
name = "example.test"

[[queue]]
name = "Support"
addresses = ["support@example.test"]

[[agent]]
login = "alice@example.test"
password_hash = "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
queues = ["Support"]
`

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mxdesk.toml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCheckConfigOK(t *testing.T) {
	path := writeFile(t, goodConfig)
	status, out, errOut := runCmd(t, "", "check-config", "--config", path)
	if status != 0 {
		t.Fatalf("status %d, stderr:\n%s", status, errOut)
	}
	for _, w := range []string{path + ": OK\n", "example.test", "Support <support@example.test>", "1 (agent 1)", "smtp 0.0.0.0:25, imap 0.0.0.0:143, http 127.0.0.1:8080"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

func TestCheckConfigErrors(t *testing.T) {
	bad := strings.NewReplacer(`data_dir = "/var/lib/mxdesk"`, "", `queues = ["Support"]`, `queues = ["Sales"]`).Replace(goodConfig)
	path := writeFile(t, bad)
	status, out, errOut := runCmd(t, "", "check-config", "--config", path)
	if status != 1 {
		t.Fatalf("status %d, want 1", status)
	}
	if out != "" {
		t.Errorf("stdout = %q, want nothing", out)
	}
	for _, w := range []string{path + ": data_dir: required", path + `:17: agent[0].queues: unknown queue "Sales"`, "2 problems"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr lacks %q:\n%s", w, errOut)
		}
	}
	status, _, errOut = runCmd(t, "", "check-config", "--config", filepath.Join(t.TempDir(), "none.toml"))
	if status != 1 || !strings.Contains(errOut, "none.toml: cannot read") {
		t.Errorf("missing file: status %d, stderr %q", status, errOut)
	}
}

// Hashing is slow on purpose, so one run per algorithm; TestReadPassword
// covers the ways a password arrives on stdin.
func TestHashPassword(t *testing.T) {
	for _, alg := range []string{"bcrypt", "argon2id"} {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			status, out, errOut := runCmd(t, "s3cret pass\n", "hash-password", "--algorithm", alg)
			if status != 0 {
				t.Fatalf("status %d, stderr %q", status, errOut)
			}
			h := strings.TrimSuffix(out, "\n")
			if strings.Contains(h, "\n") || passwd.Check(h) != nil || !strings.HasPrefix(h, map[string]string{"bcrypt": "$2a$10$", "argon2id": "$argon2id$"}[alg]) {
				t.Fatalf("stdout %q is not one %s hash", out, alg)
			}
			if !passwd.Verify(h, "s3cret pass") {
				t.Errorf("hash %q does not verify the password", h)
			}
		})
	}
}

func TestReadPassword(t *testing.T) {
	tests := []struct{ stdin, want string }{
		{"s3cret pass\n", "s3cret pass"},
		{"s3cret\r\nignored\n", "s3cret"},
		{"s3cret", "s3cret"},
		{" spaces kept \n", " spaces kept "},
		{"\n", ""},
	}
	for _, tt := range tests {
		got, err := readPassword(stdio{in: strings.NewReader(tt.stdin)})
		if err != nil || got != tt.want {
			t.Errorf("readPassword(%q) = %q, %v; want %q", tt.stdin, got, err, tt.want)
		}
	}
}

func TestHashPasswordRefusesEmpty(t *testing.T) {
	for _, stdin := range []string{"", "\n", "\r\n"} {
		status, out, errOut := runCmd(t, stdin, "hash-password")
		if status != 1 || out != "" || errOut == "" {
			t.Errorf("stdin %q: status %d, stdout %q, stderr %q", stdin, status, out, errOut)
		}
	}
}

// TestSubcommands: a command with subcommands prints its usage for help
// (exit 0), and names an unknown or missing subcommand (exit 2).
func TestSubcommands(t *testing.T) {
	for _, cmd := range []string{"session", "agent", "quarantine", "crm", "archive", "account"} {
		if status, out, _ := runCmd(t, "", cmd, "help"); status != 0 || !strings.Contains(out, "mxdesk "+cmd) {
			t.Errorf("%s help: status %d, output %q", cmd, status, out)
		}
		if status, _, errOut := runCmd(t, "", cmd, "frob"); status != 2 || !strings.Contains(errOut, "mxdesk "+cmd+`: unknown subcommand "frob"`) {
			t.Errorf("%s frob: status %d, stderr %q", cmd, status, errOut)
		}
		if status, _, errOut := runCmd(t, "", cmd); status != 2 || !strings.Contains(errOut, "mxdesk "+cmd) {
			t.Errorf("%s alone: status %d, stderr %q", cmd, status, errOut)
		}
	}
}
