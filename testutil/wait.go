package testutil

import (
	"testing"
	"time"

	"mxdesk/router"
	"mxdesk/store"
)

// WaitFor waits until cond holds, looking again on every change the
// routers commit (and on a short tick, for state outside the store:
// presence, metrics, the spool), and fails the test after 30 s naming
// what it waited for.
func WaitFor(t testing.TB, what string, cond func() bool, rs ...*router.Router) {
	t.Helper()
	changed := make(chan struct{}, 1)
	for _, r := range rs {
		unsub := r.Subscribe(func([]store.Change) {
			select {
			case changed <- struct{}{}:
			default:
			}
		})
		defer unsub()
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	for !cond() {
		select {
		case <-changed:
		case <-tick.C:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
