package gateway_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mxdesk/gateway"
	"mxdesk/testutil"
)

// mailboxState is what an agent sees of one folder over IMAP.
type mailboxState struct {
	UIDValidity, UIDNext uint32
	Msgs                 []msgState
}

type msgState struct {
	UID   imap.UID
	Flags string // sorted, without \Recent
	Body  string
}

var testLogins = []string{"alice@example.test", "bob@example.test", "carol@example.test"}

// snapshot reads every selectable folder of every test agent, read-only:
// "login:folder" → its state.
func snapshot(t *testing.T, addr string) map[string]mailboxState {
	t.Helper()
	out := map[string]mailboxState{}
	for _, login := range testLogins {
		c := loginIMAP(t, addr, login)
		list, err := c.List("", "*", nil).Collect()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range list {
			if slices.Contains(l.Attrs, imap.MailboxAttrNoSelect) {
				continue
			}
			out[login+":"+l.Mailbox] = readMailbox(t, c, l.Mailbox)
		}
		c.Logout().Wait()
	}
	return out
}

func readMailbox(t *testing.T, c *imapclient.Client, name string) mailboxState {
	t.Helper()
	sel, err := c.Select(name, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Fatalf("EXAMINE %s: %v", name, err)
	}
	st := mailboxState{UIDValidity: sel.UIDValidity, UIDNext: uint32(sel.UIDNext)}
	if sel.NumMessages == 0 {
		return st
	}
	var all imap.SeqSet
	all.AddRange(1, 0)
	bufs, err := c.Fetch(all, &imap.FetchOptions{UID: true, Flags: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
	if err != nil {
		t.Fatalf("FETCH in %s: %v", name, err)
	}
	for _, b := range bufs {
		var flags []string
		for _, f := range b.Flags {
			if f != `\Recent` {
				flags = append(flags, string(f))
			}
		}
		slices.Sort(flags)
		st.Msgs = append(st.Msgs, msgState{UID: b.UID, Flags: strings.Join(flags, " "), Body: string(b.BodySection[0].Bytes)})
	}
	return st
}

// fill gives the gateway sessions in both queues, flags, a draft and a
// folder of alice's own.
func fill(t *testing.T, g *gateway.Gateway) {
	t.Helper()
	sc := dialSMTP(t, g.Addr("smtp"))
	for i, rcpt := range []string{"support@example.test", "help@example.test", "billing@example.test", "support@example.test"} {
		if err := sendOn(sc, rcpt, fmt.Sprintf("fill-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	c := loginIMAP(t, g.Addr("imap"), "alice@example.test")
	if _, err := c.Select("Queues/Support", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged, "$Urgent"}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.SeqSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Create("Orders", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	draft := "From: alice@example.test\r\nSubject: draft\r\n\r\nnot sent yet\r\n"
	cmd := c.Append("Drafts", int64(len(draft)), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagDraft}})
	cmd.Write([]byte(draft))
	cmd.Close()
	if _, err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
}

// getBackup is GET /v1/backup on the gateway's admin socket, into a file.
func getBackup(t *testing.T, g *gateway.Gateway, path string) {
	t.Helper()
	sock := gateway.AdminSocket(g.Router().Config())
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	resp, err := hc.Get("http://mxdesk/v1/backup")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /v1/backup: %s %s", resp.Status, body)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// sendWhile sends mail to billing@ until stop is closed; started is
// closed after the first one.
func sendWhile(t *testing.T, addr string, stop <-chan struct{}, started chan<- struct{}) (wait func() int) {
	c := dialSMTP(t, addr)
	var wg sync.WaitGroup
	n := 0
	wg.Go(func() {
		for ; ; n++ {
			if n == 1 {
				close(started)
			}
			select {
			case <-stop:
				return
			default:
			}
			if err := sendOn(c, "billing@example.test", fmt.Sprintf("during-%d", n)); err != nil {
				t.Errorf("mail during the backup: %v", err)
				return
			}
		}
	})
	return func() int { wg.Wait(); return n }
}

// TestBackupRestore: a backup taken while the gateway serves and receives
// mail restores into a new data_dir where every folder of every agent
// reads as in the original at one moment during the backup: the folders
// no mail arrived in are identical (UIDVALIDITY, UIDNEXT, UIDs, flags,
// bodies), and those that got mail hold what they held before plus a
// prefix of what arrived, each message identical.
func TestBackupRestore(t *testing.T) {
	g := startGateway(t, "")
	fill(t, g)
	before := snapshot(t, g.Addr("imap"))

	stop, started := make(chan struct{}), make(chan struct{})
	wait := sendWhile(t, g.Addr("smtp"), stop, started)
	<-started
	file := filepath.Join(t.TempDir(), "mxdesk.backup")
	getBackup(t, g, file)
	close(stop)
	if n := wait(); n < 2 {
		t.Logf("only %d messages arrived around the backup", n)
	}
	after := snapshot(t, g.Addr("imap"))

	cfg := testutil.Config(t, "")
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := gateway.Restore(cfg, quietLog(), f); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	g2, err := gateway.New(cfg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	if err := g2.Start(); err != nil {
		t.Fatal(err)
	}
	defer g2.Close()
	restored := snapshot(t, g2.Addr("imap"))
	compareRestored(t, before, after, restored)
}

// compareRestored checks restored against the original before and after
// the backup.
func compareRestored(t *testing.T, before, after, restored map[string]mailboxState) {
	t.Helper()
	if len(restored) != len(before) {
		t.Errorf("%d folders restored, want %d", len(restored), len(before))
	}
	for name, b := range before {
		r, a := restored[name], after[name]
		if r.UIDValidity != b.UIDValidity {
			t.Errorf("%s: UIDVALIDITY %d, want %d", name, r.UIDValidity, b.UIDValidity)
		}
		if len(a.Msgs) == len(b.Msgs) {
			if !slices.Equal(r.Msgs, b.Msgs) || r.UIDNext != b.UIDNext {
				t.Errorf("%s: restored UIDNEXT %d %+v\nwant %d %+v", name, r.UIDNext, r.Msgs, b.UIDNext, b.Msgs)
			}
			continue
		}
		// Mail arrived here during the backup: a prefix of it is in.
		if len(r.Msgs) < len(b.Msgs) || len(r.Msgs) > len(a.Msgs) || !slices.Equal(r.Msgs, a.Msgs[:len(r.Msgs)]) {
			t.Errorf("%s: restored %d messages, not the %d before plus a prefix of the %d after", name, len(r.Msgs), len(b.Msgs), len(a.Msgs))
		}
	}
	// One moment for every folder: what reached the queue reached the
	// supervisor's archive of it in the same transaction.
	q, all := restored["carol@example.test:Queues/Billing"], restored["carol@example.test:All/Billing"]
	if len(q.Msgs) != len(all.Msgs) {
		t.Errorf("Queues/Billing holds %d, All/Billing %d: not one moment", len(q.Msgs), len(all.Msgs))
	}
}

// TestRestoreRefuses: a data_dir with a store, or one a server runs on,
// is refused and named; a truncated backup is refused and leaves no store.
func TestRestoreRefuses(t *testing.T) {
	g := startGateway(t, "")
	file := filepath.Join(t.TempDir(), "b")
	getBackup(t, g, file)
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	running := g.Router().Config()
	err = gateway.Restore(running, quietLog(), strings.NewReader(string(data)))
	if err == nil || !strings.Contains(err.Error(), running.DataDir) {
		t.Errorf("Restore into the running gateway's data_dir: %v, want an error naming it", err)
	}
	cfg := testutil.Config(t, "")
	err = gateway.Restore(cfg, quietLog(), strings.NewReader(string(data[:len(data)-10])))
	if err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("Restore of a truncated backup: %v, want an error saying so", err)
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "store")); !os.IsNotExist(err) {
		t.Errorf("a failed restore left %s/store (%v)", cfg.DataDir, err)
	}
	if err := gateway.Restore(cfg, quietLog(), strings.NewReader(string(data))); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	err = gateway.Restore(cfg, quietLog(), strings.NewReader(string(data)))
	if err == nil || !strings.Contains(err.Error(), filepath.Join(cfg.DataDir, "store")) {
		t.Errorf("Restore into a data_dir with a store: %v, want an error naming its store", err)
	}
}
