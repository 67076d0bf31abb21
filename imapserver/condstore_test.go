package imapserver_test

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"mxdesk/imapserver"
	"mxdesk/testutil"
)

// rawLogin opens a raw connection logged in as who.
func (h *harness) rawLogin(who string) *rawConn {
	h.t.Helper()
	rc := h.raw()
	if _, st := rc.cmd("L", fmt.Sprintf("LOGIN %s %q", who, testutil.Password)); !strings.HasPrefix(st, "L OK") {
		h.t.Fatalf("LOGIN: %s", st)
	}
	return rc
}

// okCmd is cmd that fails the test unless the answer is OK.
func (rc *rawConn) okCmd(tag, command string) []string {
	rc.t.Helper()
	untagged, st := rc.cmd(tag, command)
	if !strings.HasPrefix(st, tag+" OK") {
		rc.t.Fatalf("%s: %s (after %q)", command, st, untagged)
	}
	return untagged
}

// lineMatching returns the first line matching re, or fails the test.
func lineMatching(t *testing.T, lines []string, re string) []string {
	t.Helper()
	r := regexp.MustCompile(re)
	for _, l := range lines {
		if m := r.FindStringSubmatch(l); m != nil {
			return m
		}
	}
	t.Fatalf("no line matches %s in:\n%s", re, strings.Join(lines, "\n"))
	return nil
}

func noLineMatching(t *testing.T, lines []string, re string) {
	t.Helper()
	r := regexp.MustCompile(re)
	for _, l := range lines {
		if r.MatchString(l) {
			t.Fatalf("line %q matches %s", l, re)
		}
	}
}

// workFolder creates alice's folder Work holding n messages appended
// through imapclient: HIGHESTMODSEQ is 1 (creation) + n.
func workFolder(t *testing.T, h *harness, n int) *client {
	t.Helper()
	c := h.login(alice)
	if err := c.Create("Work", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		appendMsg(t, c, "Work", fmt.Sprintf("Subject: m%d\r\n\r\nx\r\n", i+1), nil)
	}
	// Take \Recent, which would show in every FLAGS below.
	c.selectBox("Work")
	if err := c.Unselect().Wait(); err != nil {
		t.Fatal(err)
	}
	return c
}

func atoi64(t *testing.T, s string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// The CONDSTORE exchanges on the wire: capabilities, SELECT (CONDSTORE)
// with HIGHESTMODSEQ, FETCH MODSEQ, STORE answering with MODSEQ, FETCH
// CHANGEDSINCE, SEARCH MODSEQ with its (MODSEQ n), STATUS HIGHESTMODSEQ,
// FETCH setting \Seen.
func TestCondStoreOnTheWire(t *testing.T) {
	h := newHarness(t)
	workFolder(t, h, 3) // mod-sequences: Work 1, messages 2, 3, 4
	rc := h.rawLogin(alice)

	caps := rc.okCmd("C", "CAPABILITY")
	lineMatching(t, caps, `^\* CAPABILITY .* CONDSTORE QRESYNC`)

	sel := rc.okCmd("S", "SELECT Work (CONDSTORE)")
	lineMatching(t, sel, `^\* OK \[HIGHESTMODSEQ 4\]`)
	noLineMatching(t, sel, `NOMODSEQ`)

	f := rc.okCmd("F", "FETCH 1:* (FLAGS MODSEQ)")
	lineMatching(t, f, `^\* 1 FETCH \(FLAGS \(\) MODSEQ \(2\)\)$`)
	lineMatching(t, f, `^\* 3 FETCH \(FLAGS \(\) MODSEQ \(4\)\)$`)

	st := rc.okCmd("T", `STORE 2 +FLAGS (\Flagged)`)
	lineMatching(t, st, `^\* 2 FETCH \(UID 2 FLAGS \(\\Flagged\) MODSEQ \(5\)\)$`)

	ch := rc.okCmd("G", "FETCH 1:* (FLAGS) (CHANGEDSINCE 4)")
	if len(ch) != 1 {
		t.Fatalf("FETCH CHANGEDSINCE 4 answered %q, want message 2 only", ch)
	}
	lineMatching(t, ch, `^\* 2 FETCH \(FLAGS \(\\Flagged\) MODSEQ \(5\)\)$`)

	se := rc.okCmd("H", "SEARCH MODSEQ 4")
	lineMatching(t, se, `^\* SEARCH 2 3 \(MODSEQ 5\)$`)
	none := rc.okCmd("I", "SEARCH MODSEQ 6")
	lineMatching(t, none, `^\* SEARCH$`)

	stat := rc.okCmd("J", "STATUS Work (HIGHESTMODSEQ MESSAGES)")
	lineMatching(t, stat, `^\* STATUS "Work" \(MESSAGES 3 HIGHESTMODSEQ 5\)$`)

	// A FETCH that sets \Seen reports the change with UID and MODSEQ.
	b := rc.okCmd("K", "FETCH 3 (BODY[])")
	lineMatching(t, b, `^\* 3 FETCH \(UID 3 FLAGS \(\\Seen\) MODSEQ \(6\) BODY\[\] \{`)

	ex := rc.okCmd("X", "EXAMINE Work (CONDSTORE)")
	lineMatching(t, ex, `^\* OK \[HIGHESTMODSEQ 6\]`)
}

// The go-imap client library reads what the server sends: SELECT's
// HIGHESTMODSEQ, FETCH MODSEQ and CHANGEDSINCE, STATUS HIGHESTMODSEQ.
func TestCondStoreWithImapclient(t *testing.T) {
	h := newHarness(t)
	c := workFolder(t, h, 2)
	d, err := c.Select("Work", &imap.SelectOptions{CondStore: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if d.HighestModSeq != 3 {
		t.Errorf("SELECT HIGHESTMODSEQ = %d, want 3", d.HighestModSeq)
	}
	store(t, c, imap.UIDSetNum(1), imap.StoreFlagsAdd, imap.FlagSeen)
	var all imap.SeqSet
	all.AddRange(1, 0)
	msgs, err := c.Fetch(all, &imap.FetchOptions{UID: true, Flags: true, ChangedSince: 3}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].UID != 1 || msgs[0].ModSeq != 4 {
		t.Fatalf("FETCH CHANGEDSINCE 3 = %+v, want UID 1 with MODSEQ 4", msgs)
	}
	s, err := c.Status("Work", &imap.StatusOptions{HighestModSeq: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if s.HighestModSeq != 4 {
		t.Errorf("STATUS HIGHESTMODSEQ = %d, want 4", s.HighestModSeq)
	}
}

// STORE (UNCHANGEDSINCE n) leaves the messages changed since alone and
// names them in OK [MODIFIED set]: sequence numbers for STORE, UIDs for
// UID STORE.
func TestConditionalStoreReportsModified(t *testing.T) {
	h := newHarness(t)
	workFolder(t, h, 3) // 2, 3, 4
	rc := h.rawLogin(alice)
	rc.okCmd("S", "SELECT Work (CONDSTORE)")
	rc.okCmd("A", `UID STORE 3 +FLAGS (\Seen)`) // message 3: 5

	untagged, st := rc.cmd("B", `STORE 1:3 (UNCHANGEDSINCE 4) +FLAGS (\Flagged)`)
	if st != "B OK [MODIFIED 3] Conditional STORE failed for some messages" {
		t.Errorf("STORE UNCHANGEDSINCE answered %q", st)
	}
	lineMatching(t, untagged, `^\* 1 FETCH \(UID 1 FLAGS \(\\Flagged\) MODSEQ \(6\)\)$`)
	noLineMatching(t, untagged, `^\* 3 FETCH`)
	_, st = rc.cmd("C", `UID STORE 2:3 (UNCHANGEDSINCE 5) -FLAGS (\Flagged)`)
	if !strings.HasPrefix(st, "C OK [MODIFIED 2]") {
		t.Errorf("UID STORE UNCHANGEDSINCE answered %q, want MODIFIED 2 (changed at 7)", st)
	}
	// Message 3 had no \Flagged to remove: unchanged, same MODSEQ.
	f := rc.okCmd("F", "FETCH 3 (FLAGS MODSEQ)")
	lineMatching(t, f, `^\* 3 FETCH \(FLAGS \(\\Seen\) MODSEQ \(5\)\)$`)
}

// Two agents store on the same message, both unchanged since the same
// mod-sequence: one wins, the other is told MODIFIED and its flag is not
// set.
func TestConcurrentConditionalStore(t *testing.T) {
	h := newHarness(t)
	workFolder(t, h, 1) // message 1: 2
	a, b := h.rawLogin(alice), h.rawLogin(alice)
	a.okCmd("S", "SELECT Work")
	b.okCmd("S", "SELECT Work")
	a.send("A UID STORE 1 (UNCHANGEDSINCE 2) +FLAGS ($A)\r\n")
	b.send("B UID STORE 1 (UNCHANGEDSINCE 2) +FLAGS ($B)\r\n")
	_, sa := a.until("A")
	_, sb := b.until("B")
	won, lost := sa, sb
	if strings.Contains(sa, "MODIFIED") {
		won, lost = sb, sa
	}
	if strings.Contains(won, "MODIFIED") || !strings.Contains(lost, "[MODIFIED 1]") {
		t.Fatalf("answers %q and %q, want one OK and one OK [MODIFIED 1]", sa, sb)
	}
	f := a.okCmd("F", "UID FETCH 1 (FLAGS)")
	m := lineMatching(t, f, `FLAGS \(([^)]*)\)`)
	if strings.Contains(m[1], "$A") == strings.Contains(m[1], "$B") {
		t.Errorf("flags %q, want exactly one of $A and $B", m[1])
	}
}

// qresyncState is what a client remembers of Work between connections.
type qresyncState struct {
	uidValidity string
	modSeq      uint64
}

func selectQResync(t *testing.T, rc *rawConn, tag, params string) (qresyncState, []string) {
	t.Helper()
	untagged := rc.okCmd(tag, `SELECT "Work"`+params)
	return qresyncState{
		uidValidity: lineMatching(t, untagged, `\[UIDVALIDITY (\d+)\]`)[1],
		modSeq:      atoi64(t, lineMatching(t, untagged, `\[HIGHESTMODSEQ (\d+)\]`)[1]),
	}, untagged
}

// Thunderbird's resync of a folder it knew: ENABLE QRESYNC, SELECT
// "Work" (QRESYNC (uidvalidity modseq)), then UID FETCH 1:* (FLAGS)
// (CHANGEDSINCE modseq VANISHED). It gets the expunged UIDs as VANISHED
// (EARLIER) and only the messages whose flags changed, with their MODSEQ.
func TestQResyncThunderbirdSequence(t *testing.T) {
	h := newHarness(t)
	c := workFolder(t, h, 5)
	tb := h.rawLogin(alice)
	tb.okCmd("E", "ENABLE QRESYNC")
	known, _ := selectQResync(t, tb, "S", "")
	tb.okCmd("L", "LOGOUT")

	// While Thunderbird is away: flags change on 2 and 4, 3 and 5 go.
	c.selectBox("Work")
	store(t, c, imap.UIDSetNum(2), imap.StoreFlagsAdd, imap.FlagSeen)
	store(t, c, imap.UIDSetNum(4), imap.StoreFlagsAdd, "$label1")
	store(t, c, imap.UIDSetNum(3, 5), imap.StoreFlagsAdd, imap.FlagDeleted)
	if err := c.Expunge().Close(); err != nil {
		t.Fatal(err)
	}

	tb = h.rawLogin(alice)
	en := tb.okCmd("E", "ENABLE QRESYNC")
	lineMatching(t, en, `^\* ENABLED QRESYNC$`)
	now, sel := selectQResync(t, tb, "S", fmt.Sprintf(" (QRESYNC (%s %d))", known.uidValidity, known.modSeq))
	// Four flag changes and two expunges, seen by the view c keeps open.
	if now.modSeq != known.modSeq+6 {
		t.Errorf("HIGHESTMODSEQ after the changes = %d, want %d", now.modSeq, known.modSeq+6)
	}
	lineMatching(t, sel, `^\* VANISHED \(EARLIER\) 3,5$`)
	lineMatching(t, sel, `^\* 2 FETCH \(UID 2 FLAGS \(\\Seen\) MODSEQ \(\d+\)\)$`)
	lineMatching(t, sel, `^\* 3 FETCH \(UID 4 FLAGS \(\$label1\) MODSEQ \(\d+\)\)$`)
	noLineMatching(t, sel, `UID 1 `)

	f := tb.okCmd("F", fmt.Sprintf("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)", known.modSeq))
	if len(f) != 3 {
		t.Errorf("UID FETCH CHANGEDSINCE VANISHED answered %d lines, want VANISHED and 2 FETCH:\n%s", len(f), strings.Join(f, "\n"))
	}
	if f[0] != "* VANISHED (EARLIER) 3,5" {
		t.Errorf("first line %q, want the VANISHED (EARLIER) before the FETCH", f[0])
	}
	lineMatching(t, f, `^\* 2 FETCH \(UID 2 FLAGS \(\\Seen\) MODSEQ \(\d+\)\)$`)

	// A client that only knows some UIDs hears only of those.
	tb.okCmd("U", "UNSELECT")
	_, sel = selectQResync(t, tb, "K", fmt.Sprintf(" (QRESYNC (%s %d 1:3))", known.uidValidity, known.modSeq))
	lineMatching(t, sel, `^\* VANISHED \(EARLIER\) 3$`)
	noLineMatching(t, sel, `UID 4 `)

	// A UIDVALIDITY that changed: nothing to resync, the client starts over.
	tb.okCmd("V", "UNSELECT")
	_, sel = selectQResync(t, tb, "W", fmt.Sprintf(" (QRESYNC (1 %d))", known.modSeq))
	noLineMatching(t, sel, `VANISHED|FETCH`)
}

// The QRESYNC parameter needs ENABLE QRESYNC first, VANISHED needs UID
// FETCH with CHANGEDSINCE, and malformed modifiers and parameters are a
// syntax error: each is a BAD, never a server error.
func TestQResyncRefusedWithoutEnable(t *testing.T) {
	h := newHarness(t)
	workFolder(t, h, 1)
	rc := h.rawLogin(alice)
	_, st := rc.cmd("S", `SELECT Work (QRESYNC (1 1))`)
	if !strings.HasPrefix(st, "S BAD") {
		t.Errorf("SELECT QRESYNC without ENABLE answered %q, want BAD", st)
	}
	rc.okCmd("E", "ENABLE QRESYNC")
	rc.okCmd("T", "SELECT Work")
	for _, cmd := range []string{
		"FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)", "UID FETCH 1:* (FLAGS) (VANISHED)", "UID FETCH 1:* (FLAGS) (CHANGEDSINCE x)",
		"FETCH 1 (FLAGS) (SINCE 1)", `STORE 1 (UNCHANGEDSINCE) +FLAGS (\Seen)`, `STORE 1 (SOON 3) +FLAGS (\Seen)`,
		"SEARCH MODSEQ x", "SELECT Work (FOO)", "SELECT Work (QRESYNC (1))", "SELECT Work (QRESYNC (1 2 3 (1)))",
		"STATUS Work (HIGHESTMODSEQ FOO)", "UID FETCH 1 (FLAGS) (CHANGEDSINCE 99999999999999999999)",
	} {
		if _, st := rc.cmd("F", cmd); !strings.HasPrefix(st, "F BAD") {
			t.Errorf("%s answered %q, want BAD", cmd, st)
		}
	}
}

// Once QRESYNC is enabled an expunge by another client arrives as
// VANISHED, not EXPUNGE, and a flag change as FETCH with its MODSEQ.
func TestQResyncUnsolicitedVanishedAndModSeq(t *testing.T) {
	h := newHarness(t)
	c := workFolder(t, h, 3)
	rc := h.rawLogin(alice)
	rc.okCmd("E", "ENABLE QRESYNC")
	rc.okCmd("S", "SELECT Work")
	c.selectBox("Work")
	store(t, c, imap.UIDSetNum(1), imap.StoreFlagsAdd, imap.FlagFlagged)
	store(t, c, imap.UIDSetNum(2), imap.StoreFlagsAdd, imap.FlagDeleted)
	if err := c.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	n := rc.okCmd("N", "NOOP")
	lineMatching(t, n, `^\* 1 FETCH \(UID 1 FLAGS \(\\Flagged\) MODSEQ \(5\)\)$`)
	lineMatching(t, n, `^\* VANISHED 2$`)
	noLineMatching(t, n, `EXPUNGE`)

	// Its own EXPUNGE is reported the same way.
	rc.okCmd("D", `UID STORE 3 +FLAGS.SILENT (\Deleted)`)
	x := rc.okCmd("X", "EXPUNGE")
	if !slices.Equal(x, []string{"* VANISHED 3"}) {
		t.Errorf("EXPUNGE under QRESYNC answered %q, want * VANISHED 3", x)
	}
}

// A client without CONDSTORE sees no MODSEQ it did not ask for, and
// EXPUNGE as before.
func TestNoModSeqUnlessEnabled(t *testing.T) {
	h := newHarness(t)
	c := workFolder(t, h, 2)
	rc := h.rawLogin(alice)
	rc.okCmd("S", "SELECT Work")
	c.selectBox("Work")
	store(t, c, imap.UIDSetNum(1), imap.StoreFlagsAdd, imap.FlagDeleted)
	if err := c.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	n := rc.okCmd("N", "NOOP")
	lineMatching(t, n, `^\* 1 EXPUNGE$`)
	st := rc.okCmd("T", `STORE 1 +FLAGS (\Seen)`)
	noLineMatching(t, st, `MODSEQ`)
}

// When the store no longer remembers expunges that far back, QRESYNC
// reports every UID below UIDNEXT the mailbox lacks (RFC 7162 3.2.5.2).
func TestQResyncFallsBackWhenExpungesForgotten(t *testing.T) {
	h := newHarnessWith(t, harnessConfig{opts: imapserver.Options{InsecureAuth: true}, expungedKept: 1})
	c := workFolder(t, h, 4)
	c.selectBox("Work")
	rc := h.rawLogin(alice)
	rc.okCmd("E", "ENABLE QRESYNC")
	known, _ := selectQResync(t, rc, "S", "")
	rc.okCmd("U", "UNSELECT")
	for _, uid := range []imap.UID{1, 3} { // the first one is forgotten
		store(t, c, imap.UIDSetNum(uid), imap.StoreFlagsAdd, imap.FlagDeleted)
		if err := c.Expunge().Close(); err != nil {
			t.Fatal(err)
		}
	}
	_, sel := selectQResync(t, rc, "T", fmt.Sprintf(" (QRESYNC (%s %d))", known.uidValidity, known.modSeq))
	lineMatching(t, sel, `^\* VANISHED \(EARLIER\) 1,3$`)
	// Since a mod-sequence still covered, only what was remembered.
	rc.okCmd("V", "UNSELECT")
	_, sel = selectQResync(t, rc, "W", fmt.Sprintf(" (QRESYNC (%s %d))", known.uidValidity, known.modSeq+2))
	lineMatching(t, sel, `^\* VANISHED \(EARLIER\) 3$`)
}

// Mod-sequences are durable: after a restart HIGHESTMODSEQ and each
// message's MODSEQ are what they were, and the next change goes above.
func TestModSeqSurvivesRestart(t *testing.T) {
	h := newHarness(t)
	c := workFolder(t, h, 2)
	c.selectBox("Work")
	store(t, c, imap.UIDSetNum(2), imap.StoreFlagsAdd, imap.FlagSeen) // 4
	h.restart()
	rc := h.rawLogin(alice)
	_, sel := selectQResync(t, rc, "S", " (CONDSTORE)")
	lineMatching(t, sel, `^\* OK \[HIGHESTMODSEQ 4\]`)
	f := rc.okCmd("F", "FETCH 1:* (MODSEQ)")
	lineMatching(t, f, `^\* 1 FETCH \(MODSEQ \(2\)\)$`)
	lineMatching(t, f, `^\* 2 FETCH \(MODSEQ \(4\)\)$`)
	st := rc.okCmd("T", `STORE 1 +FLAGS (\Seen)`)
	lineMatching(t, st, `MODSEQ \(5\)`)
}

// Under QRESYNC, SELECT of another folder says [CLOSED] before the new
// folder's data, and CLOSE expunges silently (no VANISHED, RFC 7162
// 3.2.7): the client learns of the expunge at its next QRESYNC.
func TestQResyncCloseAndReselect(t *testing.T) {
	h := newHarness(t)
	workFolder(t, h, 2)
	rc := h.rawLogin(alice)
	rc.okCmd("E", "ENABLE QRESYNC")
	known, _ := selectQResync(t, rc, "S", "")
	sel := rc.okCmd("I", "SELECT INBOX")
	if len(sel) == 0 || !strings.HasPrefix(sel[0], "* OK [CLOSED]") {
		t.Errorf("SELECT while selected answered %q, want * OK [CLOSED] first", sel)
	}
	noLineMatching(t, sel, `VANISHED|EXPUNGE`)

	rc.okCmd("T", `SELECT Work`)
	rc.okCmd("D", `UID STORE 1 +FLAGS.SILENT (\Deleted)`)
	cl := rc.okCmd("C", "CLOSE")
	noLineMatching(t, cl, `VANISHED|EXPUNGE`)
	_, again := selectQResync(t, rc, "A", fmt.Sprintf(" (QRESYNC (%s %d))", known.uidValidity, known.modSeq))
	lineMatching(t, again, `^\* VANISHED \(EARLIER\) 1$`)
}
