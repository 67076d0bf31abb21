package gateway_test

import (
	"os"
	"testing"

	"mxdesk/panics"
	"mxdesk/testutil"
	"mxdesk/testutil/dovecottest"
	"mxdesk/testutil/pgtest"
)

// TestMain fails the run when a panic was recovered during it, and stops
// the S3 server of the archive tests, the Dovecot of the account tests
// and the PostgreSQL of the postgres and migrate-store tests.
func TestMain(m *testing.M) {
	os.Exit(pgtest.StopShared(dovecottest.StopShared(testutil.StopSharedS3After(panics.Guard(m.Run())))))
}
