package badgerstore

import (
	"os"
	"testing"

	"mxdesk/panics"
)

// TestMain fails the run when a panic was recovered during it. Every
// store the tests open checks its consistency on close.
func TestMain(m *testing.M) {
	CheckEveryStoreOnClose()
	os.Exit(panics.Guard(m.Run()))
}
