package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// withAccount is base plus one [[account]] table holding lines.
func withAccount(t *testing.T, lines ...string) string {
	t.Helper()
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	table := "\n[[account]]\naddress = \"Help@Upstream.example.com\"\nqueue = \"Support\"\nimap = \"imap.upstream.example.com:993\"\nlogin = \"help\"\npassword_file = \"" + pw + "\"\n"
	for _, l := range lines {
		key, _, _ := strings.Cut(l, " =")
		if i := strings.Index(table, "\n"+key+" ="); i >= 0 {
			end := strings.IndexByte(table[i+1:], '\n')
			table = table[:i+1] + table[i+1+end+1:]
		}
		table += l + "\n"
	}
	return base + table
}

func TestAccountDefaults(t *testing.T) {
	c, errs := parse(t, withAccount(t))
	if errs != nil {
		t.Fatal(errs)
	}
	a := c.Account[0]
	if a.Address != "help@upstream.example.com" || a.Folder != "INBOX" || a.IMAPTLS != "implicit" || a.SMTPTLS != "implicit" ||
		a.PollInterval.Duration != time.Minute || a.Timeout.Duration != time.Minute || a.AfterImport != "keep" {
		t.Errorf("defaults: %+v", a)
	}
	if c.AccountByQueue("support") != &c.Account[0] {
		t.Error("AccountByQueue(support) does not find the account")
	}
	if login, pw := a.SMTPCredentials(); login != "help" || pw != a.PasswordFile {
		t.Errorf("SMTP credentials default to the IMAP ones, got %q %q", login, pw)
	}
}

func TestAccountValidation(t *testing.T) {
	tests := []struct {
		name, line, key, msg string
	}{
		{"unknown queue", `queue = "Sales"`, "account[0].queue", `no queue "Sales"`},
		{"no imap", `imap = ""`, "account[0].imap", "required"},
		{"imap without port", `imap = "imap.example.com"`, "account[0].imap", "want host:port"},
		{"bad tls", `imap_tls = "ssl"`, "account[0].imap_tls", `want "implicit", "starttls" or "none"`},
		{"plaintext off loopback", `imap_tls = "none"`, "account[0].imap_tls", "only for a server on loopback"},
		{"smtp plaintext off loopback", "smtp = \"smtp.example.com:25\"\nsmtp_tls = \"none\"", "account[0].smtp_tls", "only for a server on loopback"},
		{"no login", `login = ""`, "account[0].login", "required"},
		{"password file missing", `password_file = "/nonexistent/pw"`, "account[0].password_file", "cannot read"},
		{"bad address", `address = "help"`, "account[0].address", "want local@domain"},
		{"bad after_import", `after_import = "delete"`, "account[0].after_import", `want "keep", "seen" or "move:<folder>"`},
		{"empty move folder", `after_import = "move:"`, "account[0].after_import", "move:<folder>"},
		{"negative delete_after_days", `delete_after_days = -1`, "account[0].delete_after_days", "want a number of days, or 0 to never delete"},
		{"sent_folder without smtp", `sent_folder = "Sent"`, "account[0].sent_folder", "needs smtp"},
		{"bad since", `since = "last year"`, "account[0].since", "want a day"},
		{"short poll", `poll_interval = "10ms"`, "account[0].poll_interval", "at least 1s"},
		{"bad authserv-id", `authentication_results = "mx.google.com; dmarc=pass"`, "account[0].authentication_results", "authserv-id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := parse(t, withAccount(t, tt.line))
			for _, e := range errs {
				if e.Key == tt.key && strings.Contains(e.Msg, tt.msg) {
					return
				}
			}
			t.Errorf("want %s: %s, got %v", tt.key, tt.msg, errs)
		})
	}
}

func TestAccountLoopbackPlaintextAndMove(t *testing.T) {
	c, errs := parse(t, withAccount(t, `imap = "127.0.0.1:1143"`, `imap_tls = "none"`, `after_import = "move:Imported"`, `since = "2026-01-31"`))
	if errs != nil {
		t.Fatal(errs)
	}
	a := c.Account[0]
	if a.MoveFolder() != "Imported" {
		t.Errorf("MoveFolder = %q", a.MoveFolder())
	}
	if got := a.SinceTime(time.UTC); !got.Equal(time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("SinceTime = %v", got)
	}
}
