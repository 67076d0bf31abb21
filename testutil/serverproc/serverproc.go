// Package serverproc waits for a server process that tests started
// (Dovecot, PostgreSQL, ...). It imports nothing of mxdesk, so that the
// packages starting those servers (pgtest) can be imported by testutil.
package serverproc

import (
	"fmt"
	"time"
)

// WaitStarted waits for a server process the tests started: it calls try
// every interval until it succeeds, the process exits first (reported on
// exited, and put back there for whoever stops it), or timeout passes.
// log is the process's output, shown in the error.
func WaitStarted(try func() error, exited chan error, log func() string, timeout, interval time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		err := try()
		if err == nil {
			return nil
		}
		select {
		case werr := <-exited:
			exited <- werr
			return fmt.Errorf("exited at start (%v):\n%s", werr, log())
		case <-deadline.C:
			return fmt.Errorf("not ready after %v: %v\n%s", timeout, err, log())
		case <-tick.C:
		}
	}
}
