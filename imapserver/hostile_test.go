package imapserver_test

import (
	"strconv"
	"strings"
	"testing"

	"mxdesk/imapserver"
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
	// A SASL response longer than the library's 4 KiB line: BAD, and
	// none of it is read as a command.
	rc.send("a AUTHENTICATE PLAIN\r\n")
	if l := rc.line(); !strings.HasPrefix(l, "+") {
		t.Fatalf("AUTHENTICATE PLAIN: %q, want a continuation", l)
	}
	rc.send(strings.Repeat("QUFB", 1500) + " b LOGOUT\r\n")
	if _, st := rc.until("a"); !strings.HasPrefix(st, "a BAD") {
		t.Errorf("SASL response of 6 KB: %s, want a BAD", st)
	}
	if _, st := rc.cmd("n", "NOOP"); !strings.HasPrefix(st, "n OK") {
		t.Fatalf("NOOP after the long SASL response: %s", st)
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

// A literal over 4 KiB outside APPEND is refused with NO [TOOBIG], and the
// client's next line is its next command: before the fix, `Z NOOP` was
// read as the literal's place and counted as a failed login of user Z.
func TestBigLiteralKeepsNextCommand(t *testing.T) {
	h := newHarness(t)
	rc := h.raw()
	// More refusals than the failed logins a connection may make: none
	// of them may count as a login.
	for range 4 {
		rc.send("a LOGIN {5000}\r\nZ NOOP\r\n")
		if _, st := rc.until("a"); !strings.HasPrefix(st, "a NO [TOOBIG]") {
			t.Fatalf("LOGIN {5000}: %s, want a NO [TOOBIG]", st)
		}
		if _, st := rc.until("Z"); !strings.HasPrefix(st, "Z OK NOOP") {
			t.Fatalf("NOOP after the literal: %s", st)
		}
	}
	// A non-synchronizing literal comes with its data: the data and the
	// rest of its line are skipped, nothing of them is a command.
	rc.send("a LOGIN {5000+}\r\n" + strings.Repeat("Z NOOP\r\n", 625) + " secret\r\nZ NOOP\r\n")
	if _, st := rc.until("a"); !strings.HasPrefix(st, "a NO [TOOBIG]") {
		t.Fatalf("LOGIN {5000+}: %s, want a NO [TOOBIG]", st)
	}
	if _, st := rc.until("Z"); !strings.HasPrefix(st, "Z OK NOOP") {
		t.Fatalf("NOOP after the literal: %s", st)
	}
	if _, st := rc.cmd("l", "LOGIN alice@example.test secret"); !strings.HasPrefix(st, "l OK") {
		t.Fatalf("LOGIN after the literals: %s", st)
	}
	rc.send("a SELECT {5000}\r\nZ NOOP\r\n")
	if _, st := rc.until("a"); !strings.HasPrefix(st, "a NO [TOOBIG]") {
		t.Fatalf("SELECT {5000}: %s, want a NO [TOOBIG]", st)
	}
	if _, st := rc.until("Z"); !strings.HasPrefix(st, "Z OK NOOP") {
		t.Fatalf("NOOP after SELECT's literal: %s", st)
	}
	// A command that fails right after a literal it read: the rest of
	// its line is skipped, the next line is a command.
	rc.send("a CREATE {4+}\r\n&Jjo\r\nZ NOOP\r\n")
	if _, st := rc.until("a"); !strings.HasPrefix(st, "a BAD") {
		t.Fatalf("CREATE {4+} &Jjo: %s, want a BAD", st)
	}
	if _, st := rc.until("Z"); !strings.HasPrefix(st, "Z OK NOOP") {
		t.Fatalf("NOOP after CREATE's literal: %s", st)
	}
	// A failed command whose line goes on with a literal: the literal is
	// skipped with the line.
	rc.send("a SEARCH FROB {10+}\r\nb LOGOUT\r\n\r\nZ NOOP\r\n")
	if _, st := rc.until("a"); !strings.HasPrefix(st, "a BAD") {
		t.Fatalf("SEARCH FROB {10+}: %s, want a BAD", st)
	}
	if _, st := rc.until("Z"); !strings.HasPrefix(st, "Z OK NOOP") {
		t.Fatalf("NOOP after the skipped literal: %s", st)
	}
}

// APPEND of a non-synchronizing literal the server refuses (over
// APPENDLIMIT) skips the literal's bytes: the message is not read as
// commands. Under it, LITERAL+ takes one over 4096 bytes.
func TestAppendRefusedNonSyncLiteral(t *testing.T) {
	h := newHarnessOpts(t, imapserver.Options{InsecureAuth: true, MaxAppend: 8192})
	rc := h.raw()
	rc.cmd("l", "LOGIN alice@example.test secret")
	msg := func(n int) string {
		return "Subject: x\r\n\r\n" + strings.Repeat("Z LOGOUT\r\n", n/10)
	}
	for _, tc := range []struct {
		body, want string
	}{
		{msg(9000), "a NO [TOOBIG]"}, // over APPENDLIMIT
		{msg(6000), "a OK"},          // under it, over LITERAL-'s 4096
	} {
		rc.send("a APPEND Drafts {" + strconv.Itoa(len(tc.body)) + "+}\r\n" + tc.body + "\r\nZ NOOP\r\n")
		if _, st := rc.until("a"); !strings.HasPrefix(st, tc.want) {
			t.Fatalf("APPEND {%d+}: %s, want %s", len(tc.body), st, tc.want)
		}
		if _, st := rc.until("Z"); !strings.HasPrefix(st, "Z OK NOOP") {
			t.Fatalf("NOOP after APPEND {%d+}: %s", len(tc.body), st)
		}
	}
}

// Raw 8-bit mailbox names are refused unless the client enabled
// UTF8=ACCEPT (RFC 6855); before that, names are modified UTF-7 (RFC 3501
// 5.1.3), as Thunderbird and mutt send them.
func TestEightBitMailboxNames(t *testing.T) {
	h := newHarness(t)
	rc := h.raw()
	rc.cmd("l", "LOGIN alice@example.test secret")
	for _, cmd := range []string{
		"CREATE \"Caf\xc3\xa9\"",
		"CREATE {5+}\r\nCaf\xc3\xa9",
		"CREATE Caf\xc3\xa9",
		"SELECT \"INBOX/\xe9t\xe9\"", // Latin-1
		"RENAME Drafts \"Entw\xc3\xbcrfe\"",
	} {
		if _, st := rc.cmd("a", cmd); !strings.HasPrefix(st, "a BAD") {
			t.Errorf("%q: %s, want a BAD", cmd, st)
		}
	}
	if _, st := rc.cmd("a", "CREATE \"Caf&AOk-\""); !strings.HasPrefix(st, "a OK") {
		t.Fatalf("CREATE in modified UTF-7: %s", st)
	}
	if untagged, _ := rc.cmd("a", "LIST \"\" Caf*"); len(untagged) != 1 || !strings.HasSuffix(untagged[0], "\"Caf&AOk-\"") {
		t.Errorf("LIST Caf*: %q, want one Caf&AOk-", untagged)
	}

	if untagged, st := rc.cmd("e", "ENABLE UTF8=ACCEPT"); !strings.HasPrefix(st, "e OK") || len(untagged) != 1 || untagged[0] != "* ENABLED UTF8=ACCEPT" {
		t.Fatalf("ENABLE UTF8=ACCEPT: %q %s", untagged, st)
	}
	if _, st := rc.cmd("a", "CREATE \"B\xc3\xbccher\""); !strings.HasPrefix(st, "a OK") {
		t.Fatalf("CREATE in UTF-8 after ENABLE UTF8=ACCEPT: %s", st)
	}
	if untagged, _ := rc.cmd("a", "LIST \"\" B*"); len(untagged) != 1 || !strings.HasSuffix(untagged[0], "\"B\xc3\xbccher\"") {
		t.Errorf("LIST B*: %q, want one B\u00fccher", untagged)
	}
	// Still not Latin-1, nor control characters.
	for _, cmd := range []string{"CREATE \"\xe9t\xe9\"", "CREATE \"a\x01b\""} {
		if _, st := rc.cmd("a", cmd); !strings.HasPrefix(st, "a BAD") {
			t.Errorf("%q with UTF8=ACCEPT: %s, want a BAD", cmd, st)
		}
	}
}
