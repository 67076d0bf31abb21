package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// commandTimeout bounds one run of an mxdesk command against the server.
const commandTimeout = 60 * time.Second

// runMxdesk runs the mxdesk binary with args and returns its exit status
// and output.
func runMxdesk(t *testing.T, args ...string) (status int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, mxdeskBin, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		status = exit.ExitCode()
	case err != nil:
		t.Fatalf("mxdesk %s: %v", strings.Join(args, " "), err)
	}
	return status, out.String(), errOut.String()
}

var sessionID = regexp.MustCompile(`(?m)^(S-[0-9A-Z]{5})\s+Unopened\s+Support\s`)

// TestSessionCommands runs `mxdesk session list` and `session show`
// against the running server (its admin socket; the store is locked by
// the server), then after it stopped (the store directly).
func TestSessionCommands(t *testing.T) {
	env := newEnv(t)
	srv := env.start(t)
	deliver(t, srv.addr("smtp"), "session-1@client.example")

	status, out, errOut := runMxdesk(t, "session", "list", "--config", env.configPath)
	if status != 0 {
		t.Fatalf("session list: status %d\n%s%s", status, out, errOut)
	}
	m := sessionID.FindStringSubmatch(out)
	if m == nil || !strings.HasPrefix(out, "ID ") || !strings.Contains(out, "customer@client.example") || !strings.Contains(out, "Test session-1@client.example") {
		t.Fatalf("session list: no header and Unopened session of Support from customer@client.example:\n%s", out)
	}
	id := m[1]

	status, out, errOut = runMxdesk(t, "session", "show", id, "--config", env.configPath)
	if status != 0 {
		t.Fatalf("session show %s: status %d\n%s%s", id, status, out, errOut)
	}
	for _, want := range []string{id, "Unopened", "customer@client.example", "Test session-1@client.example", "Queues/Support", "received"} {
		if !strings.Contains(out, want) {
			t.Errorf("session show %s lacks %q:\n%s", id, want, out)
		}
	}

	status, out, errOut = runMxdesk(t, "session", "show", id, "--config", env.configPath, "--json")
	var rep struct {
		Session struct {
			ID string `json:"id"`
		} `json:"session"`
		Messages []struct {
			MessageID string `json:"message_id"`
		} `json:"messages"`
	}
	if err := json.Unmarshal([]byte(out), &rep); status != 0 || err != nil || rep.Session.ID != id ||
		len(rep.Messages) != 1 || rep.Messages[0].MessageID != "session-1@client.example" {
		t.Errorf("session show --json: status %d, %v\n%s%s", status, err, out, errOut)
	}

	status, out, errOut = runMxdesk(t, "session", "show", "S-ZZZZZ", "--config", env.configPath)
	if status != 1 || out != "" || errOut != "mxdesk: no session S-ZZZZZ\n" {
		t.Errorf("unknown session: status %d, stdout %q, stderr %q", status, out, errOut)
	}

	srv.stop()
	sock := filepath.Join(env.dir, "data", "admin.sock")
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("%s after a clean stop: %v, want it removed", sock, err)
	}
	status, out, errOut = runMxdesk(t, "session", "show", id, "--config", env.configPath)
	if status != 0 || errOut != "" || !strings.Contains(out, id) {
		t.Errorf("session show with the server stopped: status %d\n%s%s", status, out, errOut)
	}
}
