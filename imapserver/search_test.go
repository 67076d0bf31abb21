package imapserver_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

func TestSearch(t *testing.T) {
	h := newHarness(t)
	h.deliver("Carla Bianchi <carla@customer.test>", "Invoice question", "my invoice is wrong")
	h.deliver("Dan <dan@other.test>", "Password reset", "cannot login since Monday")
	h.deliver("=?UTF-8?Q?Jos=C3=A9_P=C3=A9rez?= <jose@customer.test>", "Re: Invoice question", "Gracias")
	c := h.login(alice)
	c.selectBox("Queues/Support")
	store(t, c, imap.UIDSetNum(1), imap.StoreFlagsAdd, imap.FlagSeen)
	store(t, c, imap.UIDSetNum(2), imap.StoreFlagsAdd, imap.FlagFlagged, "$label1")

	hdr := func(k, v string) *imap.SearchCriteria {
		return &imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: k, Value: v}}}
	}
	uidRange := func(a, b imap.UID) *imap.SearchCriteria {
		var s imap.UIDSet
		s.AddRange(a, b)
		return &imap.SearchCriteria{UID: []imap.UIDSet{s}}
	}
	seqRange := func(a, b uint32) *imap.SearchCriteria {
		var s imap.SeqSet
		s.AddRange(a, b)
		return &imap.SearchCriteria{SeqNum: []imap.SeqSet{s}}
	}
	for _, tc := range []struct {
		name string
		c    *imap.SearchCriteria
		want []imap.UID
	}{
		{"FROM address", hdr("From", "carla@customer"), []imap.UID{1}},
		{"FROM display name", hdr("From", "bianchi"), []imap.UID{1}},
		{"FROM encoded name", hdr("From", "José"), []imap.UID{3}},
		{"FROM domain", hdr("From", "customer.test"), []imap.UID{1, 3}},
		{"SUBJECT", hdr("Subject", "INVOICE"), []imap.UID{1, 3}},
		{"HEADER X-Mxdesk-Session", hdr("X-Mxdesk-Session", "S-"), []imap.UID{1, 2, 3}},
		{"TEXT in body", &imap.SearchCriteria{Text: []string{"cannot"}}, []imap.UID{2}},
		{"TEXT in header", &imap.SearchCriteria{Text: []string{"password"}}, []imap.UID{2}},
		{"BODY", &imap.SearchCriteria{Body: []string{"gracias"}}, []imap.UID{3}},
		{"BODY not header", &imap.SearchCriteria{Body: []string{"password"}}, nil},
		{"SEEN", &imap.SearchCriteria{Flag: []imap.Flag{imap.FlagSeen}}, []imap.UID{1}},
		{"UNSEEN", &imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}, []imap.UID{2, 3}},
		{"FLAGGED", &imap.SearchCriteria{Flag: []imap.Flag{imap.FlagFlagged}}, []imap.UID{2}},
		{"KEYWORD", &imap.SearchCriteria{Flag: []imap.Flag{"$label1"}}, []imap.UID{2}},
		{"UNKEYWORD", &imap.SearchCriteria{NotFlag: []imap.Flag{"$label1"}}, []imap.UID{1, 3}},
		{"UID 2:*", uidRange(2, 0), []imap.UID{2, 3}},
		{"UID 9:*", uidRange(9, 0), []imap.UID{3}},
		{"seq 2:3", seqRange(2, 3), []imap.UID{2, 3}},
		{"seq *", seqRange(0, 0), []imap.UID{3}},
		{"OR", &imap.SearchCriteria{Or: [][2]imap.SearchCriteria{{*hdr("From", "dan"), {Body: []string{"gracias"}}}}}, []imap.UID{2, 3}},
		{"NOT", &imap.SearchCriteria{Not: []imap.SearchCriteria{*hdr("From", "carla")}}, []imap.UID{2, 3}},
		{"LARGER", &imap.SearchCriteria{Larger: 10}, []imap.UID{1, 2, 3}},
		{"SMALLER", &imap.SearchCriteria{Smaller: 10}, nil},
		{"SENTON", &imap.SearchCriteria{SentSince: day(2006, 1, 2), SentBefore: day(2006, 1, 3)}, []imap.UID{1, 2, 3}},
		{"SENTSINCE later", &imap.SearchCriteria{SentSince: day(2007, 1, 1)}, nil},
	} {
		got, err := c.UIDSearch(tc.c, nil).Wait()
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !slices.Equal(got.AllUIDs(), tc.want) {
			t.Errorf("UID SEARCH %s = %v, want %v", tc.name, got.AllUIDs(), tc.want)
		}
		seq, err := c.Search(tc.c, nil).Wait()
		if err != nil || len(seq.AllSeqNums()) != len(tc.want) {
			t.Errorf("SEARCH %s = %v, %v", tc.name, seq.AllSeqNums(), err)
		}
	}

	// ESEARCH return options (RFC 4731).
	d, err := c.UIDSearch(hdr("Subject", "invoice"), &imap.SearchOptions{ReturnMin: true, ReturnMax: true, ReturnCount: true}).Wait()
	if err != nil || d.Min != 1 || d.Max != 3 || d.Count != 2 {
		t.Errorf("ESEARCH = %+v, %v", d, err)
	}

	// Raw: the RECENT family, charset, and a bad charset.
	rc := h.raw()
	rc.cmd("a", "LOGIN carol@example.test secret")
	rc.cmd("b", "EXAMINE Queues/Support")
	for cmd, want := range map[string]string{
		// alice's SELECT took the recent messages.
		"SEARCH RECENT":                      "* SEARCH",
		"SEARCH NEW":                         "* SEARCH",
		"SEARCH OLD":                         "* SEARCH 1 2 3",
		"SEARCH CHARSET UTF-8 FROM \"josé\"": "* SEARCH 3",
		"UID SEARCH RETURN (COUNT) ALL":      `* ESEARCH (TAG "c") UID COUNT 3`,
		"SEARCH 1,3 NOT 3":                   "* SEARCH 1",
	} {
		lines, st := rc.cmd("c", cmd)
		if !strings.HasPrefix(st, "c OK") || len(lines) != 1 || lines[0] != want {
			t.Errorf("%s = %q %s, want %q", cmd, lines, st, want)
		}
	}
	_, st := rc.cmd("d", "SEARCH CHARSET KOI8-R FROM x")
	if !strings.HasPrefix(st, "d NO [BADCHARSET]") {
		t.Errorf("bad charset: %s", st)
	}
}

func store(t *testing.T, c *client, set imap.NumSet, op imap.StoreFlagsOp, flags ...imap.Flag) []*imapFetch {
	t.Helper()
	msgs, err := c.Store(set, &imap.StoreFlags{Op: op, Flags: flags}, nil).Collect()
	if err != nil {
		t.Fatalf("STORE %v: %v", flags, err)
	}
	return msgs
}

// An agent finds a session by its full ID with the searches clients send:
// Thunderbird's search dialog run on the server (a custom header term on
// X-Mxdesk-Session, or the subject, where a queue's replies carry
// [S-XXXXX], alone or ORed with the sender as its quick filter combines
// them) and mutt's server-side patterns (=h on the header, =B on the
// whole message). Only that session's messages match.
func TestSearchSessionID(t *testing.T) {
	h := newSessionHarness(t)
	first := h.toSupport("carla@customer.test", "sid1@customer.test", "")
	s := first.Session
	reply := h.deliverMail([]string{"support@example.test"}, mail{
		from: "carla@customer.test", to: "support@example.test", subject: "Re: About sid1 [" + s + "]",
		id: "sid2@customer.test", inReplyTo: "sid1@customer.test", refs: "sid1@customer.test",
	})
	other := h.toSupport("dan@customer.test", "other1@customer.test", "")
	if reply.Session != s || other.Session == s {
		t.Fatalf("sessions %s, %s, %s", s, reply.Session, other.Session)
	}
	c := h.login(alice)
	c.selectBox("Queues/Support")
	both := fmt.Sprintf("%d %d", c.uidOf("sid1@customer.test"), c.uidOf("sid2@customer.test"))
	tagged := fmt.Sprint(c.uidOf("sid2@customer.test"))

	rc := h.thunderbird(alice)
	rc.mustOK("2", `select "Queues/Support"`)
	for _, tc := range []struct{ client, cmd, want string }{
		{"Thunderbird, custom header", `uid search UNDELETED HEADER X-Mxdesk-Session "` + s + `"`, both},
		{"Thunderbird, subject", `uid search UNDELETED SUBJECT "` + s + `"`, tagged},
		{"Thunderbird, subject or sender", `uid search UNDELETED OR SUBJECT "` + s + `" FROM "` + s + `"`, tagged},
		{"mutt =h", `UID SEARCH HEADER "X-Mxdesk-Session" "` + s + `"`, both},
		{"mutt =B", `UID SEARCH TEXT "` + s + `"`, both},
	} {
		lines := rc.mustOK("3", tc.cmd)
		if want := "* SEARCH " + tc.want; !slices.Equal(lines, []string{want}) {
			t.Errorf("%s: %s = %q, want %q", tc.client, tc.cmd, lines, want)
		}
	}
}
