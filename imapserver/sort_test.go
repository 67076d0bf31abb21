package imapserver_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// sortFolder fills alice's Drafts with four messages whose keys disagree:
//
//	seq  arrival  Date               Subject                From          size
//	1    Feb 5    Jan 3 10:00Z       Re: beta               zed@x         biggest
//	2    Feb 1    (none)             alpha                  Amy@x         smallest
//	3    Feb 3    Jan 2 12:00+0100   [support] Fwd: Alpha   bob@x         middle
//	4    Feb 4    Jan 2 11:00Z       gamma (fwd)            aaron@x, Cc   small
func sortFolder(t *testing.T) (*harness, *client) {
	t.Helper()
	h := newHarness(t)
	c := h.login(alice)
	for _, m := range []struct {
		day  int
		head string
		body string
	}{
		{5, "Date: Wed, 03 Jan 2024 10:00:00 +0000\r\nSubject: Re: beta\r\nFrom: Zed <zed@x.test>\r\nTo: b@x.test", strings.Repeat("b", 300)},
		{1, "Subject: alpha\r\nFrom: Amy@x.test\r\nTo: c@x.test", "a"},
		{3, "Date: Tue, 02 Jan 2024 12:00:00 +0100\r\nSubject: [support] Fwd: Alpha\r\nFrom: bob@x.test\r\nTo: a@x.test", strings.Repeat("m", 100)},
		{4, "Date: Tue, 02 Jan 2024 11:00:00 +0000\r\nSubject: gamma (fwd)\r\nFrom: aaron@x.test\r\nCc: zz@x.test", ""},
	} {
		appendMsg(t, c, "Drafts", m.head+"\r\n\r\n"+m.body+"\r\n", &imap.AppendOptions{Time: day(2024, 2, m.day)})
	}
	c.selectBox("Drafts")
	return h, c
}

func TestSort(t *testing.T) {
	_, c := sortFolder(t)
	caps, err := c.Capability().Wait()
	if err != nil {
		t.Fatal(err)
	}
	if !caps.Has(imap.CapSort) || !caps.Has(imap.CapESort) {
		t.Fatalf("SORT, ESORT not advertised: %v", caps)
	}
	all := &imap.SearchCriteria{}
	for _, tc := range []struct {
		keys []imapclient.SortCriterion
		want string
	}{
		{[]imapclient.SortCriterion{{Key: imapclient.SortKeyArrival}}, "[2 3 4 1]"},
		// The base subject: "Fwd:" and "[support]" go, case is folded;
		// alpha twice keeps sequence order.
		{[]imapclient.SortCriterion{{Key: imapclient.SortKeySubject}}, "[2 3 1 4]"},
		// Dates compare in UTC: 12:00+0100 is 4's 11:00Z, a tie kept in
		// sequence order. No Date: the arrival (Feb 1) stands in.
		{[]imapclient.SortCriterion{{Key: imapclient.SortKeyDate}}, "[3 4 1 2]"},
		{[]imapclient.SortCriterion{{Key: imapclient.SortKeyFrom}}, "[4 2 3 1]"},
		{[]imapclient.SortCriterion{{Key: imapclient.SortKeyTo}}, "[4 3 1 2]"},
		{[]imapclient.SortCriterion{{Key: imapclient.SortKeyCc}}, "[1 2 3 4]"},
		{[]imapclient.SortCriterion{{Key: imapclient.SortKeySize, Reverse: true}}, "[1 3 4 2]"},
		{[]imapclient.SortCriterion{{Key: imapclient.SortKeySubject, Reverse: true}, {Key: imapclient.SortKeyArrival, Reverse: true}}, "[4 1 3 2]"},
	} {
		got, err := c.Sort(&imapclient.SortOptions{SearchCriteria: all, SortCriteria: tc.keys}).Wait()
		if err != nil {
			t.Fatalf("SORT %v: %v", tc.keys, err)
		}
		if fmt.Sprint(got) != tc.want {
			t.Errorf("SORT %v = %v, want %s", tc.keys, got, tc.want)
		}
	}
	// UID SORT with search keys as SEARCH takes them.
	got, err := c.UIDSort(&imapclient.SortOptions{
		SearchCriteria: &imap.SearchCriteria{Not: []imap.SearchCriteria{{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "gamma"}}}}},
		SortCriteria:   []imapclient.SortCriterion{{Key: imapclient.SortKeySize}},
	}).Wait()
	if err != nil || fmt.Sprint(got) != "[2 3 1]" {
		t.Errorf("UID SORT (SIZE) UTF-8 NOT SUBJECT gamma = %v, %v; want [2 3 1]", got, err)
	}
}

// Roundcube's exact bytes, ESORT's RETURN, and what is refused.
func TestSortRaw(t *testing.T) {
	h, _ := sortFolder(t)
	rc := h.raw()
	rc.cmd("l", "LOGIN alice@example.test secret")
	if _, st := rc.cmd("s0", "SORT (DATE) UTF-8 ALL"); !strings.HasPrefix(st, "s0 BAD") {
		t.Errorf("SORT before SELECT: %s", st)
	}
	rc.cmd("s", "SELECT Drafts")
	for _, tc := range []struct{ cmd, untagged, status string }{
		{"SORT (REVERSE ARRIVAL) UTF-8 ALL", "* SORT 1 4 3 2", "OK"},
		{"UID SORT (ARRIVAL) US-ASCII UID 2:4", "* SORT 2 3 4", "OK"},
		{"SORT (SUBJECT) UTF-8 SUBJECT nothing-like-it", "* SORT", "OK"},
		{"SORT RETURN (MIN MAX COUNT ALL) (REVERSE ARRIVAL) UTF-8 ALL", `* ESEARCH (TAG "a") MIN 1 MAX 2 ALL 1,4,3,2 COUNT 4`, "OK"},
		{"UID SORT RETURN (ALL) (ARRIVAL) UTF-8 ALL", `* ESEARCH (TAG "a") UID ALL 2:4,1`, "OK"},
		{"SORT RETURN (COUNT) (ARRIVAL) UTF-8 SUBJECT none", `* ESEARCH (TAG "a") COUNT 0`, "OK"},
		{"SORT (DATE) KOI8-R ALL", "", "NO [BADCHARSET]"},
		{"SORT () UTF-8 ALL", "", "BAD"},
		{"SORT (REVERSE) UTF-8 ALL", "", "BAD"},
		{"SORT (REVERSE REVERSE DATE) UTF-8 ALL", "", "BAD"},
		{"SORT (BOGUS) UTF-8 ALL", "", "BAD"},
		{"SORT DATE UTF-8 ALL", "", "BAD"},
		{"SORT (DATE) ALL", "", "BAD"},
		{"SORT RETURN (SAVE) (DATE) UTF-8 ALL", "", "BAD"},
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
