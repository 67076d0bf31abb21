package teststore

import (
	"os"
	"testing"

	"mxdesk/panics"
)

func TestMain(m *testing.M) { os.Exit(BothBackends(panics.Guard(m.Run()))) }
