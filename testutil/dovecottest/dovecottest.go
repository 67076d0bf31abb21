// Package dovecottest runs a real Dovecot IMAP server for tests: its own
// configuration, password file and Maildirs in a temporary directory,
// listening on a free loopback port without TLS. One server is shared
// by the tests of a package (Shared), each test with its own user
// (NewUser); the package's TestMain stops it (StopShared).
package dovecottest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mxdesk/testutil"
)

// Bounds of the waits; none is a sleep.
const (
	startTimeout = 30 * time.Second
	stopTimeout  = 10 * time.Second
	dialInterval = 20 * time.Millisecond
)

// Dovecot is one running dovecot.
type Dovecot struct {
	Addr string // host:port of its IMAP listener

	dir, passwd string
	cmd         *exec.Cmd
	exited      chan error
	users       atomic.Int64 // users taken by NewUser
}

var (
	sharedOnce sync.Once
	shared     *Dovecot
	sharedErr  error
)

// Shared starts the package's dovecot on first use. A missing dovecot
// binary fails the test (CI installs Debian's dovecot-imapd, as .ci/run
// does).
func Shared(t testing.TB) *Dovecot {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = start() })
	if sharedErr != nil {
		t.Fatalf("dovecot: %v", sharedErr)
	}
	return shared
}

// StopShared stops the shared dovecot, if one started, and returns code:
// TestMain calls os.Exit(StopShared(panics.Guard(m.Run()))).
func StopShared(code int) int {
	if shared != nil {
		shared.stop()
	}
	return code
}

func start() (*Dovecot, error) {
	bin, err := exec.LookPath("dovecot")
	if err != nil {
		bin = "/usr/sbin/dovecot"
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("not found (apt-get install dovecot-imapd): %w", err)
	}
	// Not t.TempDir: dovecot's own users must reach the directory.
	dir, err := os.MkdirTemp("", "dovecot")
	if err != nil {
		return nil, err
	}
	d := &Dovecot{dir: dir, passwd: filepath.Join(dir, "passwd"), exited: make(chan error, 1)}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	d.Addr = fmt.Sprintf("127.0.0.1:%d", port)
	if err := d.writeFiles(port); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	d.cmd = exec.Command(bin, "-F", "-c", filepath.Join(dir, "dovecot.conf"))
	d.cmd.Stdout, d.cmd.Stderr = nil, nil
	killWithParent(d.cmd)
	if err := d.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	go func() { d.exited <- d.cmd.Wait() }()
	if err := d.waitGreeting(); err != nil {
		d.stop()
		return nil, err
	}
	return d, nil
}

// freePort asks the kernel for a free port; dovecot binds it next.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// writeFiles writes the configuration: plaintext on loopback, users from
// a passwd-file, Maildirs under dir/home, run as dovecot's own users
// (the current user when not root).
func (d *Dovecot) writeFiles(port int) error {
	internal, login, mailUser := "dovecot", "dovenull", "dovecot"
	if os.Geteuid() != 0 {
		u, err := user.Current()
		if err != nil {
			return err
		}
		internal, login, mailUser = u.Username, u.Username, u.Username
	}
	home := filepath.Join(d.dir, "home")
	for _, p := range []struct {
		path string
		mode os.FileMode
	}{{d.dir, 0o755}, {home, 0o1777}} {
		if err := os.MkdirAll(p.path, p.mode); err != nil {
			return err
		}
		if err := os.Chmod(p.path, p.mode); err != nil {
			return err
		}
	}
	// Every user up front: dovecot may miss a password file changed
	// twice within a second.
	var users strings.Builder
	for i := 1; i <= maxUsers; i++ {
		fmt.Fprintf(&users, "%s:{PLAIN}%s::::::\n", userName(i), password(i))
	}
	if err := os.WriteFile(d.passwd, []byte(users.String()), 0o644); err != nil {
		return err
	}
	conf := fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 0
default_internal_user = %[3]s
default_login_user = %[4]s
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %[1]s/passwd
}
userdb {
  driver = static
  args = uid=%[5]s gid=%[5]s home=%[1]s/home/%%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = %[2]d
  }
  inet_listener imaps {
    port = 0
  }
}
`, d.dir, port, internal, login, mailUser)
	return os.WriteFile(filepath.Join(d.dir, "dovecot.conf"), []byte(conf), 0o644)
}

// waitGreeting dials until dovecot greets, or it exits, or the deadline.
func (d *Dovecot) waitGreeting() error {
	return testutil.WaitStarted(func() error {
		c, err := imapclient.DialInsecure(d.Addr, nil)
		if err != nil {
			return err
		}
		defer c.Close()
		return c.WaitGreeting()
	}, d.exited, d.Log, startTimeout, dialInterval)
}

func (d *Dovecot) stop() {
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(stopTimeout):
		d.cmd.Process.Kill()
		<-d.exited
	}
	os.RemoveAll(d.dir)
}

// Log is what dovecot logged, for failure messages.
func (d *Dovecot) Log() string {
	b, err := os.ReadFile(filepath.Join(d.dir, "dovecot.log"))
	if errors.Is(err, os.ErrNotExist) {
		return "(dovecot wrote no log)"
	}
	return string(b)
}

// User is one mailbox of the dovecot.
type User struct {
	d            *Dovecot
	Login        string
	Password     string
	PasswordFile string // holds Password, for [[account]] password_file
}

// Addr is the IMAP address of u's server.
func (u *User) Addr() string { return u.d.Addr }

// maxUsers is how many users one dovecot has.
const maxUsers = 200

func userName(i int) string { return fmt.Sprintf("u%d", i) }
func password(i int) string { return fmt.Sprintf("pw-u%d", i) }

// NewUser takes a user of its own for the test, with an empty mailbox;
// its password file is in the test's temporary directory.
func (d *Dovecot) NewUser(t testing.TB) *User {
	t.Helper()
	i := int(d.users.Add(1))
	if i > maxUsers {
		t.Fatalf("dovecottest: more than %d users", maxUsers)
	}
	u := &User{d: d, Login: userName(i), Password: password(i), PasswordFile: filepath.Join(t.TempDir(), "password")}
	if err := os.WriteFile(u.PasswordFile, []byte(u.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return u
}

// Client logs in as u (someone else reading the mailbox, or the mail
// server delivering to it); it is logged out when the test ends.
func (u *User) Client(t testing.TB) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(u.d.Addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(u.Login, u.Password).Wait(); err != nil {
		t.Fatalf("dovecot login %s: %v\n%s", u.Login, err, u.d.Log())
	}
	return c
}

// Append stores raw in folder as mail that just arrived, with flags
// (imap.FlagSeen: someone read it already); it returns the message's UID.
func (u *User) Append(t testing.TB, c *imapclient.Client, folder, raw string, flags ...imap.Flag) uint32 {
	t.Helper()
	return u.AppendAt(t, c, folder, raw, time.Time{}, flags...)
}

// AppendAt is Append with the INTERNALDATE at (now when zero): mail that
// arrived then.
func (u *User) AppendAt(t testing.TB, c *imapclient.Client, folder, raw string, at time.Time, flags ...imap.Flag) uint32 {
	t.Helper()
	raw = strings.ReplaceAll(strings.ReplaceAll(raw, "\r\n", "\n"), "\n", "\r\n")
	cmd := c.Append(folder, int64(len(raw)), &imap.AppendOptions{Flags: flags, Time: at})
	if _, err := cmd.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := cmd.Wait()
	if err != nil {
		t.Fatalf("APPEND to %s: %v", folder, err)
	}
	return uint32(data.UID)
}
