package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mxdesk/testutil/dovecottest"
)

// authOnlySMTP is an upstream submission server on loopback that takes
// AUTH PLAIN for one login and refuses every message: account test must
// never send one.
func authOnlySMTP(t *testing.T, login, password string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &authOnlySession{login: login, password: password}, nil
	}))
	srv.AllowInsecureAuth = true
	srv.ErrorLog = log.New(io.Discard, "", 0)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

type authOnlySession struct{ login, password string }

func (s *authOnlySession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *authOnlySession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, password string) error {
		if user != s.login || password != s.password {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		return nil
	}), nil
}
func (s *authOnlySession) Mail(string, *smtp.MailOptions) error {
	return errors.New("account test sent a message")
}
func (s *authOnlySession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *authOnlySession) Data(io.Reader) error                 { return nil }
func (s *authOnlySession) Reset()                               {}
func (s *authOnlySession) Logout() error                        { return nil }

// closedPort is a loopback address nothing listens on. The port stays bound
// (without listen) until the test ends, so no other process on the machine
// can take it and answer in its place: a connection is refused.
func closedPort(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
}

// TestAccountTest: account test checks both directions of each account
// through a real Dovecot and a go-smtp server with AUTH; a good account
// passes every step (exit 0), a wrong password, a missing folder, TLS
// refused or a closed port fails
// with the config key to fix (exit 1), and ADDRESS picks one account.
func TestAccountTest(t *testing.T) {
	d := dovecottest.Shared(t)
	u := d.NewUser(t)
	smtpAddr := authOnlySMTP(t, u.Login, u.Password)
	wrong := filepath.Join(t.TempDir(), "wrong")
	if err := os.WriteFile(wrong, []byte("nope\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	table := `
[[account]]
address = %q
queue = "Support"
imap = %q
imap_tls = %q
login = %q
password_file = %q
folder = %q
smtp = %q
smtp_tls = "none"
smtp_password_file = %q
`
	path, _ := sessionConfig(t)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	closed := closedPort(t)
	fmt.Fprintf(f, table, "help@upstream.test", d.Addr, "none", u.Login, u.PasswordFile, "INBOX", smtpAddr, u.PasswordFile)
	fmt.Fprintf(f, table, "login@upstream.test", d.Addr, "none", u.Login, wrong, "INBOX", smtpAddr, u.PasswordFile)
	fmt.Fprintf(f, table, "folder@upstream.test", d.Addr, "none", u.Login, u.PasswordFile, "Missing", smtpAddr, wrong)
	fmt.Fprintf(f, table, "tls@upstream.test", d.Addr, "implicit", u.Login, u.PasswordFile, "INBOX", closed, u.PasswordFile)
	f.Close()

	status, out, errOut := runCmd(t, "", "account", "test", "--config", path, "help@upstream.test")
	want := "help@upstream.test  imap connect   ok\n" +
		"help@upstream.test  imap password  ok\n" +
		"help@upstream.test  imap login     ok\n" +
		"help@upstream.test  folder INBOX   ok\n" +
		"help@upstream.test  smtp connect   ok\n" +
		"help@upstream.test  smtp greeting  ok\n" +
		"help@upstream.test  smtp password  ok\n" +
		"help@upstream.test  smtp auth      ok\n"
	if status != 0 || out != want {
		t.Errorf("account test of a good account: status %d, stderr %q, stdout:\n%s\nwant:\n%s", status, errOut, out, want)
	}

	status, out, _ = runCmd(t, "", "account", "test", "--config", path)
	for _, re := range []string{
		`(?m)^help@upstream\.test +smtp auth +ok$`,
		`(?m)^login@upstream\.test +imap login +FAILED +account\[1\]\.login/\.password_file: login failed for "` + regexp.QuoteMeta(u.Login) + `": .*AUTHENTICATIONFAILED`,
		`(?m)^folder@upstream\.test +folder Missing +FAILED +account\[2\]\.folder: folder "Missing": `,
		`(?m)^tls@upstream\.test +imap connect +FAILED +account\[3\]\.imap_tls: imap .*: TLS: `,
		`(?m)^tls@upstream\.test +smtp connect +FAILED +account\[3\]\.smtp: dial tcp ` + regexp.QuoteMeta(closed) + `: .*refused`,
		`(?m)^folder@upstream\.test +smtp auth +FAILED +account\[2\]\.smtp_login/\.smtp_password_file: AUTH PLAIN as "` + regexp.QuoteMeta(u.Login) + `": .*bad credentials`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("account test: no line matching %s in:\n%s", re, out)
		}
	}
	if status != 1 {
		t.Errorf("account test with failing accounts: status %d, want 1", status)
	}
	if strings.Contains(out, "login@upstream.test  folder") {
		t.Errorf("account test went on after a failed login:\n%s", out)
	}

	status, _, errOut = runCmd(t, "", "account", "test", "--config", path, "nobody@upstream.test")
	if status != 1 || !strings.Contains(errOut, `no [[account]] has the address "nobody@upstream.test"`) {
		t.Errorf("account test of an unknown address: status %d, stderr %q", status, errOut)
	}
}
