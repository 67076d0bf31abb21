package imapmsg

import (
	"bytes"
	"encoding/base64"
)

// A {n} literal may not hold NUL (RFC 3501 §4.3, CHAR8). A leaf part whose
// body holds one (Content-Transfer-Encoding: binary) is served base64
// encoded, as Dovecot does: BODY[n] gives the base64 text, and
// BODYSTRUCTURE says "base64" with that text's size and lines, so a client
// decodes what it gets. BINARY[n] still gives the bytes in a literal8.

// base64LineLen is RFC 2045 §6.8's longest encoded line.
const base64LineLen = 76

// EncodedPart returns BODY[path] of raw when that part is served base64
// encoded (see above), and false for every other part.
func EncodedPart(raw []byte, path []int) ([]byte, bool) {
	p := parseMessage(raw).find(path)
	if p == nil || !p.servedBase64() {
		return nil, false
	}
	return p.base64Body(), true
}

// servedBase64 tells whether p is a leaf whose body holds NUL.
func (p *part) servedBase64() bool {
	return !p.isMultipart() && !p.isMessage() && bytes.IndexByte(p.body, 0) >= 0
}

// base64Body is p's decoded content base64 encoded in CRLF-separated lines.
func (p *part) base64Body() []byte {
	content := decodeTransfer(p.encoding, p.body, len(p.body))
	enc := base64.StdEncoding.EncodeToString(content)
	var b bytes.Buffer
	for len(enc) > base64LineLen {
		b.WriteString(enc[:base64LineLen])
		b.WriteString("\r\n")
		enc = enc[base64LineLen:]
	}
	b.WriteString(enc)
	return b.Bytes()
}

// find returns the part numbered path (RFC 3501 §6.4.5): the children of a
// multipart, the message inside a message/rfc822 part, and part 1 of a
// non-multipart entity is its body. It returns nil for no such part.
func (p *part) find(path []int) *part {
	for i, n := range path {
		if i > 0 && p.isMessage() {
			if p.message == nil {
				return nil
			}
			p = p.message
		}
		switch {
		case p.isMultipart():
			if n < 1 || n > len(p.children) {
				return nil
			}
			p = p.children[n-1]
		case n != 1:
			return nil
		}
	}
	return p
}
