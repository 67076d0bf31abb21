package gateway_test

import (
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// limits.personal_folders_per_agent reaches IMAP from the file and a
// reload changes it at once: it is not a restart key.
func TestReloadPersonalFolderCap(t *testing.T) {
	e := startFromFile(t)
	reload := func(extra string) {
		t.Helper()
		e.write(t, extra)
		res, err := e.g.Reload("")
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Restart) != 0 {
			t.Errorf("reload asks a restart for %q", res.Restart)
		}
	}
	reload("[limits]\npersonal_folders_per_agent = 1\n")
	c := loginIMAP(t, e.g.Addr("imap"), "alice@example.test")
	defer c.Close()
	if err := c.Create("Orders", nil).Wait(); err != nil {
		t.Fatalf("CREATE Orders: %v", err)
	}
	err := c.Create("Returns", nil).Wait()
	if ierr, ok := err.(*imap.Error); !ok || ierr.Code != imap.ResponseCodeLimit || !strings.Contains(ierr.Text, "limits.personal_folders_per_agent") {
		t.Fatalf("CREATE past the cap: %v, want NO [LIMIT] naming limits.personal_folders_per_agent", err)
	}
	reload("[limits]\npersonal_folders_per_agent = 0\n")
	if err := c.Create("Returns", nil).Wait(); err != nil {
		t.Fatalf("CREATE with the cap off: %v", err)
	}
}
