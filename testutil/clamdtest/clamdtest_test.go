package clamdtest

import (
	"testing"
)

// TestStopRestart: a stopped clamd does not answer; restarted, it answers
// on the same socket.
func TestStopRestart(t *testing.T) {
	c := Start(t)
	if err := c.Ping(); err != nil {
		t.Fatalf("after Start: %v", err)
	}
	addr := c.Addr
	c.Stop()
	if err := c.Ping(); err == nil {
		t.Fatal("a stopped clamd answers PING")
	}
	c.Stop() // a second Stop does nothing
	c.Restart(t)
	if err := c.Ping(); err != nil || c.Addr != addr {
		t.Fatalf("after Restart: %v, address %s (was %s)\n%s", err, c.Addr, addr, c.Log())
	}
}
