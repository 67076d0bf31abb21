package imapserver

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mxdesk/panics"
	"mxdesk/testutil"
)

// TestGuardRecovers: a panic in a command becomes NO [SERVERBUG] for it,
// counted as a recovered panic.
func TestGuardRecovers(t *testing.T) {
	s := &session{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	before := panics.Counts()[panics.IMAPCommand]
	err := func() (err error) {
		defer s.guard("TEST", &err)
		panic(panics.Deliberate("boom"))
	}()
	if err != errInternal {
		t.Errorf("err = %v, want errInternal", err)
	}
	if got := panics.Counts()[panics.IMAPCommand] - before; got != 1 {
		t.Errorf("%d panics counted, want 1", got)
	}
}

func TestMatchPattern(t *testing.T) {
	for _, tc := range []struct {
		pattern, name string
		want          bool
	}{
		{"*", "", true},
		{"%", "a/b", false},
		{"%/%", "a/b", true},
		{"a*", "a/b/c", true},
		{"a%", "a/b", false},
		{"a%c", "abbbc", true},
		{"a%c", "ab/bc", false},
		{"*c", "a/b/c", true},
		{"a[b]", "a[b]", true},
		{"a.b", "aXb", false},
		{`a\b`, `a\b`, true},
		{"*%*", "x/y", true},
		{"", "", true},
		{"", "a", false},
		{"日*", "日本語", true},
	} {
		if got := matchPattern(tc.pattern, tc.name, '/'); got != tc.want {
			t.Errorf("matchPattern(%q, %q) = %v, want %v", tc.pattern, tc.name, got, tc.want)
		}
	}
}

// refMatch is the obvious backtracking matcher, exponential but fine for
// the fuzzer's short inputs.
func refMatch(p, n string) bool {
	if p == "" {
		return n == ""
	}
	switch p[0] {
	case '*':
		for i := 0; i <= len(n); i++ {
			if refMatch(p[1:], n[i:]) {
				return true
			}
		}
		return false
	case '%':
		for i := 0; i <= len(n); i++ {
			if i > 0 && n[i-1] == '/' {
				break
			}
			if refMatch(p[1:], n[i:]) {
				return true
			}
		}
		return false
	}
	return n != "" && n[0] == p[0] && refMatch(p[1:], n[1:])
}

func FuzzMatchPattern(f *testing.F) {
	f.Add("a%/*b", "a/x/b")
	f.Add("*%*", "Queues/Support")
	f.Fuzz(func(t *testing.T, p, n string) {
		if len(p) > 12 || len(n) > 24 {
			return
		}
		if got, want := matchPattern(p, n, '/'), refMatch(p, n); got != want {
			t.Errorf("matchPattern(%q, %q) = %v, want %v", p, n, got, want)
		}
	})
}

// Whatever the bytes, top-level sections cut the message exactly and
// nothing panics.
func FuzzBodySection(f *testing.F) {
	f.Add([]byte("Subject: x\r\nFrom: a@b\r\n\r\nbody\r\n"))
	f.Add([]byte("no blank line"))
	f.Add([]byte("\r\nbody only"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n--b--\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		hdr := bodySection(raw, &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader})
		text := bodySection(raw, &imap.FetchItemBodySection{Specifier: imap.PartSpecifierText})
		if whole := bodySection(raw, &imap.FetchItemBodySection{}); !bytes.Equal(whole, raw) {
			t.Fatalf("BODY[] differs from the message")
		}
		if !bytes.Equal(append(append([]byte{}, hdr...), text...), raw) {
			t.Fatalf("HEADER + TEXT = %q, want %q", append(hdr, text...), raw)
		}
		fields := bodySection(raw, &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"subject"}})
		if !bytes.HasSuffix(fields, []byte("\r\n")) || len(fields) > len(hdr)+2 {
			t.Fatalf("HEADER.FIELDS = %q from header %q", fields, hdr)
		}
		bodySection(raw, &imap.FetchItemBodySection{Part: []int{1, 2}, Specifier: imap.PartSpecifierMIME})
		bodySection(raw, &imap.FetchItemBodySection{Part: []int{1}, Partial: &imap.SectionPartial{Offset: 3, Size: 5}})
		if p := bodySection(raw, &imap.FetchItemBodySection{Partial: &imap.SectionPartial{Offset: 2, Size: 3}}); len(raw) > 2 && !strings.HasPrefix(string(raw[2:]), string(p)) {
			t.Fatalf("partial %q of %q", p, raw)
		}
	})
}

func TestStaticSets(t *testing.T) {
	seq := imap.SeqSet{{Start: 5, Stop: 5}, {Start: 1, Stop: 3}, {Start: 2, Stop: 2}, {Start: 9, Stop: 0}}
	if got := staticSeqSet(seq, 7).String(); got != "1:3,5,7:9" {
		t.Errorf("staticSeqSet = %s", got)
	}
	if got := staticSeqSet(imap.SeqSet{{Start: 0, Stop: 0}}, 0); len(got) != 0 {
		t.Errorf("* in an empty mailbox = %v", got)
	}
	uid := imap.UIDSet{{Start: 559, Stop: 0}}
	if got := staticUIDSet(uid, 42).String(); got != "42:559" {
		t.Errorf("staticUIDSet = %s", got)
	}
}

// TestLibraryPanicCounted: a panic that go-imap recovers itself (here in
// creating a session) drops the connection and is counted and logged
// through libLogger.
func TestLibraryPanicCounted(t *testing.T) {
	var logged testutil.SyncBuffer
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			panic(panics.Deliberate("bug in NewSession"))
		},
		Logger: libLogger{slog.New(slog.NewTextHandler(&logged, nil))},
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	before := panics.Counts()[panics.IMAPConnection]
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if n, err := conn.Read(make([]byte, 100)); err == nil {
		t.Errorf("read %d bytes of a greeting, want the connection closed", n)
	}
	testutil.WaitPanics(t, panics.IMAPConnection, before+1)
	for _, want := range []string{"level=ERROR", "where=imap_connection", "bug in NewSession"} {
		if !strings.Contains(logged.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logged.String())
		}
	}
}
