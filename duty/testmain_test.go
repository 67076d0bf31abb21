package duty_test

import (
	"os"
	"testing"

	"mxdesk/panics"
	"mxdesk/testutil/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.StopShared(panics.Guard(m.Run()))) }
