package gateway_test

import (
	"os"
	"testing"

	"mxdesk/panics"
	"mxdesk/testutil"
	"mxdesk/testutil/dovecottest"
)

// TestMain fails the run when a panic was recovered during it, and stops
// the S3 server of the archive tests and the Dovecot of the account tests.
func TestMain(m *testing.M) {
	os.Exit(dovecottest.StopShared(testutil.StopSharedS3After(panics.Guard(m.Run()))))
}
