package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"mxdesk/config"
	"mxdesk/testutil/dovecottest"
)

// TestAccountList: one line per account, valid or invalid with the
// login error; without a server every account is invalid, exit 1.
func TestAccountList(t *testing.T) {
	d := dovecottest.Shared(t)
	good, bad := d.NewUser(t), d.NewUser(t)
	wrong := filepath.Join(t.TempDir(), "wrong")
	if err := os.WriteFile(wrong, []byte("nope\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path, _ := sessionConfig(t)
	table := `
[[account]]
address = %q
queue = "Support"
imap = %q
imap_tls = "none"
login = %q
password_file = %q
`
	extra := fmt.Sprintf(table, "help@upstream.test", d.Addr, good.Login, good.PasswordFile) +
		fmt.Sprintf(table, "sales@upstream.test", d.Addr, bad.Login, wrong)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(extra)
	f.Close()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}

	status, out, _ := runCmd(t, "", "account", "list", "--config", path)
	down := regexp.MustCompile(`(?m)^help@upstream\.test +invalid +no server running`)
	if status != 1 || !down.MatchString(out) {
		t.Errorf("account list without a server: status %d\n%s", status, out)
	}

	startServer(t, cfg)
	want := regexp.MustCompile(`^help@upstream\.test +valid\nsales@upstream\.test +invalid +login failed for "` + bad.Login + `": .*AUTHENTICATIONFAILED.*\n$`)
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		status, out, errOut := runCmd(t, "", "account", "list", "--config", path)
		if status == 0 && want.MatchString(out) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("account list: status %d, stderr %q, stdout:\n%s", status, errOut, out)
		}
		<-tick.C
	}
}
