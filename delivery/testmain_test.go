package delivery

import (
	"os"
	"testing"

	"mxdesk/panics"
)

// TestMain fails the run when a panic was recovered during it.
func TestMain(m *testing.M) { os.Exit(panics.Guard(m.Run())) }
