package imapserver_test

import (
	"strings"
	"testing"
)

// Malformed commands get BAD (or NO) and the connection goes on.
func TestMalformedCommands(t *testing.T) {
	h := newHarness(t)
	h.deliver("carla@customer.test", "one", "x")
	rc := h.raw()
	rc.cmd("l", "LOGIN alice@example.test secret")
	rc.cmd("s", "SELECT Queues/Support")
	for _, tc := range []struct{ cmd, want string }{
		{"FOO bar", "a BAD"},
		{"FETCH", "a BAD"},
		{"FETCH 1 (BODY[", "a BAD"},
		{"FETCH 1 (NOPE)", "a BAD"},
		{"FETCH 1:x FLAGS", "a BAD"},
		{"FETCH 0 FLAGS", "a BAD"},
		{"STORE 1 +FLAGS (\\Bogus)", "a BAD"},
		{"STORE 1 FROB (\\Seen)", "a BAD"},
		{"SEARCH FROB", "a BAD"},
		{"SEARCH " + strings.Repeat("NOT ", 2000) + "ALL", "a NO [LIMIT]"},
		{"SEARCH " + strings.Repeat("(", 2000) + "ALL" + strings.Repeat(")", 2000), "a BAD"},
		{"UID FETCH 1:4294967295 (FLAGS)", "a OK"},
		{"APPEND INBOX {10", "a BAD"},
		{"APPEND INBOX (\\Seen) \"not a date\" {1}", "a BAD"},
		{"LIST \"\" " + strings.Repeat("*", 2000), "a BAD"},
		{"SELECT \"&Jjo\"", "a BAD"},
		{"CREATE \"\"", "a NO"},
		{"LOGIN again please", "a BAD"},
		{"IDLE\r\nNOT-DONE", "a BAD"},
	} {
		_, st := rc.cmd("a", tc.cmd)
		if !strings.HasPrefix(st, tc.want) {
			t.Errorf("%.60s: %s, want %s", tc.cmd, st, tc.want)
		}
		if _, st := rc.cmd("n", "NOOP"); !strings.HasPrefix(st, "n OK") {
			t.Fatalf("NOOP after %.60s: %s", tc.cmd, st)
		}
	}
	if _, st := rc.cmd("f", "FETCH 1 (UID FLAGS)"); !strings.HasPrefix(st, "f OK") {
		t.Errorf("FETCH at the end: %s", st)
	}
}

// Input the library can't resynchronise on costs the connection, never
// the server: an untagged garbage line, an overlong tag, and an unknown
// command before login (a cross-protocol attack, RFC 3501 has no tag to
// answer), close it. An overlong line with a tag is answered BAD and the
// connection goes on.
func TestMalformedInputKeepsServer(t *testing.T) {
	h := newHarness(t)
	rc := h.raw()
	rc.cmd("l", "LOGIN alice@example.test secret")
	if _, st := rc.cmd("a", "NOOP "+strings.Repeat("x", 60*1024)); !strings.HasPrefix(st, "a BAD") {
		t.Errorf("overlong line: %s, want a BAD", st)
	}
	if _, st := rc.cmd("n", "NOOP"); !strings.HasPrefix(st, "n OK") {
		t.Errorf("NOOP after the overlong line: %s", st)
	}
	for _, tc := range []struct {
		name, login, input, want string
	}{
		{"overlong tag", "l LOGIN alice@example.test secret\r\n", strings.Repeat("x", 60*1024) + " NOOP\r\n", ""},
		{"binary garbage", "l LOGIN alice@example.test secret\r\n", "\x00\xff\xfe\x16\x03\x01 garbage\r\n", ""},
		{"empty line", "", "\r\n", ""},
		{"unknown before login", "", "GET / HTTP/1.1\r\n", "GET BAD"},
	} {
		rc := h.raw()
		if tc.login != "" {
			rc.send(tc.login)
			rc.until("l")
		}
		rc.c.Write([]byte(tc.input)) // the server may close before reading it all
		var got []string
		for {
			rc.c.SetReadDeadline(timeFromNow())
			l, err := rc.br.ReadString('\n')
			if err != nil {
				break
			}
			got = append(got, strings.TrimSpace(l))
		}
		if tc.want != "" && (len(got) == 0 || !strings.HasPrefix(got[0], tc.want)) {
			t.Errorf("%s: got %q, want %s", tc.name, got, tc.want)
		}
		// The server still serves.
		c := h.login(alice)
		if err := c.Noop().Wait(); err != nil {
			t.Fatalf("after %s: %v", tc.name, err)
		}
		c.Close()
	}
}
