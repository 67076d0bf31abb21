package archive_test

import (
	"os"
	"testing"

	"mxdesk/panics"
	"mxdesk/testutil"
	"mxdesk/testutil/pgtest"
)

// TestMain fails the run when a panic was recovered during it, and stops
// the S3 server of the tests and the PostgreSQL of BenchmarkBodies.
func TestMain(m *testing.M) {
	os.Exit(pgtest.StopShared(testutil.StopSharedS3After(panics.Guard(m.Run()))))
}
