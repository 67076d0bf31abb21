package pgtest

import (
	"os"
	"testing"

	"mxdesk/panics"
)

func TestMain(m *testing.M) { os.Exit(StopShared(panics.Guard(m.Run()))) }
