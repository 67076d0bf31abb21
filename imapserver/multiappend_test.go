package imapserver_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"mxdesk/imapserver"
)

// multiAppend sends an APPEND of several messages with synchronizing
// literals, as imapsync and mbsync do (RFC 3502): each literal waits for
// the server's "+", and the messages follow one another on one line. It
// returns the tagged status, or the refusal that came instead of a "+".
func (rc *rawConn) multiAppend(tag, folder string, args []string, msgs []string) string {
	rc.t.Helper()
	line := tag + " APPEND " + folder
	for i, m := range msgs {
		rc.send(fmt.Sprintf("%s %s{%d}\r\n", line, args[i], len(m)))
		if l := rc.line(); !strings.HasPrefix(l, "+") {
			return l
		}
		line = m
	}
	rc.send(line + "\r\n")
	_, st := rc.until(tag)
	return st
}

func TestMultiAppend(t *testing.T) {
	h := newHarness(t)
	c := h.login(alice)
	caps, err := c.Capability().Wait()
	if err != nil {
		t.Fatal(err)
	}
	if !caps.Has(imap.CapMultiAppend) {
		t.Fatalf("MULTIAPPEND not advertised: %v", caps)
	}
	rc := h.raw()
	rc.cmd("l", "LOGIN alice@example.test secret")
	one := "From: a@customer.test\r\nSubject: one\r\n\r\nfirst\r\n"
	two := "From: b@customer.test\r\nSubject: two\r\n\r\nsecond\r\n"
	three := "Subject: three\r\n\r\nthird\r\n"
	st := rc.multiAppend("A", "Drafts", []string{`(\Seen) `, `(\Flagged $Todo) "02-Jan-2006 15:04:05 +0000" `, ""}, []string{one, two, three})
	uv := c.selectBox("Drafts").UIDValidity
	if want := fmt.Sprintf("A OK [APPENDUID %d 1:3] ", uv); !strings.HasPrefix(st, want) {
		t.Fatalf("APPEND of three: %s, want %s", st, want)
	}
	msgs := c.fetchAll(&imap.FetchOptions{UID: true, Flags: true, InternalDate: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
	if len(msgs) != 3 {
		t.Fatalf("Drafts holds %d messages", len(msgs))
	}
	for i, want := range []string{one, two, three} {
		if got := string(msgs[i].BodySection[0].Bytes); got != want {
			t.Errorf("message %d = %q, want %q", i+1, got, want)
		}
	}
	for i, want := range [][]imap.Flag{{imap.FlagSeen}, {"$Todo", imap.FlagFlagged}, nil} {
		got := slices.DeleteFunc(msgs[i].Flags, func(f imap.Flag) bool { return f == `\Recent` })
		slices.Sort(got)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("message %d has flags %v, want %v", i+1, got, want)
		}
	}
	if got := msgs[1].InternalDate.UTC().Format("2006-01-02 15:04"); got != "2006-01-02 15:04" {
		t.Errorf("second message's date %s", got)
	}

	// Non-synchronizing literals within LITERAL-'s 4096 bytes.
	rc.send(fmt.Sprintf("B APPEND Drafts {%d+}\r\n%s {%d+}\r\n%s\r\n", len(one), one, len(two), two))
	if _, st := rc.until("B"); !strings.HasPrefix(st, fmt.Sprintf("B OK [APPENDUID %d 4:5] ", uv)) {
		t.Errorf("APPEND {n+} of two: %s", st)
	}
}

// The messages of one APPEND are stored together or not at all: a
// message the store refuses inside the transaction (its keyword is one
// past the folder's 256, which the four before it filled with 64 each,
// the most one message may carry) leaves none of the others.
func TestMultiAppendAllOrNothing(t *testing.T) {
	h := newHarness(t)
	rc := h.raw()
	rc.cmd("l", "LOGIN alice@example.test secret")
	var args, msgs []string
	msg := "Subject: x\r\n\r\nx\r\n"
	for m := range 4 {
		var kw []string
		for i := range 64 {
			kw = append(kw, fmt.Sprintf("$k%d", m*64+i))
		}
		args, msgs = append(args, "("+strings.Join(kw, " ")+") "), append(msgs, msg)
	}
	args, msgs = append(args, "($onetoomany) "), append(msgs, msg)
	st := rc.multiAppend("A", "Drafts", args, msgs)
	if !strings.HasPrefix(st, "A NO") || !strings.Contains(st, "too many distinct keywords") {
		t.Fatalf("APPEND past the keyword limit: %s, want NO ... too many distinct keywords", st)
	}
	untagged, _ := rc.cmd("s", "STATUS Drafts (MESSAGES UIDNEXT)")
	if len(untagged) != 1 || untagged[0] != `* STATUS "Drafts" (MESSAGES 0 UIDNEXT 1)` {
		t.Fatalf("after the refused APPEND: %q", untagged)
	}
	// A bad flag in the second message: BAD, nothing stored either.
	st = rc.multiAppend("B", "Drafts", []string{"", `(\Bogus) `}, []string{msg, msg})
	if !strings.HasPrefix(st, "B BAD") {
		t.Fatalf("APPEND with an unknown system flag: %s", st)
	}
	untagged, _ = rc.cmd("s", "STATUS Drafts (MESSAGES)")
	if len(untagged) != 1 || untagged[0] != `* STATUS "Drafts" (MESSAGES 0)` {
		t.Fatalf("after the BAD APPEND: %q", untagged)
	}
}

// Each literal counts against what the APPEND limit leaves: messages that
// fit alone but not together are refused before the one that passes it is
// sent, nothing is stored and the connection goes on. Nobody makes the
// server read message bytes before logging in.
func TestMultiAppendLimit(t *testing.T) {
	h := newHarnessOpts(t, imapserver.Options{InsecureAuth: true, MaxAppend: 1000})
	rc := h.raw()
	if _, st := rc.cmd("a", "APPEND Drafts {10}"); !strings.HasPrefix(st, "a BAD") {
		t.Fatalf("APPEND before login: %s", st)
	}
	rc.cmd("l", "LOGIN alice@example.test secret")
	big := "Subject: x\r\n\r\n" + strings.Repeat("y", 600)
	st := rc.multiAppend("A", "Drafts", []string{"", ""}, []string{big, big})
	if !strings.HasPrefix(st, "A NO [TOOBIG] The messages of one APPEND are limited to 1000 bytes together") {
		t.Fatalf("two messages over the limit together: %s", st)
	}
	// The same with non-synchronizing literals: the refused one's bytes
	// are skipped, not read as a command.
	rc.send(fmt.Sprintf("B APPEND Drafts {%d+}\r\n%s {%d+}\r\n%s\r\n", len(big), big, len(big), big))
	if _, st := rc.until("B"); !strings.HasPrefix(st, "B NO [TOOBIG]") {
		t.Fatalf("{n+} over the limit together: %s", st)
	}
	untagged, st := rc.cmd("s", "STATUS Drafts (MESSAGES)")
	if !strings.HasPrefix(st, "s OK") || len(untagged) != 1 || untagged[0] != `* STATUS "Drafts" (MESSAGES 0)` {
		t.Fatalf("after the refused APPENDs: %q %s", untagged, st)
	}
}
