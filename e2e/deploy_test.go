package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSystemdUnitVerifies runs systemd-analyze verify on
// deploy/mxdesk.service, with the binary at the path it names replaced by
// the one built for the tests. Any warning fails (unknown keys are only
// warnings to systemd).
func TestSystemdUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatalf("systemd-analyze is needed to check deploy/mxdesk.service: %v", err)
	}
	unit, err := os.ReadFile("../deploy/mxdesk.service")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "mxdesk.service")
	text := strings.ReplaceAll(string(unit), "/usr/local/bin/mxdesk", mxdeskBin)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := exec.Command(analyze, "verify", path)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil || out.Len() > 0 {
		t.Errorf("systemd-analyze verify deploy/mxdesk.service: %v\n%s", err, out.String())
	}
}
