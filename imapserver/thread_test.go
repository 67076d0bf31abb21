package imapserver_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// threadFolder fills alice's Drafts with eight messages (sequence number =
// UID) in four conversations:
//
//	1 <a>  Jan 1   Order 17
//	2 <c>  Jan 3   Re: Order 17    References: <a> <b>  (<b> is not here)
//	3 <d>  Jan 2   Where is my order?  In-Reply-To: <a>  (a reply by its header only)
//	4 <e>  Jan 5   Invoice
//	5 <f>  Jan 4   Re: Invoice     (no reference: joined by subject)
//	6 -    Dec 31  Hello           (no Message-ID)
//	7 <h>  Jan 6   Lost            References: <zz>     (<zz> is not here)
//	8 <i>  Jan 7   Re: Lost        References: <zz>
func threadFolder(t *testing.T) (*harness, *client) {
	t.Helper()
	h := newHarness(t)
	c := h.login(alice)
	for _, head := range []string{
		"Message-ID: <a@x.test>\r\nDate: Mon, 01 Jan 2024 10:00:00 +0000\r\nSubject: Order 17",
		"Message-ID: <c@x.test>\r\nReferences: <a@x.test>\r\n <b@x.test>\r\nDate: Wed, 03 Jan 2024 10:00:00 +0000\r\nSubject: Re: Order 17",
		"Message-ID: <d@x.test>\r\nIn-Reply-To: <a@x.test>\r\nDate: Tue, 02 Jan 2024 10:00:00 +0000\r\nSubject: Where is my order?",
		"Message-ID: <e@x.test>\r\nDate: Fri, 05 Jan 2024 10:00:00 +0000\r\nSubject: Invoice",
		"Message-ID: <f@x.test>\r\nDate: Thu, 04 Jan 2024 10:00:00 +0000\r\nSubject: Re: Invoice",
		"Date: Sun, 31 Dec 2023 10:00:00 +0000\r\nSubject: Hello",
		"Message-ID: <h@x.test>\r\nReferences: <zz@x.test>\r\nDate: Sat, 06 Jan 2024 10:00:00 +0000\r\nSubject: Lost",
		"Message-ID: <i@x.test>\r\nReferences: <zz@x.test>\r\nDate: Sun, 07 Jan 2024 10:00:00 +0000\r\nSubject: Re: Lost",
	} {
		appendMsg(t, c, "Drafts", "From: someone@x.test\r\n"+head+"\r\n\r\nbody\r\n", nil)
	}
	c.selectBox("Drafts")
	return h, c
}

// Roundcube's exact bytes (rcube_imap_generic::thread), both algorithms,
// UID THREAD with search keys, and what is refused.
func TestThreadRaw(t *testing.T) {
	h, _ := threadFolder(t)
	rc := h.raw()
	rc.cmd("l", "LOGIN alice@example.test secret")
	untagged, _ := rc.cmd("c", "CAPABILITY")
	if caps := strings.Join(untagged, " "); !strings.Contains(caps, " THREAD=ORDEREDSUBJECT") || !strings.Contains(caps, " THREAD=REFERENCES") {
		t.Fatalf("THREAD not advertised: %s", caps)
	}
	rc.cmd("s", "SELECT Drafts")
	for _, tc := range []struct{ cmd, untagged, status string }{
		// <b> is gone: 2 hangs under 1 too; siblings by date (3 before 2);
		// 5 joins 4 by subject as a reply; <zz>'s placeholder holds 7 and
		// 8; threads by the date of their first message.
		{"THREAD REFERENCES UTF-8 ALL", "* THREAD (6)(1 (3)(2))(4 5)((7)(8))", "OK"},
		// By subject only: 3 is alone, 5 (Jan 4) leads 4 (Jan 5).
		{"THREAD ORDEREDSUBJECT UTF-8 ALL", "* THREAD (6)(1 2)(3)(5 4)(7 8)", "OK"},
		{"UID THREAD REFERENCES US-ASCII NOT SUBJECT invoice", "* THREAD (6)(1 (3)(2))((7)(8))", "OK"},
		{"THREAD REFERENCES UTF-8 SUBJECT nothing-like-it", "* THREAD", "OK"},
		{"THREAD REFS UTF-8 ALL", "", "BAD"},
		{"THREAD REFERENCES KOI8-R ALL", "", "NO [BADCHARSET]"},
		{"THREAD REFERENCES ALL", "", "BAD"},
	} {
		untagged, st := rc.cmd("a", tc.cmd)
		if !strings.HasPrefix(st, "a "+tc.status) {
			t.Errorf("%s: %s, want %s", tc.cmd, st, tc.status)
		}
		if got := strings.Join(untagged, "|"); tc.untagged != "" && got != tc.untagged {
			t.Errorf("%s answered %q, want %q", tc.cmd, got, tc.untagged)
		}
	}
}

// imapclient reads the answer (its reader of several thread-lists is
// fixed in the fork).
func TestThreadClient(t *testing.T) {
	_, c := threadFolder(t)
	got, err := c.Thread(&imapclient.ThreadOptions{Algorithm: imap.ThreadReferences, SearchCriteria: &imap.SearchCriteria{}}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprint(got); s != "[{[6] []} {[1] [{[3] []} {[2] []}]} {[4 5] []} {[] [{[7] []} {[8] []}]}]" {
		t.Errorf("THREAD REFERENCES = %s", s)
	}
}

// References that loop (each message naming the other, one naming
// itself, one chain naming a message twice) neither hang the server nor
// lose a message; a message's own References win over where an earlier
// message's chain put it (7 named under <r> by 6, itself under <t>).
func TestThreadReferenceLoops(t *testing.T) {
	h := newHarness(t)
	c := h.login(alice)
	for _, head := range []string{
		"Message-ID: <x@x.test>\r\nReferences: <y@x.test>\r\nSubject: one",
		"Message-ID: <y@x.test>\r\nReferences: <x@x.test>\r\nSubject: two",
		"Message-ID: <z@x.test>\r\nReferences: <z@x.test>\r\nSubject: three",
		"Message-ID: <x@x.test>\r\nSubject: same id as the first",
		"Message-ID: <w@x.test>\r\nReferences: <p@x.test> <q@x.test> <p@x.test>\r\nSubject: back and forth",
		"Message-ID: <m1@x.test>\r\nReferences: <r@x.test> <m2@x.test>\r\nSubject: s1",
		"Message-ID: <m2@x.test>\r\nReferences: <t@x.test>\r\nSubject: s2",
	} {
		appendMsg(t, c, "Drafts", head+"\r\n\r\nbody\r\n", nil)
	}
	c.selectBox("Drafts")
	got, err := c.Thread(&imapclient.ThreadOptions{Algorithm: imap.ThreadReferences, SearchCriteria: &imap.SearchCriteria{}}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprint(got); s != "[{[2 1] []} {[3] []} {[4] []} {[5] []} {[7 6] []}]" {
		t.Errorf("THREAD REFERENCES = %s", s)
	}
}
