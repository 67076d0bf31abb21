package dovecottest

import (
	"os"
	"testing"

	"mxdesk/panics"
)

func TestMain(m *testing.M) {
	code := m.Run()
	StopShared()
	os.Exit(panics.Guard(code))
}
