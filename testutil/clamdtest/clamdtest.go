// Package clamdtest runs a real ClamAV daemon for tests: clamd with a
// configuration, a unix socket and a signature database of its own in a
// temporary directory. The database holds one signature, the EICAR test
// file's, written by Start: no signature download is possible (or
// wanted) in tests.
//
// It is a package of its own, apart from testutil, so that the tests of
// package policy can use it: testutil builds routers, and the router
// imports policy.
package clamdtest

import (
	"bufio"
	"crypto/md5"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Signature is the name clamd reports for EICAR. ClamAV may append
// ".UNOFFICIAL" (the database is not one of its own): compare prefixes.
const Signature = "Eicar-Test-Signature"

// StreamMaxLength is the StreamMaxLength clamd runs with (1 MiB, smaller
// than clamd's default so tests of its limit stay small).
const StreamMaxLength = 1 << 20

// Bounds of the waits: generous, since clamd may start slowly on a
// loaded machine; none is a sleep.
const (
	startTimeout = 60 * time.Second // start to the first PONG
	stopTimeout  = 10 * time.Second // SIGTERM to exit, then SIGKILL
	pingInterval = 20 * time.Millisecond
)

// EICAR returns the EICAR anti-virus test file, which every scanner
// reports as infected. It is assembled here so that no file of the
// repository trips a scanner.
func EICAR() []byte {
	return []byte(strings.Join([]string{`X5O!P%@AP[4\PZX54(P^)7CC)7}$`, `EICAR-STANDARD-ANTIVIRUS`, `-TEST-FILE!$H+H*`}, ""))
}

// Clamd is one clamd started for a test. Its methods are for the test's
// goroutine: they are not safe for concurrent use.
type Clamd struct {
	// Addr is the address to give policy.NewClamd and [policy] clamd:
	// "unix:" and Socket.
	Addr string
	// Socket is the path of clamd's LocalSocket. It stays the same
	// across Stop and Restart.
	Socket string

	bin, dir, conf, log string
	cmd                 *exec.Cmd  // nil while stopped
	exited              chan error // the running process's exit
}

// Start starts clamd and waits until it answers PING; it is stopped when
// the test ends. A missing clamd binary fails the test (CI installs
// Debian's clamav-daemon), as does a clamd that exits or does not answer
// within a minute.
func Start(t testing.TB) *Clamd {
	t.Helper()
	bin, err := exec.LookPath("clamd")
	if err != nil {
		bin = "/usr/sbin/clamd" // not in PATH for ordinary users on Debian
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("clamd not found (install Debian's clamav-daemon, as .ci/run does): %v", err)
	}
	// A short directory, not t.TempDir(): a unix socket path is limited
	// to 108 bytes and test names are long.
	dir, err := os.MkdirTemp("", "clamd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	c := &Clamd{bin: bin, dir: dir, conf: filepath.Join(dir, "clamd.conf"), log: filepath.Join(dir, "clamd.log")}
	c.Socket = filepath.Join(dir, "clamd.sock")
	c.Addr = "unix:" + c.Socket
	if err := c.writeFiles(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop) // cleanups run last first: before os.RemoveAll
	c.Restart(t)
	return c
}

// writeFiles writes the signature database and the configuration.
func (c *Clamd) writeFiles() error {
	db := filepath.Join(c.dir, "db")
	if err := os.Mkdir(db, 0o755); err != nil {
		return err
	}
	eicar := EICAR()
	sig := fmt.Sprintf("%x:%d:%s\n", md5.Sum(eicar), len(eicar), Signature)
	if err := os.WriteFile(filepath.Join(db, "test.hdb"), []byte(sig), 0o644); err != nil {
		return err
	}
	conf := strings.Join([]string{
		"LocalSocket " + c.Socket,
		"DatabaseDirectory " + db,
		"TemporaryDirectory " + c.dir,
		"LogFile " + c.log,
		"PidFile " + filepath.Join(c.dir, "clamd.pid"),
		"Foreground yes",
		fmt.Sprintf("StreamMaxLength %d", StreamMaxLength),
		"SelfCheck 0",
		"",
	}, "\n")
	return os.WriteFile(c.conf, []byte(conf), 0o644)
}

// Restart starts clamd again after Stop, on the same socket, and waits
// until it answers PING. Start calls it for the first start.
func (c *Clamd) Restart(t testing.TB) {
	t.Helper()
	if c.cmd != nil {
		t.Fatal("clamdtest: Restart while clamd runs")
	}
	cmd := exec.Command(c.bin, "--config-file="+c.conf)
	killWithParent(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start clamd: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	c.cmd, c.exited = cmd, exited

	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(pingInterval)
	defer tick.Stop()
	for {
		err := c.Ping()
		if err == nil {
			return
		}
		select {
		case werr := <-exited:
			c.cmd = nil
			t.Fatalf("clamd exited at start (%v):\n%s", werr, c.Log())
		case <-deadline.C:
			c.Stop()
			t.Fatalf("clamd does not answer PING after %v: %v\n%s", startTimeout, err, c.Log())
		case <-tick.C:
		}
	}
}

// Stop stops clamd (SIGTERM, SIGKILL if it lingers) and waits until it
// has exited. Stopping a stopped clamd does nothing.
func (c *Clamd) Stop() {
	if c.cmd == nil {
		return
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(stopTimeout):
		c.cmd.Process.Kill()
		<-c.exited
	}
	c.cmd = nil
}

// Ping asks clamd zPING and checks it answers PONG.
func (c *Clamd) Ping() error {
	conn, err := net.DialTimeout("unix", c.Socket, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte("zPING\x00")); err != nil {
		return err
	}
	reply, err := bufio.NewReader(conn).ReadString(0)
	if err != nil {
		return err
	}
	if reply != "PONG\x00" {
		return fmt.Errorf("PING answered %q", reply)
	}
	return nil
}

// Log returns what clamd has logged, for failure messages.
func (c *Clamd) Log() string {
	b, err := os.ReadFile(c.log)
	if errors.Is(err, os.ErrNotExist) {
		return "(clamd wrote no log)"
	}
	return string(b)
}
