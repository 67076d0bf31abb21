package imapserver_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"mxdesk/imapserver"
)

// LITERAL+ (RFC 7888) lets a client send a literal of any size without
// waiting: a 20 MB APPEND {n+} over the limit can't be refused before it
// is sent. The server reads and throws away its bytes (none is taken for
// a command: they are all "Z LOGOUT"), answers NO [TOOBIG], and goes on;
// it holds none of them (less than a tenth of the 20 MB is allocated
// while they pass). A {n+} under the limit is stored.
func TestLiteralPlusAppendOverLimit(t *testing.T) {
	h := newHarnessOpts(t, imapserver.Options{InsecureAuth: true, MaxAppend: 1 << 20})
	rc := h.raw()
	untagged, _ := rc.cmd("c", "CAPABILITY")
	if caps := strings.Join(untagged, " "); !strings.Contains(caps, " LITERAL+") || strings.Contains(caps, "LITERAL-") {
		t.Fatalf("before login, want LITERAL+ (not LITERAL-): %s", caps)
	}
	rc.cmd("l", "LOGIN alice@example.test secret")

	const size = 20 << 20
	chunk := []byte(strings.Repeat("Z LOGOUT\r\n", 6554)) // 65540 bytes
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rc.send(fmt.Sprintf("a APPEND Drafts {%d+}\r\n", size))
	for sent := 0; sent < size; {
		n := min(len(chunk), size-sent)
		if _, err := rc.c.Write(chunk[:n]); err != nil {
			t.Fatalf("after %d bytes: %v", sent, err)
		}
		sent += n
	}
	rc.send("\r\n")
	if _, st := rc.until("a"); !strings.HasPrefix(st, "a NO [TOOBIG]") {
		t.Fatalf("APPEND {%d+}: %s, want NO [TOOBIG]", size, st)
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > size/10 {
		t.Errorf("%d bytes allocated while a refused 20 MB literal passed", grew)
	}
	if _, st := rc.cmd("n", "NOOP"); !strings.HasPrefix(st, "n OK") {
		t.Fatalf("NOOP after the refused literal: %s", st)
	}

	msg := "Subject: big draft\r\n\r\n" + strings.Repeat("x", 100<<10) + "\r\n"
	rc.send(fmt.Sprintf("b APPEND Drafts {%d+}\r\n%s\r\n", len(msg), msg))
	if _, st := rc.until("b"); !strings.HasPrefix(st, "b OK [APPENDUID ") {
		t.Fatalf("APPEND {%d+} under the limit: %s", len(msg), st)
	}
}
