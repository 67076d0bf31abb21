package delivery

import (
	"os"
	"testing"

	"mxdesk/panics"
	"mxdesk/testutil/pgtest"
)

// TestMain fails the run when a panic was recovered during it, and
// stops the PostgreSQL of the lease tests.
func TestMain(m *testing.M) { os.Exit(pgtest.StopShared(panics.Guard(m.Run()))) }
