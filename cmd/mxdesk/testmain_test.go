package main

import (
	"os"
	"testing"

	"mxdesk/panics"
	"mxdesk/testutil"
)

// TestMain fails the run when a panic was recovered during it, and stops
// the S3 server of the archive tests.
func TestMain(m *testing.M) { os.Exit(testutil.StopSharedS3After(panics.Guard(m.Run()))) }
