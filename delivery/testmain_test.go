package delivery

import (
	"os"
	"testing"

	"mxdesk/panics"
	"mxdesk/testutil/teststore"
)

// TestMain fails the run when a panic was recovered during it, and runs
// the tests again on PostgreSQL (teststore.BothBackends).
func TestMain(m *testing.M) { os.Exit(teststore.BothBackends(panics.Guard(m.Run()))) }
