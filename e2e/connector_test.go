package e2e

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mxdesk/testutil/dovecottest"
)

// connectorBackfill is how many messages wait upstream before the start.
const connectorBackfill = 200

// TestConnectorKillMidImport: mxdesk backfills an upstream Dovecot
// mailbox (since = an old day) and is killed with SIGKILL mid-import;
// after the restart every upstream message is in the queue exactly once,
// and the store is consistent.
func TestConnectorKillMidImport(t *testing.T) {
	u := dovecottest.Shared(t).NewUser(t)
	up := u.Client(t)
	var ids []string
	for i := range connectorBackfill {
		id := fmt.Sprintf("up-%d@customer.test", i)
		ids = append(ids, id)
		u.Append(t, up, "INBOX", fmt.Sprintf("From: c%d@customer.test\nTo: help@upstream.test\nSubject: backfill %d\nMessage-ID: <%s>\n\nhello\n", i, i, id))
	}
	env := newEnv(t)
	f, err := os.OpenFile(env.configPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "\n[[account]]\naddress = \"help@upstream.test\"\nqueue = \"Support\"\nimap = %q\nimap_tls = \"none\"\nlogin = %q\npassword_file = %q\nsince = \"2000-01-01\"\n",
		u.Addr(), u.Login, u.PasswordFile)
	f.Close()

	srv := env.start(t)
	c := loginIMAP(t, srv.addr("imap"), testLogin, testPassword)
	imported := waitFolderCount(t, c, 20)
	srv.kill()
	t.Logf("killed after %d of %d messages were imported", imported, connectorBackfill)
	if imported >= connectorBackfill {
		t.Fatalf("the backfill ended before the kill: nothing was cut off")
	}

	srv = env.start(t)
	c = loginIMAP(t, srv.addr("imap"), testLogin, testPassword)
	waitFolderCount(t, c, connectorBackfill)
	u.Append(t, up, "INBOX", "From: late@customer.test\nTo: help@upstream.test\nSubject: late\nMessage-ID: <late@customer.test>\n\nhello\n")
	waitFolderCount(t, c, connectorBackfill+1)
	_, msgs := readFolder(t, c, testFolder)
	if bad := notStoredOnce(append(ids, "late@customer.test"), msgs); len(bad) > 0 || len(msgs) != connectorBackfill+1 {
		t.Errorf("%d messages in %s; not exactly once: %v", len(msgs), testFolder, bad[:min(len(bad), 10)])
	}
	srv.stop()
	checkStoreConsistent(t, env)
}

// waitFolderCount polls the queue folder (STATUS) until it holds at
// least n messages, and returns how many it holds.
func waitFolderCount(t *testing.T, c *imapclient.Client, n int) int {
	t.Helper()
	deadline := time.Now().Add(readyTimeout)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		st, err := c.Status(testFolder, &imap.StatusOptions{NumMessages: true}).Wait()
		if err != nil {
			t.Fatalf("STATUS %s: %v", testFolder, err)
		}
		if got := int(*st.NumMessages); got >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s holds %d messages after %v, want %d", testFolder, *st.NumMessages, readyTimeout, n)
		}
		<-tick.C
	}
}
