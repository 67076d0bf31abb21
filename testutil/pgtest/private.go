package pgtest

import (
	"context"
	"errors"
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Start runs a postgres of the test's own, stopped when the test ends,
// for a test that stops it under load (Restart): the package's shared
// server (Shared) serves other tests meanwhile.
func Start(t testing.TB) *Server {
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

// Restart stops postgres with a fast shutdown (its sessions are aborted,
// as a crash or a failover would), runs down while it is stopped, and
// starts it again on the same port and data directory.
func (s *Server) Restart(t testing.TB, down func()) {
	t.Helper()
	if err := s.halt(); err != nil {
		t.Fatalf("pgtest: stop postgres: %v\n%s", err, s.Log())
	}
	// Started again even when down fails the test, so that the cleanups
	// find a server to drop databases on and stop.
	defer func() {
		if err := s.restart(); err != nil {
			t.Errorf("pgtest: start postgres again: %v\n%s", err, s.Log())
		}
	}()
	down()
}

// halt stops postgres and keeps its data directory.
func (s *Server) halt() error {
	s.adminMu.Lock()
	defer s.adminMu.Unlock()
	if s.adminCon != nil {
		s.adminCon.Close(context.Background())
		s.adminCon = nil
	}
	s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.exited:
		return nil
	case <-time.After(stopTimeout):
		s.cmd.Process.Kill()
		<-s.exited
		return errors.New("no fast shutdown within " + stopTimeout.String())
	}
}

// restart runs postgres again as start did, on its old port.
func (s *Server) restart() error {
	if err := s.rerun(); err != nil {
		s.exited <- err // nothing runs: stop must not wait for it
		return err
	}
	return s.waitReady()
}

// rerun starts the postgres process.
func (s *Server) rerun() error {
	bin, err := binDir()
	if err != nil {
		return err
	}
	uid, gid, err := owner()
	if err != nil {
		return err
	}
	_, portText, _ := net.SplitHostPort(s.Addr)
	port, _ := strconv.Atoi(portText)
	return s.run(bin, port, uid, gid)
}
