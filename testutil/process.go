package testutil

import (
	"time"

	"mxdesk/testutil/serverproc"
)

// WaitStarted waits for a server process the tests started: it calls try
// every interval until it succeeds, the process exits first (reported on
// exited, and put back there for whoever stops it), or timeout passes
// (serverproc.WaitStarted, which packages below testutil use).
func WaitStarted(try func() error, exited chan error, log func() string, timeout, interval time.Duration) error {
	return serverproc.WaitStarted(try, exited, log, timeout, interval)
}
