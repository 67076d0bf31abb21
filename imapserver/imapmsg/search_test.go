package imapmsg

import (
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

// day returns a date as go-imap passes SEARCH dates.
func day(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func hdr(key, value string) []imap.SearchCriteriaHeaderField {
	return []imap.SearchCriteriaHeaderField{{Key: key, Value: value}}
}

func from(v string) []imap.SearchCriteriaHeaderField { return hdr("From", v) }

// testMeta is the metadata searched with every testdata message. The
// internal date is 15 May in its own zone but 14 May in UTC.
func testMeta(raw []byte) Meta {
	return Meta{
		SeqNum:       7,
		UID:          42,
		Flags:        []imap.Flag{imap.FlagSeen, "\\Recent", "$Forwarded"},
		InternalDate: time.Date(2024, 5, 15, 0, 30, 0, 0, time.FixedZone("CEST", 2*3600)),
		Size:         int64(len(raw)),
	}
}

func TestMatch(t *testing.T) {
	type C = imap.SearchCriteria
	tests := []struct {
		name string
		file string
		c    C
		want bool
	}{
		{"empty criteria", "simple.eml", C{}, true},

		// Sequence numbers and UIDs.
		{"seq", "simple.eml", C{SeqNum: []imap.SeqSet{imap.SeqSetNum(7)}}, true},
		{"seq range miss", "simple.eml", C{SeqNum: []imap.SeqSet{{{Start: 1, Stop: 5}}}}, false},
		{"seq n:* unresolved", "simple.eml", C{SeqNum: []imap.SeqSet{{{Start: 5, Stop: 0}}}}, true},
		{"seq sets intersect", "simple.eml", C{SeqNum: []imap.SeqSet{imap.SeqSetNum(7), imap.SeqSetNum(8)}}, false},
		{"uid", "simple.eml", C{UID: []imap.UIDSet{{{Start: 40, Stop: 50}}}}, true},
		{"uid miss", "simple.eml", C{UID: []imap.UIDSet{imap.UIDSetNum(41)}}, false},
		{"unresolved $ is empty", "simple.eml", C{UID: []imap.UIDSet{imap.SearchRes()}}, false},

		// Internal date: 15 May in the message's zone, whatever UTC says.
		{"since same day", "simple.eml", C{Since: day(2024, 5, 15)}, true},
		{"since next day", "simple.eml", C{Since: day(2024, 5, 16)}, false},
		{"before same day", "simple.eml", C{Before: day(2024, 5, 15)}, false},
		{"before next day", "simple.eml", C{Before: day(2024, 5, 16)}, true},
		{"on", "simple.eml", C{Since: day(2024, 5, 15), Before: day(2024, 5, 16)}, true},
		{"on UTC date", "simple.eml", C{Since: day(2024, 5, 14), Before: day(2024, 5, 15)}, false},

		// Date header: 14 May 09:11 +0200.
		{"senton", "simple.eml", C{SentSince: day(2024, 5, 14), SentBefore: day(2024, 5, 15)}, true},
		{"sentbefore same day", "simple.eml", C{SentBefore: day(2024, 5, 14)}, false},
		{"sentsince next day", "simple.eml", C{SentSince: day(2024, 5, 15)}, false},
		{"senton late in its zone", "encoded.eml", C{SentSince: day(2024, 3, 6), SentBefore: day(2024, 3, 7)}, true},
		{"senton obsolete date", "groups.eml", C{SentSince: day(2024, 1, 3), SentBefore: day(2024, 1, 4)}, true},
		{"sentsince without Date", "noheaders.eml", C{SentSince: day(1970, 1, 1)}, false},
		{"not sentsince without Date", "noheaders.eml", C{Not: []C{{SentSince: day(1970, 1, 1)}}}, true},
		{"sentbefore with invalid Date", "malformed.eml", C{SentBefore: day(2100, 1, 1)}, false},

		// FROM and other address fields: raw, decoded, addresses.
		{"from surname", "simple.eml", C{Header: from("rossi")}, true},
		{"from quoted display name", "simple.eml", C{Header: from("ROSSI, MARIO")}, true},
		{"from partial address", "simple.eml", C{Header: from("mario.rossi@exam")}, true},
		{"from domain", "simple.eml", C{Header: from("example.test")}, true},
		{"from other person", "simple.eml", C{Header: from("Alice")}, false},
		{"cc display name", "simple.eml", C{Header: hdr("Cc", "alice")}, true},
		{"cc address case", "simple.eml", C{Header: hdr("Cc", "alice@example.org")}, true},
		{"to display name", "simple.eml", C{Header: hdr("To", "support desk")}, true},
		{"from encoded word", "encoded.eml", C{Header: from("Jürgen")}, true},
		{"from encoded word upper case", "encoded.eml", C{Header: from("JÜRGEN MÜLLER")}, true},
		{"from raw encoded word", "encoded.eml", C{Header: from("=?utf-8?q?J=C3=BCrgen")}, true},
		{"from name and address", "encoded.eml", C{Header: from("Müller <jm@example.test>")}, true},
		{"to ISO-8859-1 name", "encoded.eml", C{Header: hdr("To", "françois")}, true},
		{"to B-encoded quoted name", "encoded.eml", C{Header: hdr("To", "山田")}, true},
		{"to empty group", "groups.eml", C{Header: hdr("To", "undisclosed-recipients")}, true},
		{"cc group name", "groups.eml", C{Header: hdr("Cc", "team")}, true},
		{"cc group member", "groups.eml", C{Header: hdr("Cc", "Bob B. <b@y.example>")}, true},
		{"bcc group", "groups.eml", C{Header: hdr("Bcc", "ops")}, true},
		{"resent-from is an address field", "encoded.eml", C{Header: hdr("Resent-From", "x")}, false},

		// SUBJECT and HEADER.
		{"subject folded", "simple.eml", C{Header: hdr("Subject", "2024-117 is overdue")}, true},
		{"subject decoded across words", "encoded.eml", C{Header: hdr("Subject", "ÜBERWEISUNG FÜR MÄRZ")}, true},
		{"subject miss", "simple.eml", C{Header: hdr("Subject", "paid")}, false},
		{"header name case", "digest.eml", C{Header: hdr("SUBJECT", "vol 1")}, true},
		{"header empty value present", "simple.eml", C{Header: hdr("Message-ID", "")}, true},
		{"header empty value, empty field", "groups.eml", C{Header: hdr("Reply-To", "")}, true},
		{"header missing", "simple.eml", C{Header: hdr("X-Spam", "")}, false},
		{"header in-reply-to second line", "simple.eml", C{Header: hdr("In-Reply-To", "prev-2@")}, true},
		{"header is not the body", "simple.eml", C{Header: hdr("Subject", "grazie")}, false},
		{"header of embedded message not searched", "forwarded.eml", C{Header: from("shop")}, false},
		{"headers intersect", "simple.eml", C{Header: append(from("rossi"), hdr("To", "nobody")...)}, false},

		// BODY: decoded text parts only.
		{"body", "simple.eml", C{Body: []string{"GRAZIE mille"}}, true},
		{"body not header", "simple.eml", C{Body: []string{"rossi"}}, false},
		{"body quoted-printable ISO-8859-1", "encoded.eml", C{Body: []string{"überweisung für märz"}}, true},
		{"body soft line break", "encoded.eml", C{Body: []string{"am Montag gebucht"}}, true},
		{"body sharp s", "encoded.eml", C{Body: []string{"GRÜßEN"}}, true},
		{"body quoted-printable UTF-8", "alternative.eml", C{Body: []string{"Grüße from the warehouse, see you soon"}}, true},
		{"body base64 HTML, tags stripped", "alternative.eml", C{Body: []string{"order #A-778 has shipped"}}, true},
		{"body HTML entities", "alternative.eml", C{Body: []string{"track it & relax"}}, true},
		{"body raw HTML", "alternative.eml", C{Body: []string{"<b>order</b>"}}, true},
		{"body attachment not searched", "alternative.eml", C{Body: []string{"%PDF"}}, false},
		{"body preamble not searched", "alternative.eml", C{Body: []string{"multi-part message"}}, false},
		{"body embedded message", "forwarded.eml", C{Body: []string{"see you soon"}}, true},
		{"body embedded header", "forwarded.eml", C{Body: []string{"orders@shop.example"}}, true},
		{"body digest part", "digest.eml", C{Body: []string{"first message body"}}, true},
		{"body multipart without boundary", "malformed.eml", C{Body: []string{"no boundary reaches"}}, true},
		{"bodies intersect", "simple.eml", C{Body: []string{"grazie", "arrivederci"}}, false},
		{"body empty string", "noheaders.eml", C{Body: []string{""}}, true},

		// TEXT: header and body.
		{"text header", "simple.eml", C{Text: []string{"rossi"}}, true},
		{"text body", "simple.eml", C{Text: []string{"payment"}}, true},
		{"text field name", "simple.eml", C{Text: []string{"in-reply-to:"}}, true},
		{"text decoded header", "encoded.eml", C{Text: []string{"jürgen"}}, true},
		{"text miss", "simple.eml", C{Text: []string{"arrivederci"}}, false},

		// Flags, \Recent included; case-insensitive.
		{"flag", "simple.eml", C{Flag: []imap.Flag{imap.FlagSeen}}, true},
		{"flag case", "simple.eml", C{Flag: []imap.Flag{"\\SEEN"}}, true},
		{"recent", "simple.eml", C{Flag: []imap.Flag{"\\Recent"}}, true},
		{"keyword", "simple.eml", C{Flag: []imap.Flag{"$forwarded"}}, true},
		{"flag missing", "simple.eml", C{Flag: []imap.Flag{imap.FlagFlagged}}, false},
		{"unflagged", "simple.eml", C{NotFlag: []imap.Flag{imap.FlagFlagged}}, true},
		{"unseen", "simple.eml", C{NotFlag: []imap.Flag{imap.FlagSeen}}, false},
		{"new", "simple.eml", C{Flag: []imap.Flag{"\\Recent"}, NotFlag: []imap.Flag{imap.FlagSeen}}, false},
		{"old", "simple.eml", C{NotFlag: []imap.Flag{"\\Recent"}}, false},

		// Sizes: RFC822.SIZE strictly larger or smaller.
		{"larger", "simple.eml", C{Larger: 100}, true},
		{"larger than itself", "simple.eml", C{Larger: sizeOf(t, "simple.eml")}, false},
		{"smaller than itself", "simple.eml", C{Smaller: sizeOf(t, "simple.eml")}, false},
		{"smaller", "simple.eml", C{Smaller: sizeOf(t, "simple.eml") + 1}, true},

		// NOT and OR.
		{"not flag", "simple.eml", C{Not: []C{{Flag: []imap.Flag{imap.FlagSeen}}}}, false},
		{"not body", "simple.eml", C{Not: []C{{Body: []string{"arrivederci"}}}}, true},
		{"not each", "simple.eml", C{Not: []C{{Body: []string{"arrivederci"}}, {Header: from("rossi")}}}, false},
		{"or second", "simple.eml", C{Or: [][2]C{{{Header: from("nobody")}, {Body: []string{"grazie"}}}}}, true},
		{"or neither", "simple.eml", C{Or: [][2]C{{{Header: from("nobody")}, {Body: []string{"nothing"}}}}}, false},
		{"or pairs intersect", "simple.eml", C{Or: [][2]C{
			{{Header: from("rossi")}, {Body: []string{"nothing"}}},
			{{Larger: 1 << 30}, {Flag: []imap.Flag{imap.FlagDraft}}},
		}}, false},
		{"not or", "simple.eml", C{Not: []C{{Or: [][2]C{{{Header: from("nobody")}, {Flag: []imap.Flag{imap.FlagSeen}}}}}}}, false},
		{"or of nots", "encoded.eml", C{Or: [][2]C{{{Not: []C{{Header: from("jürgen")}}}, {Not: []C{{SentSince: day(2024, 3, 7)}}}}}}, true},
		{"and with not and or", "forwarded.eml", C{
			Header: hdr("Subject", "fwd"),
			Not:    []C{{Body: []string{"%PDF"}}},
			Or:     [][2]C{{{UID: []imap.UIDSet{imap.UIDSetNum(1)}}, {Since: day(2024, 5, 1)}}},
		}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := load(t, tc.file)
			if got := Match(raw, testMeta(raw), &tc.c); got != tc.want {
				t.Errorf("Match(%s) = %v, want %v", tc.file, got, tc.want)
			}
			// Negation is exact: NOT c matches when c doesn't.
			if got := Match(raw, testMeta(raw), &imap.SearchCriteria{Not: []imap.SearchCriteria{tc.c}}); got == tc.want {
				t.Errorf("Match(%s, NOT) = %v, want %v", tc.file, got, !tc.want)
			}
			// Bare LF line ends change nothing but the size.
			if tc.c.Larger == 0 && tc.c.Smaller == 0 {
				lf := bytesReplace(raw, "\r\n", "\n")
				if got := Match(lf, testMeta(lf), &tc.c); got != tc.want {
					t.Errorf("Match(%s with LF) = %v, want %v", tc.file, got, tc.want)
				}
			}
		})
	}
}

func sizeOf(t *testing.T, file string) int64 {
	return int64(len(load(t, file)))
}

func TestMatchSizeFromRaw(t *testing.T) {
	raw := []byte("Subject: x\r\n\r\n0123456789")
	if !Match(raw, Meta{}, &imap.SearchCriteria{Larger: 20}) || Match(raw, Meta{}, &imap.SearchCriteria{Larger: 30}) {
		t.Error("Meta.Size 0 should mean len(raw)")
	}
	if !Match(raw, Meta{Size: 1000}, &imap.SearchCriteria{Larger: 500}) {
		t.Error("Meta.Size should win over len(raw)")
	}
}

func TestMatchNilCriteria(t *testing.T) {
	if !Match(nil, Meta{}, nil) {
		t.Error("nil criteria should match")
	}
}

// TestMatchBodyLimit checks that text past MaxSearchText is not searched.
func TestMatchBodyLimit(t *testing.T) {
	raw := make([]byte, 0, MaxSearchText+100)
	raw = append(raw, "Subject: big\r\n\r\n"...)
	for len(raw) < MaxSearchText+10 {
		raw = append(raw, "filler line of text\r\n"...)
	}
	raw = append(raw, "needle\r\n"...)
	c := &imap.SearchCriteria{Body: []string{"needle"}}
	if Match(raw, Meta{}, c) {
		t.Error("text past MaxSearchText was searched")
	}
	if !Match(raw, Meta{}, &imap.SearchCriteria{Body: []string{"filler"}}) {
		t.Error("text within MaxSearchText was not searched")
	}
}

func TestResolveSets(t *testing.T) {
	type C = imap.SearchCriteria
	star := imap.SeqSet{{Start: 0, Stop: 0}}
	c := &C{
		SeqNum: []imap.SeqSet{star},
		UID:    []imap.UIDSet{{{Start: 40, Stop: 0}}},
		Not:    []C{{SeqNum: []imap.SeqSet{{{Start: 9, Stop: 0}}}}},
		Or:     [][2]C{{{UID: []imap.UIDSet{imap.SearchRes()}}, {}}},
	}
	r := ResolveSets(c, 7, 42, imap.UIDSetNum(42, 43))
	if got := r.SeqNum[0].String(); got != "7" {
		t.Errorf("* = %s, want 7", got)
	}
	if got := r.UID[0].String(); got != "40:42" {
		t.Errorf("40:* = %s, want 40:42", got)
	}
	if got := r.Not[0].SeqNum[0].String(); got != "7:9" {
		t.Errorf("9:* with 7 messages = %s, want 7:9", got)
	}
	if got := r.Or[0][0].UID[0].String(); got != "42:43" {
		t.Errorf("$ = %s, want 42:43", got)
	}
	if c.SeqNum[0].String() != "*" {
		t.Error("ResolveSets changed its argument")
	}
	raw := load(t, "simple.eml")
	m := testMeta(raw) // seq 7, UID 42: the last message
	if !Match(raw, m, r) == Match(raw, m, &C{SeqNum: []imap.SeqSet{imap.SeqSetNum(7)}, UID: []imap.UIDSet{imap.UIDSetNum(42)}, Not: []C{{SeqNum: []imap.SeqSet{imap.SeqSetNum(7)}}}}) {
		t.Error("resolved criteria match differently")
	}

	empty := ResolveSets(&C{SeqNum: []imap.SeqSet{star}, UID: []imap.UIDSet{imap.SearchRes()}}, 0, 0, nil)
	if len(empty.SeqNum) != 1 || len(empty.SeqNum[0]) != 0 || len(empty.UID) != 1 || len(empty.UID[0]) != 0 {
		t.Errorf("empty mailbox: %+v", empty)
	}
	if Match(raw, m, empty) {
		t.Error("an empty set matched")
	}
}
