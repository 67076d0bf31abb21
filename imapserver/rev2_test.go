package imapserver_test

import (
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// rev2Folder is alice's Work with three messages whose \Recent is taken,
// its child Work/Sub, and a fourth message, still \Recent.
func rev2Folder(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t)
	c := workFolder(t, h, 3)
	if err := c.Create("Work/Sub", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	appendMsg(t, c, "Work", "Subject: m4\r\n\r\nx\r\n", &imap.AppendOptions{Flags: []imap.Flag{imap.FlagDeleted}})
	return h
}

// TestIMAP4rev2Session is a client's raw IMAP4rev2 session (RFC 9051):
// after ENABLE IMAP4rev2 no \Recent and no RECENT, SELECT answers the
// folder's LIST line, SEARCH answers ESEARCH, every LIST line says
// whether the folder has children, STATUS has SIZE and DELETED, and
// mailbox names are UTF-8.
func TestIMAP4rev2Session(t *testing.T) {
	h := rev2Folder(t)
	rc := h.rawLogin(alice)
	caps := strings.Join(rc.okCmd("c", "CAPABILITY"), " ")
	for _, want := range []string{" IMAP4rev1", " IMAP4rev2", " SEARCHRES"} {
		if !strings.Contains(caps, want) {
			t.Fatalf("%s not advertised: %s", want, caps)
		}
	}
	lineMatching(t, rc.okCmd("e", "ENABLE IMAP4rev2"), `^\* ENABLED IMAP4rev2$`)

	sel := rc.okCmd("s", "SELECT Work")
	lineMatching(t, sel, `^\* 4 EXISTS$`)
	lineMatching(t, sel, `^\* LIST \(\\HasChildren\) "/" "Work"$`)
	noLineMatching(t, sel, `RECENT|\\Recent`)
	noLineMatching(t, rc.okCmd("f", "FETCH 1:* (UID FLAGS)"), `\\Recent`)

	lineMatching(t, rc.okCmd("a", "SEARCH ALL"), `^\* ESEARCH \(TAG "a"\) ALL 1:4$`)
	lineMatching(t, rc.okCmd("u", "UID SEARCH 2:3"), `^\* ESEARCH \(TAG "u"\) UID ALL 2:3$`)
	lineMatching(t, rc.okCmd("n", "SEARCH DELETED NOT DELETED"), `^\* ESEARCH \(TAG "n"\)$`)
	rc.okCmd("v", "SEARCH RETURN (SAVE) DELETED")
	lineMatching(t, rc.okCmd("w", "UID FETCH $ (UID)"), `^\* 4 FETCH \(UID 4\)$`)

	for _, l := range rc.okCmd("l", `LIST "" *`) {
		// RFC 5258 4: \Noinferiors implies \HasNoChildren.
		if !strings.Contains(l, `\HasChildren`) && !strings.Contains(l, `\HasNoChildren`) && !strings.Contains(l, `\Noinferiors`) {
			t.Errorf("LIST line without \\HasChildren, \\HasNoChildren or \\Noinferiors: %s", l)
		}
	}
	lineMatching(t, rc.okCmd("t", "STATUS Work (MESSAGES SIZE DELETED)"), `^\* STATUS "Work" \(MESSAGES 4 DELETED 1 SIZE \d+\)$`)

	// RFC 9051 5.1: mailbox names are UTF-8, in and out.
	rc.okCmd("k", `CREATE "Café"`)
	lineMatching(t, rc.okCmd("m", `LIST "" "Caf*"`), `^\* LIST \(\\HasNoChildren\) "/" "Café"$`)
}

// TestIMAP4rev1SessionUnchanged: a client that doesn't ENABLE IMAP4rev2
// gets IMAP4rev1's answers from the same server.
func TestIMAP4rev1SessionUnchanged(t *testing.T) {
	h := rev2Folder(t)
	rc := h.rawLogin(alice)
	sel := rc.okCmd("s", "EXAMINE Work")
	lineMatching(t, sel, `^\* 1 RECENT$`)
	noLineMatching(t, sel, `^\* LIST`)
	lineMatching(t, rc.okCmd("f", "FETCH 4 (FLAGS)"), `\\Recent`)
	lineMatching(t, rc.okCmd("a", "SEARCH ALL"), `^\* SEARCH 1 2 3 4$`)
	_, st := rc.cmd("k", `CREATE "Café"`)
	if !strings.HasPrefix(st, "k BAD") {
		t.Errorf("8-bit name without ENABLE: %s, want BAD", st)
	}
}
