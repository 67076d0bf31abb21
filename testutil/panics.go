package testutil

import (
	"testing"
	"time"

	"mxdesk/panics"
)

// WaitPanics waits until the process has counted n recovered panics at
// where (see package panics). A library logs the panic it recovered only
// after it answered the client, so the client's answer is not enough.
func WaitPanics(t testing.TB, where string, n int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for panics.Counts()[where] < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d panics counted at %s after 10s, want %d", panics.Counts()[where], where, n)
		}
		<-tick.C
	}
}
