package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// sendTo sends the test message id to rcpt over a new connection.
func sendTo(addr, rcpt, id string) error {
	c, err := dialSMTP(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	msg := strings.Replace(string(testMessage(id, "Test "+id)), testQueueAddr, rcpt, 1)
	if err := c.SendMail("customer@client.example", []string{rcpt}, strings.NewReader(msg)); err != nil {
		return err
	}
	return c.Quit()
}

// queueWithAgent is TOML for a queue and an agent (password
// testPassword) who serves it.
func queueWithAgent(t *testing.T, queue, addr, login string) string {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("\n[[queue]]\nname = %q\naddresses = [%q]\n\n[[agent]]\nlogin = %q\nname = \"Agent\"\npassword_hash = %q\nqueues = [%q]\n",
		queue, addr, login, hash, queue)
}

// waitLog waits until the server's log holds want at least n times.
func (p *proc) waitLog(want string, n int) {
	p.t.Helper()
	deadline := time.Now().Add(readyTimeout)
	for strings.Count(p.stderr.String(), want) < n {
		if time.Now().After(deadline) {
			p.t.Fatalf("mxdesk did not log %q %d times within %v\n%s", want, n, readyTimeout, p.logs())
		}
		select {
		case <-p.exited:
			p.t.Fatalf("mxdesk exited (%v)\n%s", p.waitErr, p.logs())
		case <-time.After(pollInterval):
		}
	}
}

// TestReloadCommandAndSIGHUP: `mxdesk reload` and SIGHUP put a new queue
// in force in the running binary; a broken file is refused with its
// errors and the running configuration stays.
func TestReloadCommandAndSIGHUP(t *testing.T) {
	env := newEnv(t)
	srv := env.start(t)
	if err := sendTo(srv.addr("smtp"), "returns@example.test", "r-0@client.example"); err == nil {
		t.Fatal("returns@ accepted before it was configured")
	}
	good, err := os.ReadFile(env.configPath)
	if err != nil {
		t.Fatal(err)
	}
	alice := loginIMAP(t, srv.addr("imap"), testLogin, testPassword)

	appendConfig(t, env, queueWithAgent(t, "Returns", "returns@example.test", "erin@example.test"))
	status, out, errOut := runMxdesk(t, "reload", "--config", env.configPath)
	if status != 0 || !strings.Contains(out, "reloaded "+env.configPath) {
		t.Fatalf("reload: status %d\n%s%s", status, out, errOut)
	}
	deliver2(t, srv.addr("smtp"), "returns@example.test", "r-1@client.example")
	erin := loginIMAP(t, srv.addr("imap"), "erin@example.test", testPassword)
	if _, msgs := readFolder(t, erin, "Queues/Returns"); len(msgs) != 1 || msgs[0].MessageID != "r-1@client.example" {
		t.Fatalf("Queues/Returns after reload: %+v, want r-1", msgs)
	}

	appendConfig(t, env, "[[queue]\nname = \"Broken\"\n")
	status, out, errOut = runMxdesk(t, "reload", "--config", env.configPath)
	if status != 1 || !strings.Contains(errOut, env.configPath+":") {
		t.Fatalf("reload of a broken file: status %d, want 1 and the error with its file and line\n%s%s", status, out, errOut)
	}
	deliver2(t, srv.addr("smtp"), "returns@example.test", "r-2@client.example")

	// SIGHUP: the file with a Sales queue instead of Returns.
	sales := string(good) + queueWithAgent(t, "Sales", "sales@example.test", "sam@example.test")
	if err := os.WriteFile(env.configPath, []byte(sales), 0o600); err != nil {
		t.Fatal(err)
	}
	reloads := strings.Count(srv.stderr.String(), "configuration reloaded")
	if err := srv.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	srv.waitLog("configuration reloaded", reloads+1)
	deliver2(t, srv.addr("smtp"), "sales@example.test", "s-1@client.example")
	if err := sendTo(srv.addr("smtp"), "returns@example.test", "r-3@client.example"); err == nil {
		t.Error("returns@ still accepted after SIGHUP loaded a file without it")
	}
	if err := alice.Noop().Wait(); err != nil {
		t.Errorf("IMAP connection from before the reloads: %v", err)
	}
	// Erin is gone from the configuration: her connection is ended.
	select {
	case <-erin.Closed():
	case <-time.After(30 * time.Second):
		t.Error("the IMAP connection of an agent the reload removed is still open")
	}
	srv.stop()
}

func deliver2(t *testing.T, addr, rcpt, id string) {
	t.Helper()
	if err := sendTo(addr, rcpt, id); err != nil {
		t.Fatalf("mail to %s: %v", rcpt, err)
	}
}

// TestBackupRestoreCommands: `mxdesk backup` online and offline, and
// `mxdesk restore` into a new data_dir, which then serves the same
// folders.
func TestBackupRestoreCommands(t *testing.T) {
	env := newEnv(t)
	srv := env.start(t)
	for i := range 3 {
		deliver(t, srv.addr("smtp"), fmt.Sprintf("b-%d@client.example", i))
	}
	alice := loginIMAP(t, srv.addr("imap"), testLogin, testPassword)
	readFolder(t, alice, testFolder)
	setFlags(t, alice, 2, "\\Flagged")
	sel, want := readFolder(t, alice, testFolder)

	online := filepath.Join(t.TempDir(), "online.backup")
	status, out, errOut := runMxdesk(t, "backup", "--out", online, "--config", env.configPath)
	if status != 0 || !strings.Contains(out, "online") {
		t.Fatalf("backup while serving: status %d\n%s%s", status, out, errOut)
	}
	srv.stop()
	offline := filepath.Join(t.TempDir(), "offline.backup")
	status, out, errOut = runMxdesk(t, "backup", "--out", offline, "--config", env.configPath)
	if status != 0 || !strings.Contains(out, "offline") {
		t.Fatalf("backup while stopped: status %d\n%s%s", status, out, errOut)
	}

	for _, file := range []string{online, offline} {
		t.Run(filepath.Base(file), func(t *testing.T) {
			env2 := newEnv(t)
			status, out, errOut := runMxdesk(t, "restore", "--in", file, "--config", env2.configPath)
			if status != 0 {
				t.Fatalf("restore: status %d\n%s%s", status, out, errOut)
			}
			status, _, errOut = runMxdesk(t, "restore", "--in", file, "--config", env2.configPath)
			if status != 1 || !strings.Contains(errOut, filepath.Join(env2.dir, "data", "store")) {
				t.Errorf("restore into a data_dir with a store: status %d, want 1 naming the store\n%s", status, errOut)
			}
			srv2 := env2.start(t)
			c := loginIMAP(t, srv2.addr("imap"), testLogin, testPassword)
			sel2, got := readFolder(t, c, testFolder)
			if sel2.UIDValidity != sel.UIDValidity || !slices.EqualFunc(got, want, equalMessage) {
				t.Errorf("restored %s: UIDVALIDITY %d %+v\nwant %d %+v", testFolder, sel2.UIDValidity, got, sel.UIDValidity, want)
			}
			srv2.stop()
		})
	}
}

// TestServeJSONLog: with [log] format = "json" every line serve writes is
// a JSON object, and a received message's line carries session, queue
// and remote.
func TestServeJSONLog(t *testing.T) {
	env := newEnv(t)
	appendConfig(t, env, "\n[log]\nformat = \"json\"\nlevel = \"debug\"\n")
	p := &proc{t: t, stdout: newLineLog(), stderr: newLineLog(), exited: make(chan struct{})}
	p.cmd = exec.Command(mxdeskBin, "serve", "--config", env.configPath)
	p.cmd.Dir = env.dir
	if err := p.launch(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.cleanup)
	p.waitLog(`"listener":"listen.smtp"`, 1)
	smtpAddr := jsonLines(t, p.stderr.String(), "listening", "listener", "listen.smtp")[0]["addr"].(string)
	deliver(t, smtpAddr, "json-1@client.example")
	p.waitLog(`"msg":"received"`, 1)
	p.stop()
	rec := jsonLines(t, p.stderr.String(), "received", "", "")[0]
	for _, attr := range []string{"session", "queue", "remote"} {
		if v, _ := rec[attr].(string); v == "" {
			t.Errorf("received line without %s: %v", attr, rec)
		}
	}
}

// jsonLines parses every line of log as JSON and returns those with
// message msg (and attribute key = value, when key is given).
func jsonLines(t *testing.T, log, msg, key, value string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON (%v): %s", err, line)
		}
		if rec["msg"] == msg && (key == "" || rec[key] == value) {
			out = append(out, rec)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no %q line in the log:\n%s", msg, log)
	}
	return out
}
