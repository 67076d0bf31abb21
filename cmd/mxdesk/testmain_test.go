package main

import (
	"os"
	"testing"

	"mxdesk/panics"
	"mxdesk/testutil/dovecottest"
)

// TestMain fails the run when a panic was recovered during it, and stops
// the Dovecot the account tests share.
func TestMain(m *testing.M) { os.Exit(dovecottest.StopShared(panics.Guard(m.Run()))) }
