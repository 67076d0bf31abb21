// Package pgtest runs a real PostgreSQL for tests: a cluster made by
// initdb in a temporary directory, its postgres listening on a free
// loopback port with durable commits (fsync and synchronous_commit on, as
// production runs). One server is shared by the tests of a package
// (Shared), each test with a fresh database of its own (NewDB); the
// package's TestMain stops it (StopShared). A test that stops and starts
// the server has one of its own (New, Stop, Start).
//
// initdb and postgres refuse to run as root, and CI runs as root: there
// the cluster belongs to, and the server runs as, the user "nobody".
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"mxdesk/testutil/serverproc"
)

// Bounds of the waits; none is a sleep.
const (
	startTimeout = 60 * time.Second
	stopTimeout  = 20 * time.Second
	dialInterval = 20 * time.Millisecond
)

// unprivileged owns the cluster when the tests run as root.
const unprivileged = "nobody"

// Server is one running postgres.
type Server struct {
	Addr string // host:port of its TCP listener

	bin      string // directory of initdb and postgres
	port     int
	uid, gid int  // the cluster's owner (-1: the current user)
	running  bool // between run and halt (the test's goroutine only)
	dir      string
	log      string
	cmd      *exec.Cmd
	exited   chan error
	dbs      atomic.Int64 // databases made by NewDB
	adminMu  sync.Mutex
	adminCon *pgx.Conn

	templatesMu sync.Mutex
	templates   map[string]bool // made by Template
}

var (
	sharedOnce sync.Once
	shared     *Server
	sharedErr  error
	errAbsent  = errors.New("pgtest: PostgreSQL binaries not found")
)

// Shared starts the package's postgres on first use. Without the
// PostgreSQL binaries (initdb, postgres) the test is skipped, saying
// what to install; .ci/run installs them, so CI never skips.
func Shared(t testing.TB) *Server {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = start() })
	if errors.Is(sharedErr, errAbsent) {
		t.Skipf("%v (apt-get install postgresql; looked on PATH and in /usr/lib/postgresql/*/bin)", sharedErr)
	}
	if sharedErr != nil {
		t.Fatalf("postgres: %v", sharedErr)
	}
	return shared
}

// StopShared stops the shared postgres, if one started, and returns code:
// TestMain calls os.Exit(StopShared(panics.Guard(m.Run()))).
func StopShared(code int) int {
	if shared != nil {
		shared.stop()
	}
	return code
}

// Installed reports whether the PostgreSQL binaries are there (nil), or
// what is missing: a test run can leave out its PostgreSQL part up front
// instead of skipping each test.
func Installed() error {
	_, err := binDir()
	return err
}

// binDir finds the directory holding initdb and postgres: PATH first,
// then Debian's versioned directories, newest first.
func binDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		dir := filepath.Dir(p)
		if isFile(filepath.Join(dir, "postgres")) {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, dir := range dirs {
		if isFile(filepath.Join(dir, "initdb")) && isFile(filepath.Join(dir, "postgres")) {
			return dir, nil
		}
	}
	return "", errAbsent
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir()
}

// owner is the uid and gid the cluster runs as: -1 (the current user)
// unless that is root.
func owner() (uid, gid int, err error) {
	if os.Geteuid() != 0 {
		return -1, -1, nil
	}
	u, err := user.Lookup(unprivileged)
	if err != nil {
		return 0, 0, fmt.Errorf("running as root, and no user %q to run postgres as: %w", unprivileged, err)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return uid, gid, nil
}

// New starts a postgres of the test's own (a cluster of its own, on a
// port of its own), stopped and removed when the test ends: for a test
// that stops and starts the server (Stop, Start), which the package's
// shared one must never be. Skipped without the PostgreSQL binaries, as
// Shared is.
func New(t testing.TB) *Server {
	t.Helper()
	s, err := start()
	if errors.Is(err, errAbsent) {
		t.Skipf("%v (apt-get install postgresql; looked on PATH and in /usr/lib/postgresql/*/bin)", err)
	}
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	t.Cleanup(s.stop)
	return s
}

// Stop shuts the server down as an administrator does (pg_ctl stop -m
// fast: sessions are aborted, what was committed stays on disk) and
// waits until it is gone; its data directory and port stay for Start.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if err := s.halt(); err != nil {
		t.Fatalf("pgtest: stop: %v", err)
	}
}

// Start runs the stopped server again on its data directory and port
// and waits until it answers.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	if err := s.run(s.bin, s.port, s.uid, s.gid); err != nil {
		t.Fatalf("pgtest: start: %v", err)
	}
	if err := s.waitReady(); err != nil {
		t.Fatalf("pgtest: start: %v", err)
	}
}

func start() (*Server, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	uid, gid, err := owner()
	if err != nil {
		return nil, err
	}
	// Not t.TempDir: the cluster outlives the first test, and its owner
	// may not be the current user.
	dir, err := os.MkdirTemp("", "pgtest")
	if err != nil {
		return nil, err
	}
	if uid >= 0 {
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	s := &Server{bin: bin, uid: uid, gid: gid, dir: dir, log: filepath.Join(dir, "postgres.log"), exited: make(chan error, 1)}
	if err := s.initdb(bin, uid, gid); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s.port, s.Addr = port, fmt.Sprintf("127.0.0.1:%d", port)
	if err := s.run(bin, port, uid, gid); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := s.waitReady(); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// initdb makes the cluster: trust on loopback (the tests' own server),
// UTF-8 and the C locale (byte order, as badger sorts).
func (s *Server) initdb(bin string, uid, gid int) error {
	cmd := exec.Command(filepath.Join(bin, "initdb"), "-D", s.dataDir(), "-U", "postgres",
		"--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
	prepare(cmd, s.dir, uid, gid)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %v\n%s", err, out)
	}
	return nil
}

// run starts postgres in the foreground (a child killed with the test
// binary, unlike pg_ctl's daemon), durable as in production.
func (s *Server) run(bin string, port, uid, gid int) error {
	logFile, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644) // a restart's lines follow the first run's
	if err != nil {
		return err
	}
	defer logFile.Close()
	s.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", s.dataDir(),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "port="+strconv.Itoa(port),
		"-c", "unix_socket_directories="+s.dir,
		"-c", "fsync=on",
		"-c", "synchronous_commit=on",
		"-c", "max_connections=200")
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	prepare(s.cmd, s.dir, uid, gid)
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	s.running = true
	go func() { s.exited <- s.cmd.Wait() }()
	return nil
}

func (s *Server) dataDir() string { return filepath.Join(s.dir, "data") }

// freePort asks the kernel for a free port; postgres binds it next.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitReady connects until postgres answers, or it exits, or the
// deadline; the connection stays open for NewDB.
func (s *Server) waitReady() error {
	return serverproc.WaitStarted(func() error {
		conn, err := pgx.Connect(context.Background(), s.DSN("postgres"))
		if err == nil {
			s.adminMu.Lock()
			s.adminCon = conn
			s.adminMu.Unlock()
		}
		return err
	}, s.exited, s.Log, startTimeout, dialInterval)
}

func (s *Server) stop() {
	if s.running {
		s.halt()
	}
	os.RemoveAll(s.dir)
}

// halt stops postgres with its fast shutdown and waits for it; killed
// after stopTimeout.
func (s *Server) halt() error {
	s.adminMu.Lock()
	if s.adminCon != nil {
		s.adminCon.Close(context.Background())
		s.adminCon = nil
	}
	s.adminMu.Unlock()
	// SIGINT is postgres's fast shutdown: it aborts the sessions.
	s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.exited:
		s.running = false
		return nil
	case <-time.After(stopTimeout):
		s.cmd.Process.Kill()
		<-s.exited
		s.running = false
		return fmt.Errorf("postgres did not stop within %v: killed", stopTimeout)
	}
}

// DSN is the URL of database db on the server.
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable", s.Addr, db)
}

// Pid is the postmaster's process ID.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Log is what postgres logged, for failure messages.
func (s *Server) Log() string {
	b, err := os.ReadFile(s.log)
	if err != nil {
		return fmt.Sprintf("(no postgres log: %v)", err)
	}
	return string(b)
}

// NewDB creates an empty database of the test's own (a copy of
// template1, which is fast) and returns its DSN; the database is
// dropped, its connections closed, when the test ends.
func (s *Server) NewDB(t testing.TB) string {
	t.Helper()
	return s.NewDBFrom(t, "template1")
}

// Template makes database name once per server, filled by setup (given
// its DSN), for NewDBFrom: a schema migrated once is copied per test
// instead of migrated per test.
func (s *Server) Template(t testing.TB, name string, setup func(dsn string) error) {
	t.Helper()
	s.templatesMu.Lock()
	defer s.templatesMu.Unlock()
	if s.templates[name] {
		return
	}
	if err := s.admin("CREATE DATABASE " + name); err != nil {
		t.Fatalf("pgtest: create template %s: %v", name, err)
	}
	if err := setup(s.DSN(name)); err != nil {
		s.admin("DROP DATABASE " + name + " WITH (FORCE)")
		t.Fatalf("pgtest: fill template %s: %v", name, err)
	}
	// A database with open connections can't be copied.
	if err := s.admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + name + "'"); err != nil {
		t.Fatalf("pgtest: template %s: %v", name, err)
	}
	if s.templates == nil {
		s.templates = map[string]bool{}
	}
	s.templates[name] = true
}

// NewDBFrom is NewDB with a copy of template (made by Template).
func (s *Server) NewDBFrom(t testing.TB, template string) string {
	t.Helper()
	name := fmt.Sprintf("t%d", s.dbs.Add(1))
	// WAL_LOG, not FILE_COPY: FILE_COPY checkpoints the whole cluster
	// (fsync on) for each database, 3 to 6 times slower here for a small
	// template, and suites make one database per test.
	if err := s.admin("CREATE DATABASE " + name + " TEMPLATE " + template + " STRATEGY WAL_LOG"); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := s.admin("DROP DATABASE " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return s.DSN(name)
}

// admin runs a statement on the maintenance connection (one at a time:
// a pgx.Conn is not safe for concurrent use).
func (s *Server) admin(sql string) error {
	s.adminMu.Lock()
	defer s.adminMu.Unlock()
	if s.adminCon == nil {
		return errors.New("the server is stopped (Stop without Start)")
	}
	_, err := s.adminCon.Exec(context.Background(), sql)
	return err
}
