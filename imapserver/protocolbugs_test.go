package imapserver_test

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Issue 21, "Protocol bugs found": each test sends the exact bytes that
// showed the bug.

// A LIST or LSUB pattern with an unterminated modified UTF-7 shift ("&"
// without its "-") is the client's error: BAD [CLIENTBUG], like a mailbox
// name, never NO [SERVERBUG]. The connection goes on.
func TestListPatternBadModifiedUTF7(t *testing.T) {
	h := newHarness(t)
	rc := h.raw()
	rc.cmd("l", "LOGIN alice@example.test secret")
	for _, cmd := range []string{
		`LIST "" "Queues/&Jjo"`,
		`LIST "" "&"`,
		`LIST "" foo&bar*`,
		`LSUB "" "Queues/&AOk*"`,
		`LIST (SUBSCRIBED) "" ("*" "&Jjo")`,
	} {
		untagged, st := rc.cmd("a", cmd)
		if !strings.HasPrefix(st, "a BAD [CLIENTBUG]") || len(untagged) != 0 {
			t.Errorf("%s: %q %s, want a BAD [CLIENTBUG] and no LIST", cmd, untagged, st)
		}
		if _, st := rc.cmd("n", "NOOP"); !strings.HasPrefix(st, "n OK") {
			t.Fatalf("NOOP after %s: %s", cmd, st)
		}
	}
	// A well-formed shift still matches.
	if untagged, st := rc.cmd("a", `LIST "" "Queues/&Jjo-*"`); !strings.HasPrefix(st, "a OK") {
		t.Errorf("valid pattern: %q %s", untagged, st)
	}
}

// ENVELOPE of a group holding only a comment ("Cc: group2: (foo) ;") is the
// group's two markers: the comment is no member (RFC 5322 3.4: group-list
// may be CFWS alone), so no ("foo" NIL "MISSING_MAILBOX" "MISSING_DOMAIN").
func TestEnvelopeGroupWithOnlyAComment(t *testing.T) {
	h := newHarness(t)
	h.deliverRaw("support@example.test", "From: carla@customer.test\r\n"+
		"To: support@example.test\r\n"+
		"Cc: group1: (comment) a@b.example;, group2: (foo) ;\r\n"+
		"Subject: groups\r\n"+
		"Date: Mon, 02 Jan 2006 15:04:05 +0000\r\n\r\nbody\r\n")
	rc := h.raw()
	rc.cmd("l", "LOGIN alice@example.test secret")
	rc.cmd("s", "SELECT Queues/Support")
	untagged, st := rc.cmd("f", "FETCH 1 (ENVELOPE)")
	if !strings.HasPrefix(st, "f OK") || len(untagged) != 1 {
		t.Fatalf("FETCH ENVELOPE: %q %s", untagged, st)
	}
	wantCc := `((NIL NIL "group1" NIL) ("comment" NIL "a" "b.example") (NIL NIL NIL NIL) ` +
		`(NIL NIL "group2" NIL) (NIL NIL NIL NIL))`
	if !strings.Contains(untagged[0], wantCc) {
		t.Errorf("ENVELOPE %s\nwant Cc %s", untagged[0], wantCc)
	}
	if strings.Contains(untagged[0], `"foo"`) {
		t.Errorf("the comment became a member: %s", untagged[0])
	}
}

// binaryPartMessage is a message whose second part is
// Content-Transfer-Encoding: binary and holds NUL bytes, as APPENDed in a
// literal8 (RFC 3516 4.4).
const binaryPartMessage = "From: alice@example.test\r\n" +
	"To: carla@customer.test\r\n" +
	"Subject: binary part\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=\"b1\"\r\n" +
	"\r\n" +
	"--b1\r\n" +
	"Content-Type: text/plain\r\n" +
	"\r\n" +
	"see the attachment\r\n" +
	"--b1\r\n" +
	"Content-Type: application/octet-stream\r\n" +
	"Content-Transfer-Encoding: binary\r\n" +
	"\r\n" +
	"\x00\x01\x02ab\x00\xff\r\n" +
	"--b1--\r\n"

// appendBinary APPENDs binaryPartMessage to Drafts in a literal8 and
// selects Drafts.
func appendBinary(t *testing.T, rc *rawConn) {
	t.Helper()
	rc.cmd("l", "LOGIN alice@example.test secret")
	rc.send("a APPEND Drafts ~{" + strconv.Itoa(len(binaryPartMessage)) + "}\r\n")
	if l := rc.line(); !strings.HasPrefix(l, "+") {
		t.Fatalf("APPEND literal8: %s", l)
	}
	rc.send(binaryPartMessage + "\r\n")
	if _, st := rc.until("a"); !strings.HasPrefix(st, "a OK") {
		t.Fatalf("APPEND literal8: %s", st)
	}
	rc.cmd("s", "SELECT Drafts")
}

// A part with Content-Transfer-Encoding: binary holding NUL bytes can't go
// in a {n} literal (RFC 3501 4.3: CHAR8 excludes NUL): BODY[2] serves it
// base64 encoded, as Dovecot does, and BODYSTRUCTURE says "base64" with the
// encoded size, so a client decodes what it gets. BINARY[2] gives the bytes
// themselves in a literal8.
func TestFetchBinaryPartHasNoNUL(t *testing.T) {
	h := newHarness(t)
	rc := h.raw()
	appendBinary(t, rc)
	const b64 = "AAECYWIA/w==" // base64 of "\x00\x01\x02ab\x00\xff"
	untagged, st := rc.cmd("f", "FETCH 1 (BODY.PEEK[2])")
	want := []string{"* 1 FETCH (BODY[2] {" + strconv.Itoa(len(b64)) + "}", b64 + ")"}
	if !strings.HasPrefix(st, "f OK") || !slices.Equal(untagged, want) {
		t.Fatalf("FETCH BODY[2]: %q %s, want %q", untagged, st, want)
	}
	untagged, _ = rc.cmd("b", "FETCH 1 (BINARY.PEEK[2])")
	want = []string{"* 1 FETCH (BINARY[2] ~{7}", "\x00\x01\x02ab\x00\xff)"}
	if !slices.Equal(untagged, want) {
		t.Errorf("FETCH BINARY[2]: %q, want %q", untagged, want)
	}
	untagged, _ = rc.cmd("g", "FETCH 1 (BODYSTRUCTURE)")
	wantBS := `("application" "octet-stream" NIL NIL NIL "base64" ` + strconv.Itoa(len(b64))
	if len(untagged) != 1 || !strings.Contains(untagged[0], wantBS) {
		t.Errorf("BODYSTRUCTURE %q, want %s", untagged, wantBS)
	}
	for _, l := range untagged {
		if strings.ContainsRune(l, 0) {
			t.Errorf("NUL in %q", l)
		}
	}
}

// Partial BINARY[n]<o.l> (RFC 3516 4.2) answers the decoded part's bytes
// from o, at most l of them, as BINARY[n]<o> (the origin the client
// matches the answer by); a start past the end gives the empty string.
func TestFetchPartialBinary(t *testing.T) {
	h := newHarness(t)
	rc := h.raw()
	appendBinary(t, rc)
	for _, tc := range []struct {
		fetch string
		want  []string
	}{
		{"BINARY.PEEK[2]<1.3>", []string{"* 1 FETCH (BINARY[2]<1> ~{3}", "\x01\x02a)"}},
		{"BINARY.PEEK[1]<4.3>", []string{"* 1 FETCH (BINARY[1]<4> ~{3}", "the)"}},
		{"BINARY.PEEK[2]<5.100>", []string{"* 1 FETCH (BINARY[2]<5> ~{2}", "\x00\xff)"}},
		{"BINARY.PEEK[2]<99.1>", []string{`* 1 FETCH (BINARY[2]<99> ~{0}`, ")"}},
	} {
		untagged, st := rc.cmd("f", "FETCH 1 ("+tc.fetch+")")
		if !strings.HasPrefix(st, "f OK") || !slices.Equal(untagged, tc.want) {
			t.Errorf("FETCH %s: %q %s, want %q", tc.fetch, untagged, st, tc.want)
		}
	}
}

// COPY of a session's message into the folder the session already lives
// in (INBOX to INBOX: Thunderbird's Ctrl-drag onto the same folder, mutt's
// C then =INBOX) has nothing to do: a session's messages are in one place.
// It answers NO [CANNOT] saying so, not OK with nothing done; INBOX keeps
// its one message.
func TestCopySessionMessageIntoItsOwnFolder(t *testing.T) {
	h := newHarness(t)
	h.deliver("Carla <carla@customer.test>", "Need help", "please")
	rc := h.raw()
	rc.cmd("l", "LOGIN alice@example.test secret")
	rc.cmd("s", "SELECT Queues/Support")
	if _, st := rc.cmd("m", "MOVE 1 INBOX"); !strings.HasPrefix(st, "m OK") {
		t.Fatalf("claim: %s", st)
	}
	rc.cmd("s", "SELECT INBOX")
	untagged, st := rc.cmd("c", "COPY 1 INBOX")
	if !strings.HasPrefix(st, "c NO [CANNOT] session S-") || !strings.Contains(st, "is already in INBOX") {
		t.Errorf("COPY INBOX to INBOX: %q %s, want NO [CANNOT] ... is already in INBOX", untagged, st)
	}
	rc.cmd("m", "MOVE 1 Resolved")
	rc.cmd("s", "SELECT Resolved")
	if _, st := rc.cmd("c", "UID COPY 1:* Resolved"); !strings.HasPrefix(st, "c NO [CANNOT]") {
		t.Errorf("COPY Resolved to Resolved: %s, want NO [CANNOT]", st)
	}
	// Copying it elsewhere still acts: back into INBOX resumes it there.
	if _, st := rc.cmd("c", "COPY 1 INBOX"); !strings.HasPrefix(st, "c OK [COPYUID ") {
		t.Errorf("COPY Resolved to INBOX: %s", st)
	}
	untagged, _ = rc.cmd("x", "STATUS INBOX (MESSAGES)")
	if len(untagged) != 1 || untagged[0] != `* STATUS INBOX (MESSAGES 1)` {
		t.Errorf("INBOX after the copies: %q", untagged)
	}
}

// Subscriptions are their own list (RFC 3501 6.3.6): CREATE subscribes
// neither the folder nor the parents it makes; DELETE keeps the
// subscription, which LSUB shows \Noselect and LIST (SUBSCRIBED)
// \NonExistent (RFC 5258); CREATE under the name again finds it
// subscribed; UNSUBSCRIBE forgets it. Desk folders stay subscribed.
func TestSubscriptionsAreTheirOwnList(t *testing.T) {
	h := newHarness(t)
	rc := h.raw()
	rc.cmd("l", "LOGIN alice@example.test secret")
	list := func(cmd string, want ...string) {
		t.Helper()
		untagged, st := rc.cmd("a", cmd)
		if !strings.HasPrefix(st, "a OK") || !slices.Equal(untagged, want) {
			t.Errorf("%s: %q %s, want %q", cmd, untagged, st, want)
		}
	}
	if _, st := rc.cmd("c", "CREATE Projects/2026"); !strings.HasPrefix(st, "c OK") {
		t.Fatalf("CREATE: %s", st)
	}
	list(`LSUB "" Projects*`)
	list(`LIST (SUBSCRIBED) "" Projects*`)
	list(`LSUB "" INBOX`, `* LSUB (\HasNoChildren) "/" INBOX`)

	rc.cmd("s", "SUBSCRIBE Projects/2026")
	list(`LSUB "" Projects*`, `* LSUB (\HasNoChildren) "/" "Projects/2026"`)
	if _, st := rc.cmd("d", "DELETE Projects/2026"); !strings.HasPrefix(st, "d OK") {
		t.Fatalf("DELETE: %s", st)
	}
	list(`LSUB "" Projects*`, `* LSUB (\Noselect) "/" "Projects/2026"`)
	list(`LIST (SUBSCRIBED) "" Projects*`, `* LIST (\NonExistent \Subscribed) "/" "Projects/2026"`)
	list(`LIST "" Projects*`, `* LIST (\HasNoChildren) "/" "Projects"`)

	rc.cmd("c", "CREATE Projects/2026")
	list(`LIST (SUBSCRIBED) "" Projects*`, `* LIST (\HasNoChildren \Subscribed) "/" "Projects/2026"`)
	rc.cmd("d", "DELETE Projects/2026")
	if _, st := rc.cmd("u", "UNSUBSCRIBE Projects/2026"); !strings.HasPrefix(st, "u OK") {
		t.Fatalf("UNSUBSCRIBE of a deleted folder: %s", st)
	}
	list(`LSUB "" Projects*`)
}

// flagsWatcher follows one connection's untagged lines: the mailbox FLAGS
// it was last told, and each FETCH's keywords checked against them.
type flagsWatcher struct {
	t     *testing.T
	name  string
	known map[string]bool
}

var flagsList = regexp.MustCompile(`FLAGS \(([^)]*)\)`)

func (fw *flagsWatcher) see(lines []string) {
	fw.t.Helper()
	for _, l := range lines {
		m := flagsList.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		flags := strings.Fields(m[1])
		if strings.HasPrefix(l, "* FLAGS ") {
			fw.known = map[string]bool{}
			for _, f := range flags {
				fw.known[f] = true
			}
			continue
		}
		for _, f := range flags {
			if !strings.HasPrefix(f, `\`) && !fw.known[f] {
				fw.t.Errorf("%s: %q carries %s, which the last FLAGS did not announce", fw.name, l, f)
			}
		}
	}
}

// selectWatched selects Drafts and starts a watcher on its FLAGS.
func selectWatched(t *testing.T, rc *rawConn, name string) *flagsWatcher {
	fw := &flagsWatcher{t: t, name: name}
	untagged, st := rc.cmd("s", "SELECT Drafts")
	if !strings.HasPrefix(st, "s OK") {
		t.Fatalf("%s SELECT Drafts: %s", name, st)
	}
	fw.see(untagged)
	return fw
}

// A new keyword is announced by an untagged FLAGS before any FETCH that
// carries it (RFC 3501 7.2.6): before the STORE's own FETCH, and before
// the FETCH of another connection that asks for the message's flags.
func TestNewKeywordFlagsBeforeFetch(t *testing.T) {
	h := newHarness(t)
	a, b := h.raw(), h.raw()
	a.cmd("l", "LOGIN alice@example.test secret")
	b.cmd("l", "LOGIN alice@example.test secret")
	msg := "From: alice@example.test\r\nSubject: note\r\n\r\nx\r\n"
	a.send("p APPEND Drafts {" + strconv.Itoa(len(msg)) + "+}\r\n" + msg + "\r\n")
	a.until("p")
	fa, fb := selectWatched(t, a, "a"), selectWatched(t, b, "b")

	untagged, st := a.cmd("t", "STORE 1 +FLAGS ($Customer)")
	if !strings.HasPrefix(st, "t OK") || len(untagged) == 0 || !strings.HasPrefix(untagged[0], "* FLAGS (") {
		t.Errorf("STORE of a new keyword: %q %s, want the FLAGS first", untagged, st)
	}
	fa.see(untagged)
	untagged, _ = b.cmd("f", "FETCH 1 (FLAGS)")
	fb.see(untagged)
	untagged, _ = a.cmd("f", "UID FETCH 1:* (FLAGS)")
	fa.see(untagged)
}

// Two connections storing new keywords at once each see every keyword
// announced before a FETCH carries it, and the last FLAGS each gets holds
// every keyword the message has.
func TestNewKeywordsConcurrentFlagsComplete(t *testing.T) {
	h := newHarness(t)
	a, b := h.raw(), h.raw()
	a.cmd("l", "LOGIN alice@example.test secret")
	b.cmd("l", "LOGIN alice@example.test secret")
	msg := "From: alice@example.test\r\nSubject: note\r\n\r\nx\r\n"
	a.send("p APPEND Drafts {" + strconv.Itoa(len(msg)) + "+}\r\n" + msg + "\r\n")
	a.until("p")
	fa, fb := selectWatched(t, a, "a"), selectWatched(t, b, "b")
	const rounds = 30
	for i := range rounds {
		// Both commands are in flight together; the server runs the
		// two connections at once.
		a.send(fmt.Sprintf("t STORE 1 +FLAGS ($a%d)\r\n", i))
		b.send(fmt.Sprintf("t STORE 1 +FLAGS ($b%d)\r\n", i))
		ua, sa := a.until("t")
		ub, sb := b.until("t")
		if !strings.HasPrefix(sa, "t OK") || !strings.HasPrefix(sb, "t OK") {
			t.Fatalf("round %d: %s / %s", i, sa, sb)
		}
		fa.see(ua)
		fb.see(ub)
	}
	for _, c := range []struct {
		rc *rawConn
		fw *flagsWatcher
	}{{a, fa}, {b, fb}} {
		untagged, _ := c.rc.cmd("n", "NOOP")
		c.fw.see(untagged)
		untagged, _ = c.rc.cmd("f", "FETCH 1 (FLAGS)")
		c.fw.see(untagged)
		for i := range rounds {
			for _, k := range []string{fmt.Sprintf("$a%d", i), fmt.Sprintf("$b%d", i)} {
				if !c.fw.known[k] {
					t.Errorf("%s: the last FLAGS lacks %s", c.fw.name, k)
				}
			}
		}
	}
}

// An EXPUNGE can't be written during FETCH (RFC 3501 7.4.1), and it holds
// back the updates queued after it; the untagged FLAGS of a new keyword
// queued behind it still comes before the FETCH that carries the keyword.
func TestNewKeywordFlagsBeforeFetchBehindExpunge(t *testing.T) {
	h := newHarness(t)
	a, b := h.raw(), h.raw()
	a.cmd("l", "LOGIN alice@example.test secret")
	b.cmd("l", "LOGIN alice@example.test secret")
	for _, subject := range []string{"one", "two"} {
		msg := "From: alice@example.test\r\nSubject: " + subject + "\r\n\r\nx\r\n"
		a.send("p APPEND Drafts {" + strconv.Itoa(len(msg)) + "+}\r\n" + msg + "\r\n")
		a.until("p")
	}
	fa, _ := selectWatched(t, a, "a"), selectWatched(t, b, "b")
	b.cmd("d", "STORE 1 +FLAGS.SILENT (\\Deleted)")
	if _, st := b.cmd("e", "EXPUNGE"); !strings.HasPrefix(st, "e OK") {
		t.Fatalf("EXPUNGE: %s", st)
	}
	b.cmd("k", "STORE 1 +FLAGS.SILENT ($Late)")
	untagged, st := a.cmd("f", "FETCH 2 (FLAGS)")
	if !strings.HasPrefix(st, "f OK") {
		t.Fatalf("FETCH: %s", st)
	}
	fa.see(untagged)
	if !fa.known["$Late"] {
		t.Errorf("FETCH behind an EXPUNGE: %q, want the FLAGS with $Late", untagged)
	}
	untagged, _ = a.cmd("n", "NOOP")
	fa.see(untagged)
	if !fa.known["$Late"] || !slices.Contains(untagged, "* 1 EXPUNGE") {
		t.Errorf("NOOP after: %q, want the EXPUNGE and no FLAGS without $Late", untagged)
	}
}
