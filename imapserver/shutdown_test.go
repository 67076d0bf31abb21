package imapserver_test

import (
	"io"
	"strings"
	"testing"
)

// Stopping the server says BYE to every connection before closing it: one
// in IDLE, one idle after SELECT, one not logged in yet.
func TestShutdownSaysBye(t *testing.T) {
	h := newHarness(t)
	idling, selected, anonymous := h.raw(), h.raw(), h.raw()
	for _, rc := range []*rawConn{idling, selected} {
		rc.cmd("a", "LOGIN alice@example.test secret")
		if _, st := rc.cmd("b", "SELECT INBOX"); !strings.HasPrefix(st, "b OK") {
			t.Fatalf("SELECT: %s", st)
		}
	}
	idling.send("c IDLE\r\n")
	if l := idling.line(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("IDLE: %q", l)
	}

	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		h.stop()
	}()
	for name, rc := range map[string]*rawConn{"IDLE": idling, "SELECT": selected, "not logged in": anonymous} {
		if l := rc.line(); l != "* BYE mxdesk is shutting down; reconnect in a moment" {
			t.Errorf("%s connection got %q, want the shutdown BYE", name, l)
		}
		if rest, err := io.ReadAll(rc.br); err != nil || len(rest) != 0 {
			t.Errorf("%s connection after BYE: %q, %v (want it closed)", name, rest, err)
		}
	}
	<-stopped
}
