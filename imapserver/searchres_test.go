package imapserver_test

import (
	"strings"
	"testing"
)

// searchResFolder is alice's Work with five messages (UIDs 1-5), 2, 4 and
// 5 \Flagged, selected on a raw connection that has checked SEARCHRES is
// advertised.
func searchResFolder(t *testing.T) *rawConn {
	t.Helper()
	h := newHarness(t)
	workFolder(t, h, 5)
	rc := h.rawLogin(alice)
	if caps := strings.Join(rc.okCmd("c", "CAPABILITY"), " "); !strings.Contains(caps, " SEARCHRES") {
		t.Fatalf("SEARCHRES not advertised: %s", caps)
	}
	rc.okCmd("s", "SELECT Work")
	rc.okCmd("f", `STORE 2,4:5 +FLAGS.SILENT (\Flagged)`)
	return rc
}

// fetched lists the "* n FETCH" lines' sequence numbers, space-separated.
func fetched(lines []string) string {
	var seqs []string
	for _, l := range lines {
		if f := strings.Fields(l); len(f) > 2 && f[0] == "*" && f[2] == "FETCH" {
			seqs = append(seqs, f[1])
		}
	}
	return strings.Join(seqs, " ")
}

// TestSearchResSaveAndUse follows RFC 5182's examples: SAVE alone answers
// no ESEARCH, "$" then names the saved messages in FETCH and in UID
// SEARCH, both forms.
func TestSearchResSaveAndUse(t *testing.T) {
	rc := searchResFolder(t)
	// RFC 5182 2.1: "$" before any SAVE is the empty set, not an error.
	if got := fetched(rc.okCmd("a", "FETCH $ (UID)")); got != "" {
		t.Fatalf("FETCH $ before any SAVE fetched %q", got)
	}
	if untagged := rc.okCmd("b", "SEARCH RETURN (SAVE) FLAGGED"); len(untagged) != 0 {
		t.Fatalf("SEARCH RETURN (SAVE) answered %q, want nothing (RFC 5182 2.4)", untagged)
	}
	if got := fetched(rc.okCmd("c", "FETCH $ (FLAGS)")); got != "2 4 5" {
		t.Fatalf("FETCH $ = %q, want 2 4 5", got)
	}
	if got := fetched(rc.okCmd("d", "UID FETCH $ (FLAGS)")); got != "2 4 5" {
		t.Fatalf("UID FETCH $ = %q, want 2 4 5", got)
	}
	// "$" as a search key, in a UID SEARCH (RFC 5182's A303).
	lineMatching(t, rc.okCmd("e", "UID SEARCH UID $ NOT 4"), `^\* SEARCH 2 5$`)
	lineMatching(t, rc.okCmd("e2", "SEARCH $"), `^\* SEARCH 2 4 5$`)
	// A SAVE whose criteria use "$" reads the result before replacing it.
	rc.okCmd("g", "SEARCH RETURN (SAVE) $ 4:5")
	if got := fetched(rc.okCmd("h", "FETCH $ (UID)")); got != "4 5" {
		t.Fatalf("FETCH $ after SAVE of $ 4:5 = %q, want 4 5", got)
	}
}

// TestSearchResMinMax: with MIN and/or MAX as the only other return
// options, ESEARCH answers them and "$" holds just those messages; with
// COUNT (or ALL) "$" holds every match (RFC 5182 2.4).
func TestSearchResMinMax(t *testing.T) {
	rc := searchResFolder(t)
	for _, tc := range []struct {
		opts, esearch, saved string
	}{
		{"SAVE MIN", "MIN 2", "2"},
		{"SAVE MAX", "MAX 5", "5"},
		{"SAVE MIN MAX", "MIN 2 MAX 5", "2 5"},
		{"MIN SAVE COUNT", "MIN 2 COUNT 3", "2 4 5"},
		{"SAVE ALL", "ALL 2,4:5", "2 4 5"},
	} {
		untagged := rc.okCmd("m", "SEARCH RETURN ("+tc.opts+") FLAGGED")
		want := `* ESEARCH (TAG "m") ` + tc.esearch
		if len(untagged) != 1 || untagged[0] != want {
			t.Errorf("RETURN (%s) answered %q, want %q", tc.opts, untagged, want)
		}
		if got := fetched(rc.okCmd("n", "FETCH $ (UID)")); got != tc.saved {
			t.Errorf("after RETURN (%s), FETCH $ = %q, want %s", tc.opts, got, tc.saved)
		}
	}
	// MIN and MAX of a one-message result are one message.
	rc.okCmd("o", "SEARCH RETURN (SAVE MIN MAX) 4")
	if got := fetched(rc.okCmd("p", "FETCH $ (UID)")); got != "4" {
		t.Errorf("MIN MAX of message 4 saved %q", got)
	}
}

// TestSearchResInCommands: "$" in STORE, COPY, MOVE and UID EXPUNGE; an
// expunged message drops out of it.
func TestSearchResInCommands(t *testing.T) {
	rc := searchResFolder(t)
	rc.okCmd("a", "CREATE Other")
	rc.okCmd("b", "SEARCH RETURN (SAVE) FLAGGED")
	rc.okCmd("c", "COPY $ Other")
	lineMatching(t, rc.okCmd("d", "STATUS Other (MESSAGES)"), `MESSAGES 3\)`)
	rc.okCmd("e", "UID SEARCH RETURN (SAVE) UID 4")
	rc.okCmd("f", `STORE $ +FLAGS.SILENT (\Deleted)`)
	rc.okCmd("g", `STORE 5 +FLAGS.SILENT (\Deleted)`)
	// UID EXPUNGE $ removes 4 only, though 5 is \Deleted too.
	expunged := rc.okCmd("h", "UID EXPUNGE $")
	if len(expunged) != 1 || expunged[0] != "* 4 EXPUNGE" {
		t.Fatalf("UID EXPUNGE $ = %q, want * 4 EXPUNGE", expunged)
	}
	// The saved UID is gone: "$" is empty now.
	if got := fetched(rc.okCmd("i", "FETCH $ (UID)")); got != "" {
		t.Fatalf("FETCH $ after its message was expunged = %q", got)
	}
	rc.okCmd("j", "SEARCH RETURN (SAVE) 1")
	rc.okCmd("k", "MOVE $ Other")
	lineMatching(t, rc.okCmd("l", "STATUS Other (MESSAGES)"), `MESSAGES 4\)`)
}

// TestSearchResReset: SELECT, EXAMINE and CLOSE forget the saved result,
// and so does a SAVE that fails (RFC 5182 2.1).
func TestSearchResReset(t *testing.T) {
	rc := searchResFolder(t)
	for _, leave := range []string{"SELECT Work", "EXAMINE Work", "CLOSE", "UNSELECT"} {
		rc.okCmd("a", "SEARCH RETURN (SAVE) ALL")
		rc.okCmd("b", leave)
		rc.okCmd("c", "SELECT Work")
		if got := fetched(rc.okCmd("d", "FETCH $ (UID)")); got != "" {
			t.Errorf("after %s and SELECT, FETCH $ = %q, want nothing", leave, got)
		}
	}
	rc.okCmd("e", "SEARCH RETURN (SAVE) ALL")
	_, st := rc.cmd("f", "SEARCH RETURN (SAVE)"+strings.Repeat(" 1:*", 1001))
	if !strings.HasPrefix(st, "f NO [LIMIT]") {
		t.Fatalf("a SEARCH of 1001 keys: %s", st)
	}
	if got := fetched(rc.okCmd("g", "FETCH $ (UID)")); got != "" {
		t.Errorf("after a failed SAVE, FETCH $ = %q, want nothing", got)
	}
}
