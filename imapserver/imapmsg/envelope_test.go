package imapmsg

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/emersion/go-imap/v2"
)

func TestEnvelope(t *testing.T) {
	tests := []struct {
		file string
		want string // RFC 3501 §9 envelope syntax, see wireEnvelope
	}{{
		file: "simple.eml",
		want: `("Tue, 14 May 2024 09:11:58 +0200" "Invoice 2024-117 is overdue" ` +
			`(("Rossi, Mario" NIL "mario.rossi" "example.test")) ` +
			`(("Rossi, Mario" NIL "mario.rossi" "example.test")) ` +
			`(("Rossi, Mario" NIL "mario.rossi" "example.test")) ` +
			`(("Support Desk" NIL "support" "mxdesk.test")(NIL NIL "alice" "example.org")) ` +
			`(("Alice Liddell" NIL "Alice" "Example.ORG")) NIL ` +
			`"<prev-1@mxdesk.test> <prev-2@mxdesk.test>" "<20240514071158.GA1234@example.test>")`,
	}, {
		// Groups: an empty group, a group with members followed by a plain
		// address, a group name with a comment. Sender present, Reply-To
		// empty so it defaults to From.
		file: "groups.eml",
		want: `("Wed, 03 Jan 2024 17:05:00 +0000" "Weekly digest" ` +
			`(("Newsletter" NIL "news" "lists.example.net")) ` +
			`((NIL NIL "bounces+1234" "lists.example.net")) ` +
			`(("Newsletter" NIL "news" "lists.example.net")) ` +
			`((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) ` +
			`((NIL NIL "Team" NIL)(NIL NIL "a" "x.example")("Bob B." NIL "b" "y.example")(NIL NIL NIL NIL)(NIL NIL "carol" "z.example")) ` +
			`((NIL NIL "Ops" NIL)(NIL NIL NIL NIL)) NIL "<digest.2024.01@lists.example.net>")`,
	}, {
		// Encoded words: Q and B, ISO-8859-1, inside quotes, a multi-word
		// subject whose words join without the white space between them.
		file: "encoded.eml",
		want: `("Wed, 06 Mar 2024 14:30:00 +0100" "Überweisung für März [ticket #42]" ` +
			`(("Jürgen Müller" NIL "jm" "example.test")) ` +
			`(("Jürgen Müller" NIL "jm" "example.test")) ` +
			`(("Jürgen Müller" NIL "jm" "example.test")) ` +
			`(("François" NIL "francois" "example.fr")("山田" NIL "yamada" "example.jp")) ` +
			`NIL NIL NIL "<encoded-1@example.test>")`,
	}, {
		file: "noheaders.eml",
		want: `(NIL "no sender, no date" NIL NIL NIL NIL NIL NIL NIL NIL)`,
	}, {
		// Whatever can be decoded is: an mbox "From " line is skipped, bad
		// addresses get placeholders instead of an empty host that would read
		// as a group marker, an unknown charset falls back to ISO 8859-1, a
		// bare Message-ID is accepted, an impossible date is NIL.
		file: "malformed.eml",
		want: `(NIL "=?utf-8?q?unfinished" ` +
			`(("broken" NIL "a" "b")("only a comment" NIL "MISSING_MAILBOX" "MISSING_DOMAIN")(NIL NIL "unterminated <x@y.example" "MISSING_DOMAIN")) ` +
			`(("broken" NIL "a" "b")("only a comment" NIL "MISSING_MAILBOX" "MISSING_DOMAIN")(NIL NIL "unterminated <x@y.example" "MISSING_DOMAIN")) ` +
			`(("broken" NIL "a" "b")("only a comment" NIL "MISSING_MAILBOX" "MISSING_DOMAIN")(NIL NIL "unterminated <x@y.example" "MISSING_DOMAIN")) ` +
			`((NIL NIL "Team" NIL)(NIL NIL "nested" "group.example")(NIL NIL NIL NIL)(NIL NIL "stray" "MISSING_DOMAIN")(NIL NIL "colon" "z.example")("John Doe" NIL "MISSING_MAILBOX" "MISSING_DOMAIN")) ` +
			`(("Café" NIL "cafe" "example.test")(NIL NIL "bad" "example.test")) NIL NIL "<not-bracketed@example.test>")`,
	}}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			raw := load(t, tc.file)
			if got := wireEnvelope(Envelope(raw)); got != tc.want {
				t.Errorf("envelope\n got %s\nwant %s", got, tc.want)
			}
			// LF line ends give the same envelope.
			lf := bytesReplace(raw, "\r\n", "\n")
			if got := wireEnvelope(Envelope(lf)); got != tc.want {
				t.Errorf("envelope with LF line ends\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestEnvelopeHeaders(t *testing.T) {
	tests := []struct {
		name, header, want string
	}{
		{"empty message", "", `(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)`},
		{"only body", "\r\nbody", `(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)`},
		{"no blank line", "Subject: x", `(NIL "x" NIL NIL NIL NIL NIL NIL NIL NIL)`},
		{"legacy comment name", "From: jdoe@example.test (John Doe)",
			`(NIL NIL (("John Doe" NIL "jdoe" "example.test")) (("John Doe" NIL "jdoe" "example.test")) (("John Doe" NIL "jdoe" "example.test")) NIL NIL NIL NIL NIL)`},
		{"quoted local part and route", `To: <@relay.example:"john doe"@example.test>`,
			`(NIL NIL NIL NIL NIL ((NIL NIL "john doe" "example.test")) NIL NIL NIL NIL)`},
		{"group without name is flattened", "To: : a@b.example;",
			`(NIL NIL NIL NIL NIL ((NIL NIL "a" "b.example")) NIL NIL NIL NIL)`},
		{"unclosed group", "To: Friends: a@b.example, c@d.example",
			`(NIL NIL NIL NIL NIL ((NIL NIL "Friends" NIL)(NIL NIL "a" "b.example")(NIL NIL "c" "d.example")(NIL NIL NIL NIL)) NIL NIL NIL NIL)`},
		{"group holding only a comment", "Cc: group2: (foo) ;",
			`(NIL NIL NIL NIL NIL NIL ((NIL NIL "group2" NIL)(NIL NIL NIL NIL)) NIL NIL NIL)`},
		{"encoded group name", "Cc: =?utf-8?q?=C3=89quipe?=: e@f.example;",
			`(NIL NIL NIL NIL NIL NIL ((NIL NIL "Équipe" NIL)(NIL NIL "e" "f.example")(NIL NIL NIL NIL)) NIL NIL NIL)`},
		{"sender and reply-to given", "From: a@x.example\r\nSender: s@x.example\r\nReply-To: r@x.example",
			`(NIL NIL ((NIL NIL "a" "x.example")) ((NIL NIL "s" "x.example")) ((NIL NIL "r" "x.example")) NIL NIL NIL NIL NIL)`},
		{"obsolete date, zone name", "Date: Thu, 1 Feb 01 1:02 EST",
			`("Thu, 01 Feb 2001 01:02:00 -0500" NIL NIL NIL NIL NIL NIL NIL NIL NIL)`},
		{"date without zone", "Date: 5 Jun 2023 10:00:00",
			`("Mon, 05 Jun 2023 10:00:00 +0000" NIL NIL NIL NIL NIL NIL NIL NIL NIL)`},
		{"asctime date", "Date: Mon Jun  5 10:00:00 2023",
			`("Mon, 05 Jun 2023 10:00:00 +0000" NIL NIL NIL NIL NIL NIL NIL NIL NIL)`},
		{"message-id with comment and spaces", "Message-ID: (x) < a@b.example >",
			`(NIL NIL NIL NIL NIL NIL NIL NIL NIL "<a@b.example>")`},
		{"control characters in subject", "Subject: =?utf-8?q?a=00b=0D=0Ac?=",
			`(NIL "a b  c" NIL NIL NIL NIL NIL NIL NIL NIL)`},
		{"split multi-byte character", "Subject: =?utf-8?b?w6k=?= =?utf-8?b?4oI=?= =?utf-8?b?rA==?=",
			`(NIL "é€" NIL NIL NIL NIL NIL NIL NIL NIL)`},
		{"raw UTF-8 header (RFC 6532)", "From: Zoë <zoë@exämple.test>",
			`(NIL NIL (("Zoë" NIL "zoë" "exämple.test")) (("Zoë" NIL "zoë" "exämple.test")) (("Zoë" NIL "zoë" "exämple.test")) NIL NIL NIL NIL NIL)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := wireEnvelope(Envelope([]byte(tc.header))); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestEnvelopeGroupMarkers checks the markers with the accessors go-imap
// clients use.
func TestEnvelopeGroupMarkers(t *testing.T) {
	env := Envelope(load(t, "groups.eml"))
	cc := env.Cc
	if len(cc) != 5 || !cc[0].IsGroupStart() || cc[0].Mailbox != "Team" || !cc[3].IsGroupEnd() ||
		cc[1].Addr() != "a@x.example" || cc[4].Addr() != "carol@z.example" {
		t.Errorf("Cc = %+v", cc)
	}
	for _, a := range []imap.Address{cc[1], cc[2], cc[4]} {
		if a.IsGroupStart() || a.IsGroupEnd() {
			t.Errorf("member %+v reads as a group marker", a)
		}
	}
}

// checkEnvelope checks what RFC 3501 §7.4.2 and go-imap's writer need:
// groups open and close in turn, an address that is no marker has both
// mailbox and host (an empty host would read as a group start), strings
// are valid UTF-8 without control characters.
func checkEnvelope(t testing.TB, env *imap.Envelope) {
	t.Helper()
	if env == nil {
		t.Fatal("nil envelope")
	}
	checkIMAPString(t, env.Subject)
	for _, id := range append([]string{env.MessageID}, env.InReplyTo...) {
		checkIMAPString(t, id)
		if strings.ContainsAny(id, "<> ") {
			t.Fatalf("message id %q has brackets or spaces", id)
		}
	}
	if !env.Date.IsZero() && (env.Date.Year() < 1000 || env.Date.Year() > 9999) {
		t.Fatalf("date %v out of range", env.Date)
	}
	for _, l := range [][]imap.Address{env.From, env.Sender, env.ReplyTo, env.To, env.Cc, env.Bcc} {
		inGroup := false
		for _, a := range l {
			checkIMAPString(t, a.Name)
			checkIMAPString(t, a.Mailbox)
			checkIMAPString(t, a.Host)
			switch {
			case a.IsGroupEnd():
				if !inGroup || a.Name != "" {
					t.Fatalf("stray group end in %+v", l)
				}
				inGroup = false
			case a.IsGroupStart():
				if inGroup || a.Name != "" {
					t.Fatalf("nested group start in %+v", l)
				}
				inGroup = true
			}
		}
		if inGroup {
			t.Fatalf("group not closed in %+v", l)
		}
	}
	if len(env.From) > 0 && (len(env.Sender) == 0 || len(env.ReplyTo) == 0) {
		t.Fatalf("sender or reply-to not defaulted to from")
	}
}

// checkIMAPString checks that s can be sent as a quoted string or literal.
func checkIMAPString(t testing.TB, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Fatalf("%q is not valid UTF-8", s)
	}
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			t.Fatalf("%q has control characters", s)
		}
	}
}
