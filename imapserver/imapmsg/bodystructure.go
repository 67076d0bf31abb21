package imapmsg

import (
	"bytes"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-imap/v2"
)

// BodyStructure returns the MIME structure of a message for FETCH BODY
// (extended false) and BODYSTRUCTURE (extended true), RFC 3501 §7.4.2 /
// RFC 9051 §7.5.2.
//
// Unlike imapserver.ExtractBodyStructure it defaults a missing or invalid
// Content-Type to text/plain with charset us-ascii, never returns a
// multipart without children (which makes the go-imap writer panic: like
// Dovecot, an empty text/plain child stands in), gives message/rfc822 parts
// the envelope and structure of the message inside even past the nesting
// limit, counts a last line without line break, and keeps parameter values
// 7-bit by re-encoding non-ASCII ones as RFC 2231 extended values.
func BodyStructure(raw []byte, extended bool) imap.BodyStructure {
	return bodyStructure(parseMessage(raw), extended)
}

func bodyStructure(p *part, extended bool) imap.BodyStructure {
	if p.isMultipart() {
		return multipartStructure(p, extended)
	}
	bs := &imap.BodyStructureSinglePart{
		Type:        p.typ,
		Subtype:     p.subtype,
		Params:      wireParams(p.params),
		ID:          headerValue(p.header, "Content-Id"),
		Description: headerValue(p.header, "Content-Description"),
		Encoding:    p.encoding,
		Size:        clampUint32(len(p.body)),
	}
	if p.servedBase64() {
		body := p.base64Body()
		bs.Encoding, bs.Size = "base64", clampUint32(len(body))
		if p.typ == "text" {
			bs.Text = &imap.BodyStructureText{NumLines: countLines(body)}
		}
	}
	switch {
	case p.servedBase64():
	case p.isMessage():
		inner := p.message
		if inner == nil { // past the nesting limit
			inner = &part{typ: "text", subtype: "plain", params: map[string]string{"charset": "us-ascii"}, encoding: "7bit"}
		}
		bs.MessageRFC822 = &imap.BodyStructureMessageRFC822{
			Envelope:      envelope(inner.header),
			BodyStructure: bodyStructure(inner, extended),
			NumLines:      countLines(p.body),
		}
	case p.typ == "text":
		bs.Text = &imap.BodyStructureText{NumLines: countLines(p.body)}
	}
	if extended {
		bs.Extended = &imap.BodyStructureSinglePartExt{
			Disposition: disposition(p.header),
			Language:    language(p.header),
			Location:    location(p.header),
		}
	}
	return bs
}

func multipartStructure(p *part, extended bool) *imap.BodyStructureMultiPart {
	bs := &imap.BodyStructureMultiPart{Subtype: p.subtype}
	for _, c := range p.children {
		bs.Children = append(bs.Children, bodyStructure(c, extended))
	}
	if len(bs.Children) == 0 {
		// RFC 3501 §9 body-type-mpart needs at least one body.
		empty := &part{typ: "text", subtype: "plain", params: map[string]string{"charset": "us-ascii"}, encoding: "7bit"}
		bs.Children = append(bs.Children, bodyStructure(empty, extended))
	}
	if extended {
		bs.Extended = &imap.BodyStructureMultiPartExt{
			Params:      wireParams(p.params),
			Disposition: disposition(p.header),
			Language:    language(p.header),
			Location:    location(p.header),
		}
	}
	return bs
}

// headerValue returns a field value fit for an IMAP string, as written (no
// RFC 2047 decoding: body-fld-id and body-fld-desc carry the raw value).
func headerValue(h header, key string) string {
	v, _ := h.get(key)
	return clean(v)
}

// countLines counts the text lines of a body: line breaks, plus a last line
// without one (in a multipart the line break before the delimiter belongs
// to the delimiter, RFC 2046 §5.1.1, so a part's last line has none).
func countLines(b []byte) int64 {
	n := int64(bytes.Count(b, []byte{'\n'}))
	if len(b) > 0 && b[len(b)-1] != '\n' {
		n++
	}
	return n
}

func clampUint32(n int) uint32 {
	if int64(n) > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(n)
}

// wireParams prepares parameters for body-fld-param: names lower case,
// values that are not printable ASCII re-encoded as RFC 2231 extended
// values, which IMAP4rev1 clients decode and which keep 8-bit data out of
// the response:
//
//	("filename*" "utf-8''%E2%82%AC.pdf")
func wireParams(params map[string]string) map[string]string {
	if len(params) == 0 {
		return nil
	}
	out := make(map[string]string, len(params))
	for k, v := range params {
		if isPrintableASCII(v) {
			out[k] = v
			continue
		}
		v = strings.ToValidUTF8(v, "\uFFFD")
		out[k+"*"] = "utf-8''" + percentEncode(v)
	}
	return out
}

// percentEncode encodes s as an RFC 2231 §4 extended value: attribute-char
// as it is, every other byte as %XX.
func percentEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c > ' ' && c < 0x7f && strings.IndexByte(`*'%()<>@,;:\"/[]?=`, c) < 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' && s[i] != '\t' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// disposition parses Content-Disposition (RFC 2183) for body-fld-dsp.
func disposition(h header) *imap.BodyStructureDisposition {
	v, ok := h.get("Content-Disposition")
	if !ok {
		return nil
	}
	value, params := parseMediaType(v)
	if !isToken(value) {
		return nil
	}
	return &imap.BodyStructureDisposition{Value: value, Params: wireParams(params)}
}

// language parses Content-Language (RFC 3282): a comma-separated list of
// language tags, comments and white space dropped.
func language(h header) []string {
	v, ok := h.get("Content-Language")
	if !ok {
		return nil
	}
	var l []string
	for _, tag := range strings.Split(stripComments(v), ",") {
		if tag = clean(tag); tag != "" && utf8.ValidString(tag) {
			l = append(l, tag)
		}
	}
	return l
}

// location returns Content-Location (RFC 2557 §4.2) with the white space a
// folded URI picks up removed (§4.4.1).
func location(h header) string {
	v, _ := h.get("Content-Location")
	return clean(removeWSP(v))
}
