package gateway_test

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"mxdesk/testutil"
)

// imapExchange sends tagged commands on a raw connection and returns the
// untagged lines of the last one (each must be answered OK).
func imapExchange(t *testing.T, conn net.Conn, r *bufio.Reader, commands ...string) []string {
	t.Helper()
	var untagged []string
	for i, cmd := range commands {
		tag := fmt.Sprintf("t%d", i)
		fmt.Fprintf(conn, "%s %s\r\n", tag, cmd)
		untagged = nil
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("%s: %v", cmd, err)
			}
			l = strings.TrimRight(l, "\r\n")
			if strings.HasPrefix(l, tag+" ") {
				if !strings.HasPrefix(l, tag+" OK") {
					t.Fatalf("%s: %s", cmd, l)
				}
				break
			}
			untagged = append(untagged, l)
		}
	}
	return untagged
}

// imap.expunged_kept reaches the store: with 1, a client that resyncs
// from before the last two expunges is told every missing UID vanished,
// the one it already knew of included (RFC 7162 3.2.5.2); the default
// would name only the two.
func TestExpungedKeptConfigured(t *testing.T) {
	g := startGateway(t, "[imap]\nexpunged_kept = 1\n")
	c := loginIMAP(t, g.Addr("imap"), "alice@example.test")
	if err := c.Create("Work", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		raw := fmt.Sprintf("Subject: %d\r\n\r\nx\r\n", i)
		cmd := c.Append("Work", int64(len(raw)), nil)
		cmd.Write([]byte(raw))
		cmd.Close()
		if _, err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Select("Work", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	expunge := func(uid imap.UID) {
		t.Helper()
		if err := c.Store(imap.UIDSetNum(uid), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
			t.Fatal(err)
		}
		if err := c.Expunge().Close(); err != nil {
			t.Fatal(err)
		}
	}
	expunge(1)
	s, err := c.Status("Work", &imap.StatusOptions{UIDValidity: true, HighestModSeq: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	expunge(2)
	expunge(3)

	conn, err := net.Dial("tcp", g.Addr("imap"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	if _, err := r.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	sel := imapExchange(t, conn, r, "LOGIN alice@example.test "+testutil.Password, "ENABLE QRESYNC",
		fmt.Sprintf("SELECT Work (QRESYNC (%d %d))", s.UIDValidity, s.HighestModSeq))
	for _, l := range sel {
		if strings.HasPrefix(l, "* VANISHED") {
			if l != "* VANISHED (EARLIER) 1:3" {
				t.Errorf("got %q, want * VANISHED (EARLIER) 1:3", l)
			}
			return
		}
	}
	t.Errorf("no VANISHED in %q", sel)
}
