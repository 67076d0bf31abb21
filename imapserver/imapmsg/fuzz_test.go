package imapmsg

import (
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

// seedMessages adds the testdata messages, with CRLF and LF line ends, and
// a few hostile shapes to a fuzz corpus.
func seedMessages(f *testing.F, add func(raw []byte)) {
	for _, name := range testdataMessages(f) {
		raw := load(f, name)
		add(raw)
		add(bytesReplace(raw, "\r\n", "\n"))
	}
	for _, s := range []string{
		"",
		"\r\n",
		"To: a:b:c;;;,,<>\r\nFrom: \"\\\r\n\r\n",
		"Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n--a--\r\n--a--",
		"Content-Type: message/rfc822\r\n\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nQ29udGVudC1UeXBlOiB0ZXh0L2h0bWwNCg0KPHNjcmlwdD4=",
		"Subject: =?utf-8?b?=?= =?x?q?=?=\r\nDate: Mon, 99 Jan 99999 99:99:99 +9999\r\n\r\n",
	} {
		add([]byte(s))
	}
}

func FuzzEnvelope(f *testing.F) {
	seedMessages(f, func(raw []byte) { f.Add(raw) })
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkEnvelope(t, Envelope(raw))
	})
}

func FuzzBodyStructure(f *testing.F) {
	seedMessages(f, func(raw []byte) { f.Add(raw, true) })
	f.Fuzz(func(t *testing.T, raw []byte, extended bool) {
		bs := BodyStructure(raw, extended)
		checkStructure(t, bs, extended)
		checkSizes(t, bs, len(raw))
	})
}

// checkSizes checks that no part claims more bytes than the message has.
func checkSizes(t *testing.T, bs imap.BodyStructure, size int) {
	switch bs := bs.(type) {
	case *imap.BodyStructureMultiPart:
		for _, c := range bs.Children {
			checkSizes(t, c, size)
		}
	case *imap.BodyStructureSinglePart:
		if int(bs.Size) > size {
			t.Fatalf("part of %d bytes in a message of %d", bs.Size, size)
		}
		if bs.Text != nil && bs.Text.NumLines > int64(size) {
			t.Fatalf("%d lines in a message of %d bytes", bs.Text.NumLines, size)
		}
		if m := bs.MessageRFC822; m != nil {
			checkSizes(t, m.BodyStructure, size)
		}
	}
}

func FuzzMatch(f *testing.F) {
	seedMessages(f, func(raw []byte) {
		for _, p := range []string{"", "rossi", "Jürgen", "example.test", "order"} {
			f.Add(raw, p, int64(len(raw)/2))
		}
	})
	f.Fuzz(func(t *testing.T, raw []byte, pattern string, n int64) {
		m := Meta{SeqNum: 3, UID: 9, Flags: []imap.Flag{imap.FlagSeen}, InternalDate: time.Unix(n, 0).UTC(), Size: int64(len(raw))}
		if !Match(raw, m, &imap.SearchCriteria{}) {
			t.Fatal("empty criteria did not match")
		}
		d := time.Unix(n, 0).UTC()
		day := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
		crit := []imap.SearchCriteria{
			{Body: []string{pattern}},
			{Text: []string{pattern}},
			{Header: []imap.SearchCriteriaHeaderField{{Key: "From", Value: pattern}}},
			{Header: []imap.SearchCriteriaHeaderField{{Key: "To", Value: pattern}}},
			{Header: []imap.SearchCriteriaHeaderField{{Key: pattern, Value: ""}}},
			{SentSince: day},
			{SentBefore: day},
			{Since: day, Before: day.Add(24 * time.Hour)},
			{Larger: n},
			{Smaller: n},
		}
		results := make([]bool, len(crit))
		for i, c := range crit {
			results[i] = Match(raw, m, &c)
			not := Match(raw, m, &imap.SearchCriteria{Not: []imap.SearchCriteria{c}})
			if not == results[i] {
				t.Fatalf("criteria %d: Match and NOT Match both %v", i, not)
			}
			if !Match(raw, m, &imap.SearchCriteria{Or: [][2]imap.SearchCriteria{{c, {Not: []imap.SearchCriteria{c}}}}}) {
				t.Fatalf("criteria %d: c OR NOT c did not match", i)
			}
		}
		// TEXT searches everything BODY and FROM/TO search.
		if (results[0] || results[2] || results[3]) && !results[1] {
			t.Fatalf("BODY/FROM/TO matched %q but TEXT did not", pattern)
		}
		// The internal date is on its own day.
		if !results[7] {
			t.Fatal("ON the internal date did not match")
		}
		// Both halves of an AND match when the AND does.
		and := imap.SearchCriteria{Body: []string{pattern}, Header: crit[2].Header}
		if Match(raw, m, &and) != (results[0] && results[2]) {
			t.Fatal("AND differs from both keys")
		}
	})
}
