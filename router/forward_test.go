package router

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// The inline-forward blocks real clients write, as they write them.
var forwardBlocks = map[string]string{
	"mutt": "Bob, she was charged twice.\n\n----- Forwarded message from Carla Rossi <carla@customer.test> -----\n\n" +
		"Date: Mon, 2 Mar 2026 09:00:00 +0100\nFrom: Carla Rossi <carla@customer.test>\nTo: support@example.test\n" +
		"Subject: where is my order\n\nhello\n\n----- End forwarded message -----\n",
	"thunderbird": "Bob, for you.\n\n-------- Forwarded Message --------\nSubject: \twhere is my order\n" +
		"Date: \tMon, 2 Mar 2026 09:00:00 +0100\nFrom: \tCarla Rossi <carla@customer.test>\nTo: \tsupport@example.test\n\n\n\nhello\n",
	"thunderbird-html": `<html><body><p>Bob, for you.<br></p><div class="moz-forward-container"><br><br>-------- Forwarded Message --------` +
		`<table class="moz-email-headers-table" cellspacing="0" cellpadding="0" border="0"><tbody>` +
		`<tr><th valign="BASELINE" nowrap="nowrap" align="RIGHT">Subject: </th><td>where is my order</td></tr>` +
		`<tr><th valign="BASELINE" nowrap="nowrap" align="RIGHT">Date: </th><td>Mon, 2 Mar 2026 09:00:00 +0100</td></tr>` +
		`<tr><th valign="BASELINE" nowrap="nowrap" align="RIGHT">From: </th><td>Carla Rossi <a class="moz-txt-link-rfc2396E" href="mailto:carla@customer.test">&lt;carla@customer.test&gt;</a></td></tr>` +
		`<tr><th valign="BASELINE" nowrap="nowrap" align="RIGHT">To: </th><td><a class="moz-txt-link-abbreviated" href="mailto:support@example.test">support@example.test</a></td></tr>` +
		`</tbody></table><br>hello<br></div></body></html>`,
	"outlook": "Bob, for you.\r\n\r\n________________________________\r\nFrom: Carla Rossi <carla@customer.test>\r\n" +
		"Sent: Monday, March 2, 2026 9:00 AM\r\nTo: support@example.test\r\nSubject: where is my order\r\n\r\nhello\r\n",
	"outlook-no-marker": "Bob, for you.\r\n\r\nFrom: Carla Rossi <carla@customer.test>\r\n" +
		"Sent: Monday, March 2, 2026 9:00 AM\r\nTo: support@example.test\r\nSubject: where is my order\r\n\r\nhello\r\n",
	"outlook-html": `<div class="WordSection1"><p class="MsoNormal">Bob, for you.<o:p></o:p></p><p class="MsoNormal"><o:p>&nbsp;</o:p></p>` +
		`<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0in 0in 0in"><p class="MsoNormal"><b>From:</b> Carla Rossi &lt;carla@customer.test&gt; <br>` +
		`<b>Sent:</b> Monday, March 2, 2026 9:00 AM<br><b>To:</b> support@example.test<br><b>Subject:</b> where is my order<o:p></o:p></p></div>` +
		`<p class="MsoNormal">hello<o:p></o:p></p></div>`,
	"gmail": "Bob, for you.\n\n---------- Forwarded message ---------\nFrom: Carla Rossi <carla@customer.test>\n" +
		"Date: Mon, Mar 2, 2026 at 9:00 AM\nSubject: where is my order\nTo: <support@example.test>\n\nhello\n",
}

func TestParseForwardBlock(t *testing.T) {
	for client, body := range forwardBlocks {
		text := body
		if strings.HasSuffix(client, "-html") {
			text = htmlText(body)
		}
		f, ok := parseForwardBlock(text)
		if !ok || f.from != "carla@customer.test" || f.subject != "where is my order" {
			t.Errorf("%s: %+v %v, want carla@customer.test, where is my order", client, f, ok)
		}
	}
	// With Message-ID (mutt with weeding off).
	f, _ := parseForwardBlock("----- Forwarded message from carla@customer.test -----\n\nMessage-ID: <c1@customer.test>\nSubject: x\n\nbody\n")
	if f.messageID != "c1@customer.test" || f.from != "carla@customer.test" {
		t.Errorf("mutt block with Message-ID: %+v", f)
	}
	// A reply's quoted "From:" line alone is no block.
	if f, ok := parseForwardBlock("Thanks!\n\n> From: Carla <carla@customer.test>\n> hello\n"); ok {
		t.Errorf("a quoted line read as a forward: %+v", f)
	}
}

func TestSubjectKey(t *testing.T) {
	for _, subject := range []string{
		"where is my order", "Fwd: where is my order", "FW: Re: where is my order [S-7K3QX]",
		"WG: AW: Where is  my order", "I: R: where is my order", "VS: SV: where is my order",
		"[Carla Rossi: Re: where is my order]", "Re[2]: where is my order",
	} {
		if got := subjectKey(subject); got != "where is my order" {
			t.Errorf("subjectKey(%q) = %q", subject, got)
		}
	}
}

// FuzzParseForwardBlock: any text, as plain text or HTML, never panics,
// and what it finds is bounded and an address where it should be.
func FuzzParseForwardBlock(f *testing.F) {
	for _, body := range forwardBlocks {
		f.Add(body)
	}
	f.Add("-----Original Message-----\nFrom: <>\nSubject: =?utf-8?q?caf=C3=A9?=\n")
	f.Add("From: a\nSent:\n")
	f.Fuzz(func(t *testing.T, text string) {
		for _, s := range []string{text, htmlText(text)} {
			got, ok := parseForwardBlock(s)
			if !ok {
				continue
			}
			if got.from == "" && got.subject == "" && got.messageID == "" {
				t.Fatalf("found an empty block in %q", s)
			}
			if got.from != "" && (!strings.Contains(got.from, "@") || got.from != strings.ToLower(got.from)) {
				t.Fatalf("from %q is not a lower-case address", got.from)
			}
			if len(got.subject) > len(s)*4+64 || !utf8.ValidString(got.from) {
				t.Fatalf("subject %q out of %q", got.subject, s)
			}
		}
	})
}

// FuzzForwardedOriginals: any message an agent sends, read for what it
// forwards (MIME walk, attached headers, inline blocks), never panics and
// finds no more than its part limit.
func FuzzForwardedOriginals(f *testing.F) {
	f.Add([]byte("Subject: Fwd: x\r\n\r\n" + forwardBlocks["mutt"]))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\n" +
		"Content-Type: message/rfc822\r\n\r\nMessage-ID: <m@x>\r\nX-Mxdesk-Session: S-ABCDE\r\nFrom: a@b.test\r\n\r\nbody\r\n--b--\r\n"))
	f.Add([]byte("Content-Type: text/html\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + forwardBlocks["thunderbird-html"]))
	f.Fuzz(func(t *testing.T, raw []byte) {
		in := parseInbound(raw, Envelope{From: "agent@example.test"}, "mx.test")
		originals := forwardedOriginals(in)
		if len(originals) > maxForwardParts {
			t.Fatalf("%d originals", len(originals))
		}
		isForward(in, originals)
		for _, o := range originals {
			subjectKey(o.subject)
		}
	})
}

func TestIsForward(t *testing.T) {
	for subject, want := range map[string]bool{
		"Fwd: order": true, "FW: order": true, "WG: Bestellung": true, "I: ordine": true, "VS: tilaus": true, "TR: commande": true,
		"[Carla Rossi: order]": true, "Re: order": false, "order": false, "[S-7K3QX] order": false, "Fwd order": false,
	} {
		in := parseInbound([]byte("Subject: "+subject+"\r\n\r\nhi\r\n"), Envelope{}, "mx.test")
		if got := isForward(in, nil); got != want {
			t.Errorf("isForward(%q) = %v, want %v", subject, got, want)
		}
	}
	in := parseInbound([]byte("Subject: order\r\nX-Forwarded-Message-Id: <c1@customer.test>\r\n\r\nhi\r\n"), Envelope{}, "mx.test")
	if !isForward(in, nil) || !isForward(parseInbound([]byte("Subject: order\r\n\r\n"), Envelope{}, "mx.test"), []forwarded{{attached: true}}) {
		t.Error("Thunderbird's X-Forwarded-Message-Id or an attached message does not make a forward")
	}
}
