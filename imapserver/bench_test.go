package imapserver_test

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mxdesk/imapserver"
	"mxdesk/router"
	"mxdesk/testutil"
	"mxdesk/testutil/teststore"
)

// benchServer is a server on a fresh store with one agent logged in and a
// personal folder of n messages, for the FETCH benchmarks.
func benchServer(b *testing.B, n int) *imapclient.Client {
	b.Helper()
	st := teststore.Open(b, "", teststore.Options{NoSync: true})
	b.Cleanup(func() { st.Close() })
	r, err := router.New(testutil.Config(b, ""), st, router.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := imapserver.New(r, imapserver.Options{InsecureAuth: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	go srv.Serve(l)
	b.Cleanup(func() { srv.Close() })
	c, err := imapclient.DialInsecure(l.Addr().String(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	if err := c.Login("alice@example.test", testutil.Password).Wait(); err != nil {
		b.Fatal(err)
	}
	if err := c.Create("Bench", nil).Wait(); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		msg := fmt.Sprintf("From: c%d@example.org\r\nTo: support@example.test\r\nSubject: message %d\r\nMessage-ID: <%d@bench>\r\n\r\nbody %d\r\n", i, i, i, i)
		cmd := c.Append("Bench", int64(len(msg)), nil)
		cmd.Write([]byte(msg))
		cmd.Close()
		if _, err := cmd.Wait(); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := c.Select("Bench", nil).Wait(); err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkFetchFlags is a client's resync: FETCH 1:* (UID FLAGS) of a
// 1,000-message folder.
func BenchmarkFetchFlags(b *testing.B) {
	c := benchServer(b, 1000)
	all := imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}
	b.ResetTimer()
	for range b.N {
		msgs, err := c.Fetch(all, &imap.FetchOptions{UID: true, Flags: true}).Collect()
		if err != nil || len(msgs) != 1000 {
			b.Fatalf("FETCH: %d messages, %v", len(msgs), err)
		}
	}
}

// BenchmarkFetchHeaders is a client's list view: ENVELOPE, size and the
// header of the newest 50 messages.
func BenchmarkFetchHeaders(b *testing.B) {
	c := benchServer(b, 1000)
	last := imap.SeqSet{imap.SeqRange{Start: 951, Stop: 1000}}
	opts := &imap.FetchOptions{UID: true, Envelope: true, RFC822Size: true,
		BodySection: []*imap.FetchItemBodySection{{Specifier: imap.PartSpecifierHeader, Peek: true}}}
	b.ResetTimer()
	for range b.N {
		msgs, err := c.Fetch(last, opts).Collect()
		if err != nil || len(msgs) != 50 {
			b.Fatalf("FETCH: %d messages, %v", len(msgs), err)
		}
	}
}
