package imapserver_test

import (
	"strings"
	"testing"
)

// Input the parser can't take is the client's error: a tagged BAD (never
// NO [SERVERBUG]), and the connection reads the next command as a command
// (issue 14, item 11).
func TestParseErrorsAnswerBAD(t *testing.T) {
	h := newHarness(t)
	h.deliver("carla@customer.test", "one", "x")

	// Before login: a SASL initial response that is not base64.
	rc := h.raw()
	if _, st := rc.cmd("a", "AUTHENTICATE PLAIN !!!!"); !strings.HasPrefix(st, "a BAD") {
		t.Errorf("AUTHENTICATE PLAIN !!!!: %s, want a BAD", st)
	}
	if _, st := rc.cmd("n", "NOOP"); !strings.HasPrefix(st, "n OK") {
		t.Fatalf("NOOP after AUTHENTICATE: %s", st)
	}

	rc.cmd("l", "LOGIN alice@example.test secret")
	rc.cmd("s", "SELECT Queues/Support")
	for _, cmd := range []string{
		"SEARCH " + strings.Repeat("(", 1500) + "ALL" + strings.Repeat(")", 1500),
		"SEARCH TEXT " + strings.Repeat("x", 60*1024),
		"SEARCH TEXT \"" + strings.Repeat("x", 60*1024) + "\"",
		"SEARCH FROB",
		"SEARCH SINCE 31-Foo-2020",
		"SEARCH 4294967296",
		"CREATE \"a\x00b\"",
		"CREATE \"&Jjo\"",
		"CREATE \"&AGE-\"", // "a" in UTF-7: not the shortest form
		"RENAME \"&Jjo\" x",
		"FETCH 4294967296 FLAGS",
		"FETCH 1:4294967296 FLAGS",
		"FETCH 0 FLAGS",
		"FETCH 1:x FLAGS",
		"UID FETCH 99999999999 FLAGS",
		"FETCH 1 BODY[]<0.99999999999999999999>",
		"STORE 4294967296 +FLAGS (\\Seen)",
		"APPEND INBOX (\\Seen) \"not a date\" {1}",
	} {
		_, st := rc.cmd("a", cmd)
		if !strings.HasPrefix(st, "a BAD") {
			t.Errorf("%.50q: %s, want a BAD", cmd, st)
		}
		if _, st := rc.cmd("n", "NOOP"); !strings.HasPrefix(st, "n OK") {
			t.Fatalf("NOOP after %.50q: %s", cmd, st)
		}
	}
}

// FETCH BODY[n] with a part number past 32 bits is BAD: the parser used to
// drop the number and answer with the whole message as BODY[].
func TestFetchSectionPartOutOfRange(t *testing.T) {
	h := newHarness(t)
	h.deliver("carla@customer.test", "one", "the body")
	rc := h.raw()
	rc.cmd("l", "LOGIN alice@example.test secret")
	rc.cmd("s", "SELECT Queues/Support")
	for _, cmd := range []string{"FETCH 1 BODY[99999999999]", "FETCH 1 BODY.PEEK[1.99999999999]", "FETCH 1 BODY[99999999999.HEADER]"} {
		untagged, st := rc.cmd("a", cmd)
		if !strings.HasPrefix(st, "a BAD") {
			t.Errorf("%s: %s, want a BAD", cmd, st)
		}
		if len(untagged) > 0 {
			t.Errorf("%s: answered %q", cmd, untagged)
		}
	}
	// In range, a part that does not exist is empty, not the message.
	untagged, st := rc.cmd("a", "FETCH 1 BODY.PEEK[7]")
	if !strings.HasPrefix(st, "a OK") || len(untagged) == 0 || !strings.Contains(untagged[0], "BODY[7] {0}") {
		t.Errorf("BODY[7]: %q %s, want an empty BODY[7]", untagged, st)
	}
}
