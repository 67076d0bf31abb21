package imapmsg

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

func TestBodyStructure(t *testing.T) {
	const (
		altPart = `(("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 83 2 NIL NIL NIL NIL)` +
			`("text" "html" ("charset" "utf-8") NIL NIL "base64" 262 4 NIL NIL ("en" "de") "https://shop.example/orders/A-778.html")` +
			` "alternative" ("boundary" "inner-b") NIL NIL NIL)`
		pdfPart = `("application" "pdf" ("name" "=?utf-8?q?Rechnung_M=C3=A4rz.pdf?=") "<inv-778@shop.example>" "Invoice PDF" "base64" 374` +
			` NIL ("attachment" ("filename*" "utf-8''Rechnung%20M%C3%A4rz.pdf" "size" "300")) NIL NIL)`
		orderEnv = `("Fri, 01 Mar 2024 23:30:00 -0800" "Your order #A-778" (("Shop" NIL "orders" "shop.example")) ` +
			`(("Shop" NIL "orders" "shop.example")) (("Shop" NIL "orders" "shop.example")) ((NIL NIL "alice" "example.org")) NIL NIL NIL "<order-778@shop.example>")`
	)
	tests := []struct {
		file string
		want string // BODYSTRUCTURE in RFC 3501 §9 syntax, see wire
	}{{
		file: "simple.eml",
		want: `("text" "plain" ("charset" "utf-8" "format" "flowed") NIL NIL "8bit" 106 6 NIL NIL NIL NIL)`,
	}, {
		// No Content-Type: text/plain; charset=us-ascii (RFC 2045 §5.2).
		file: "noheaders.eml",
		want: `("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 69 1 NIL NIL NIL NIL)`,
	}, {
		// Nested multipart, RFC 2047 name kept raw, RFC 2231 filename
		// re-encoded, Content-Language with a comment, folded
		// Content-Location, Content-ID and Content-Description.
		file: "alternative.eml",
		want: `(` + altPart + pdfPart + ` "mixed" ("boundary" "outer==boundary") NIL NIL NIL)`,
	}, {
		// message/rfc822 with the envelope and structure of the message
		// inside, and the disposition of the part itself.
		file: "forwarded.eml",
		want: `(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 34 1 NIL NIL NIL NIL)` +
			`("message" "rfc822" NIL NIL NIL "7bit" 1732 ` + orderEnv + ` (` + altPart + pdfPart + ` "mixed" ("boundary" "outer==boundary") NIL NIL NIL) 49` +
			` NIL ("inline" NIL) NIL NIL) "mixed" ("boundary" "fwd") NIL NIL NIL)`,
	}, {
		// In a digest a part without Content-Type is message/rfc822 (RFC
		// 2046 §5.1.5).
		file: "digest.eml",
		want: `(("message" "rfc822" NIL NIL NIL "7bit" 60 (NIL "first" ((NIL NIL "one" "example.net")) ((NIL NIL "one" "example.net")) ((NIL NIL "one" "example.net")) NIL NIL NIL NIL NIL)` +
			` ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 19 1 NIL NIL NIL NIL) 4 NIL NIL NIL NIL)` +
			`("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 22 1 NIL NIL NIL NIL) "digest" ("boundary" "d") NIL NIL NIL)`,
	}, {
		// A multipart without boundary has no parts; an empty text/plain
		// stands in, as Dovecot and Cyrus do.
		file: "malformed.eml",
		want: `(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL) "mixed" NIL NIL NIL NIL)`,
	}}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			raw := load(t, tc.file)
			if got := wire(BodyStructure(raw, true), true); got != tc.want {
				t.Errorf("BODYSTRUCTURE\n got %s\nwant %s", got, tc.want)
			}
			// BODY is BODYSTRUCTURE without the extension data.
			basic := BodyStructure(raw, false)
			if got, want := wire(basic, false), wire(BodyStructure(raw, true), false); got != want {
				t.Errorf("BODY\n got %s\nwant %s", got, want)
			}
			checkNoExtension(t, basic)
		})
	}
}

func checkNoExtension(t *testing.T, bs imap.BodyStructure) {
	t.Helper()
	switch bs := bs.(type) {
	case *imap.BodyStructureSinglePart:
		if bs.Extended != nil {
			t.Errorf("BODY part %s has extension data", bs.MediaType())
		}
		if m := bs.MessageRFC822; m != nil {
			checkNoExtension(t, m.BodyStructure)
		}
	case *imap.BodyStructureMultiPart:
		if bs.Extended != nil {
			t.Errorf("BODY multipart has extension data")
		}
		for _, c := range bs.Children {
			checkNoExtension(t, c)
		}
	}
}

// TestBodyStructureSizes checks each part's size against the section
// go-imap's ExtractBodySection serves for BODY[part], which the FETCH code
// uses: a client that fetches a part gets as many bytes as announced.
func TestBodyStructureSizes(t *testing.T) {
	for _, file := range []string{"simple.eml", "noheaders.eml", "alternative.eml", "forwarded.eml", "digest.eml", "encoded.eml", "groups.eml"} {
		raw := load(t, file)
		BodyStructure(raw, true).Walk(func(path []int, part imap.BodyStructure) bool {
			sp, ok := part.(*imap.BodyStructureSinglePart)
			if !ok {
				return true
			}
			if len(path) == 0 {
				path = []int{1}
			}
			section := imapserver.ExtractBodySection(bytes.NewReader(raw), &imap.FetchItemBodySection{Part: path})
			if int(sp.Size) != len(section) {
				t.Errorf("%s part %v: size %d, BODY[%v] has %d bytes", file, path, sp.Size, path, len(section))
			}
			if sp.Text != nil {
				if want := countLines(section); sp.Text.NumLines != want {
					t.Errorf("%s part %v: %d lines, want %d", file, path, sp.Text.NumLines, want)
				}
			}
			return true
		})
	}
}

func TestBodyStructureEdgeCases(t *testing.T) {
	tests := []struct {
		name, msg, want string
	}{{
		name: "invalid content-type",
		msg:  "Content-Type: text\r\n\r\nhi\r\n",
		want: `("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 4 1 NIL NIL NIL NIL)`,
	}, {
		name: "text without charset",
		msg:  "Content-Type: TEXT/HTML\r\nContent-Transfer-Encoding: BASE64 (comment)\r\n\r\naGk=",
		want: `("text" "html" ("charset" "us-ascii") NIL NIL "base64" 4 1 NIL NIL NIL NIL)`,
	}, {
		name: "multipart with boundary but no delimiter",
		msg:  "Content-Type: multipart/mixed; boundary=x\r\n\r\nno parts here\r\n",
		want: `(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL) "mixed" ("boundary" "x") NIL NIL NIL)`,
	}, {
		name: "missing close delimiter, LF line ends",
		msg:  "Content-Type: multipart/mixed; boundary=x\n\n--x\n\none\n--x\nContent-Type: image/png\n\nPNG",
		want: `(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 3 1 NIL NIL NIL NIL)("image" "png" NIL NIL NIL "7bit" 3 NIL NIL NIL NIL) "mixed" ("boundary" "x") NIL NIL NIL)`,
	}, {
		name: "boundary prefix of inner boundary, transport padding",
		msg: "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b  \r\nContent-Type: multipart/alternative; boundary=bb\r\n\r\n" +
			"--bb\r\n\r\nx\r\n--bb--\r\n--b--\t\r\n",
		want: `((("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 1 1 NIL NIL NIL NIL) "alternative" ("boundary" "bb") NIL NIL NIL) "mixed" ("boundary" "b") NIL NIL NIL)`,
	}, {
		name: "duplicate and broken parameters",
		msg:  "Content-Type: application/octet-stream; name=a; name=b; x=\"unterminated; boundary=q=1\r\n\r\n",
		want: `("application" "octet-stream" ("name" "a") NIL NIL "7bit" 0 NIL NIL NIL NIL)`,
	}, {
		name: "unquoted boundary with equals sign",
		msg:  "Content-Type: multipart/mixed; boundary==_1=\r\n\r\n--=_1=\r\n\r\na\r\n--=_1=--\r\n",
		want: `(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 1 1 NIL NIL NIL NIL) "mixed" ("boundary" "=_1=") NIL NIL NIL)`,
	}, {
		name: "raw 8-bit parameter re-encoded",
		msg:  "Content-Type: text/plain; charset=utf-8; name=\"Grüße.txt\"\r\nContent-Disposition: attachment; filename=\"Grüße.txt\"\r\n\r\n",
		want: `("text" "plain" ("charset" "utf-8" "name*" "utf-8''Gr%C3%BC%C3%9Fe.txt") NIL NIL "7bit" 0 0 NIL ("attachment" ("filename*" "utf-8''Gr%C3%BC%C3%9Fe.txt")) NIL NIL)`,
	}, {
		name: "RFC 2231 continuations",
		msg:  "Content-Type: application/x-stuff;\r\n title*0*=us-ascii'en'This%20is%20even%20more%20;\r\n title*1*=%2A%2A%2Afun%2A%2A%2A%20;\r\n title*2=\"isn't it!\"\r\n\r\n",
		want: `("application" "x-stuff" ("title" "This is even more ***fun*** isn't it!") NIL NIL "7bit" 0 NIL NIL NIL NIL)`,
	}, {
		name: "base64 message/global",
		msg:  "Content-Type: message/global\r\nContent-Transfer-Encoding: base64\r\n\r\nU3ViamVjdDogaGkNCg0KYm9keQ0K\r\n",
		want: `("message" "global" NIL NIL NIL "base64" 30 (NIL "hi" NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 6 1 NIL NIL NIL NIL) 1 NIL NIL NIL NIL)`,
	}, {
		name: "empty message",
		msg:  "",
		want: `("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL)`,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := wire(BodyStructure([]byte(tc.msg), true), true); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestBodyStructureDepth feeds messages nested far beyond MaxDepth: the
// structure stops at the limit and stays valid.
func TestBodyStructureDepth(t *testing.T) {
	const levels = 5000
	var multi, msg strings.Builder
	for i := range levels {
		fmt.Fprintf(&multi, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i, i)
		msg.WriteString("Content-Type: message/rfc822\r\n\r\n")
	}
	multi.WriteString("\r\ndeep\r\n")
	msg.WriteString("Subject: deepest\r\n\r\nbody\r\n")

	for name, raw := range map[string]string{"multipart": multi.String(), "message": msg.String()} {
		t.Run(name, func(t *testing.T) {
			bs := BodyStructure([]byte(raw), true)
			if d := depth(bs); d < MaxDepth || d > MaxDepth+2 {
				t.Errorf("depth %d, want about MaxDepth (%d)", d, MaxDepth)
			}
			checkStructure(t, bs, true)
		})
	}
}

func TestBodyStructureManyParts(t *testing.T) {
	var b strings.Builder
	b.WriteString("Content-Type: multipart/mixed; boundary=x\r\n\r\n")
	for range MaxParts * 2 {
		b.WriteString("--x\r\n\r\n.\r\n")
	}
	bs := BodyStructure([]byte(b.String()), false).(*imap.BodyStructureMultiPart)
	if n := len(bs.Children); n != MaxParts-1 {
		t.Errorf("%d parts, want %d", n, MaxParts-1)
	}
}

// depth returns the nesting depth of a structure, embedded messages
// included.
func depth(bs imap.BodyStructure) int {
	switch bs := bs.(type) {
	case *imap.BodyStructureMultiPart:
		d := 0
		for _, c := range bs.Children {
			d = max(d, depth(c))
		}
		return d + 1
	case *imap.BodyStructureSinglePart:
		if bs.MessageRFC822 != nil {
			return depth(bs.MessageRFC822.BodyStructure) + 1
		}
	}
	return 1
}

// checkStructure checks what go-imap's writer and RFC 3501 §9 need: every
// multipart has a child, extension data is there exactly when asked for,
// message parts have envelope and structure, strings are valid UTF-8 that
// may go in an IMAP string.
func checkStructure(t testing.TB, bs imap.BodyStructure, extended bool) {
	t.Helper()
	switch bs := bs.(type) {
	case *imap.BodyStructureMultiPart:
		if len(bs.Children) == 0 {
			t.Fatalf("multipart/%s without children", bs.Subtype)
		}
		if (bs.Extended != nil) != extended {
			t.Fatalf("multipart/%s: extension data %v, want %v", bs.Subtype, bs.Extended != nil, extended)
		}
		checkToken(t, bs.Subtype)
		if extended {
			checkParams(t, bs.Extended.Params)
		}
		for _, c := range bs.Children {
			checkStructure(t, c, extended)
		}
	case *imap.BodyStructureSinglePart:
		checkToken(t, bs.Type)
		checkToken(t, bs.Subtype)
		checkParams(t, bs.Params)
		checkIMAPString(t, bs.ID)
		checkIMAPString(t, bs.Description)
		checkIMAPString(t, bs.Encoding)
		if (bs.Extended != nil) != extended {
			t.Fatalf("%s: extension data %v, want %v", bs.MediaType(), bs.Extended != nil, extended)
		}
		if isMsg := bs.MediaType() == "message/rfc822" || bs.MediaType() == "message/global"; isMsg != (bs.MessageRFC822 != nil) {
			t.Fatalf("%s: message data %v", bs.MediaType(), bs.MessageRFC822 != nil)
		}
		if (bs.Type == "text") != (bs.Text != nil) {
			t.Fatalf("%s: text data %v", bs.MediaType(), bs.Text != nil)
		}
		if m := bs.MessageRFC822; m != nil {
			if m.Envelope == nil || m.BodyStructure == nil {
				t.Fatalf("message part without envelope or structure")
			}
			checkEnvelope(t, m.Envelope)
			checkStructure(t, m.BodyStructure, extended)
		}
	default:
		t.Fatalf("body structure of type %T", bs)
	}
}

func checkToken(t testing.TB, s string) {
	t.Helper()
	if !isToken(s) || s != strings.ToLower(s) {
		t.Fatalf("media type %q is not a lower-case token", s)
	}
}

func checkParams(t testing.TB, p map[string]string) {
	t.Helper()
	for k, v := range p {
		if k == "" || !isPrintableASCII(k) || !isPrintableASCII(v) {
			t.Fatalf("parameter %q=%q is not printable ASCII", k, v)
		}
	}
}
