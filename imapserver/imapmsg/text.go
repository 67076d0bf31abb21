package imapmsg

import (
	"bytes"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
)

// fold maps s to a canonical case so that two strings equal under Unicode
// simple case folding fold to the same bytes. Substring search on folded
// strings is case-insensitive search (RFC 9051 §6.4.4: "In all search keys
// that use strings, a message matches the key if the string is a substring
// of the associated text. The matching is case-insensitive"). Bytes that are
// not valid UTF-8 are kept as they are.
func fold(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b = append(b, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, c)
		} else {
			b = utf8.AppendRune(b, foldRune(r))
		}
		i += size
	}
	return string(b)
}

// foldRune returns the representative of r's case-folding orbit: the ASCII
// lower-case letter if the orbit has one (so that U+212A KELVIN SIGN folds
// like "k"), else the lower case of the smallest rune of the orbit. Any
// choice that depends on the orbit only would do.
func foldRune(r rune) rune {
	lowest, ascii := r, rune(-1)
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < utf8.RuneSelf {
			ascii = f
		}
		if f < lowest {
			lowest = f
		}
	}
	if ascii >= 0 {
		return unicode.ToLower(ascii)
	}
	return unicode.ToLower(lowest)
}

// clean makes s fit for an IMAP string in a FETCH response: valid UTF-8, no
// NUL or other control characters (they become spaces), no surrounding
// white space.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	needs := false
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			needs = true
			break
		}
	}
	if needs {
		s = strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f {
				return ' '
			}
			return r
		}, s)
	}
	return strings.TrimSpace(s)
}

// isWSP reports whether c is RFC 5322 white space, CR or LF.
func isWSP(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n'
}

// stripComments removes RFC 5322 comments (§3.2.2) outside quoted strings
// and replaces each with a space. Unbalanced parentheses end the comment at
// the end of s.
func stripComments(s string) string {
	if !strings.ContainsRune(s, '(') {
		return s
	}
	var b strings.Builder
	depth, quoted := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case depth == 0 && quoted:
			b.WriteByte(c)
			if c == '\\' && i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			} else if c == '"' {
				quoted = false
			}
		case c == '\\' && depth > 0:
			i++
		case c == '(':
			if depth == 0 {
				b.WriteByte(' ')
			}
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth > 0:
		default:
			if c == '"' {
				quoted = true
			}
			b.WriteByte(c)
		}
	}
	return b.String()
}

// toUTF8 converts b from the named charset to UTF-8, producing at most limit
// bytes. Text in an unknown charset, or labelled ASCII or UTF-8, that is not
// valid UTF-8 is taken as ISO 8859-1, the usual truth about unlabelled
// 8-bit mail.
func toUTF8(cs string, b []byte, limit int) string {
	cs = strings.ToLower(strings.TrimSpace(cs))
	if i := strings.IndexByte(cs, '*'); i >= 0 {
		cs = cs[:i] // RFC 2231 §5 language suffix
	}
	switch cs {
	case "", "us-ascii", "ascii", "utf-8", "utf8", "unknown-8bit", "x-unknown":
	default:
		if r, err := charset.Reader(cs, bytes.NewReader(b)); err == nil {
			out, _ := io.ReadAll(io.LimitReader(r, int64(limit)))
			return string(out)
		}
	}
	cut := len(b) >= limit
	if cut {
		b = b[:limit]
	}
	if validUTF8(b, cut) {
		return string(b)
	}
	return latin1(b, limit)
}

// validUTF8 reports whether b is valid UTF-8, allowing a last character cut
// short if b was cut at a size limit.
func validUTF8(b []byte, cut bool) bool {
	for k := 1; cut && k <= 3 && k <= len(b); k++ {
		if start := b[len(b)-k]; utf8.RuneStart(start) {
			if !utf8.FullRune(b[len(b)-k:]) {
				b = b[:len(b)-k]
			}
			break
		}
	}
	return utf8.Valid(b)
}

// latin1 converts ISO 8859-1 to UTF-8, producing at most limit bytes.
func latin1(b []byte, limit int) string {
	out := make([]rune, 0, len(b))
	n := 0
	for _, c := range b {
		n += utf8.RuneLen(rune(c))
		if n > limit {
			break
		}
		out = append(out, rune(c))
	}
	return string(out)
}

// decodeWords decodes the RFC 2047 encoded words in s. White space between
// two encoded words is dropped (RFC 2047 §6.2) and adjacent words in the
// same charset are converted together, so that a character split across two
// words survives. Words that don't parse are kept as they are; words glued
// to other text are decoded too, as most mail readers do.
func decodeWords(s string) string {
	if !strings.Contains(s, "=?") {
		return s
	}
	var (
		out     strings.Builder
		pending []byte // decoded bytes of adjacent words in charset pendCS
		pendCS  string
	)
	flush := func() {
		if pending != nil {
			out.WriteString(toUTF8(pendCS, pending, 4*len(pending)+16))
			pending, pendCS = nil, ""
		}
	}
	lastWordEnd := -1
	for i := 0; i < len(s); {
		j := strings.Index(s[i:], "=?")
		if j < 0 {
			flush()
			out.WriteString(s[i:])
			break
		}
		j += i
		cs, data, end, ok := parseWord(s, j)
		if !ok {
			flush()
			out.WriteString(s[i : j+2])
			i = j + 2
			continue
		}
		gap := s[i:j]
		if lastWordEnd == i && strings.TrimLeft(gap, " \t\r\n") == "" {
			gap = ""
		}
		if gap != "" || !strings.EqualFold(cs, pendCS) {
			flush()
			out.WriteString(gap)
		}
		pending = append(pending, data...)
		pendCS = cs
		i, lastWordEnd = end, end
	}
	flush()
	return out.String()
}

// parseWord parses the encoded word "=?charset?enc?text?=" starting at s[i]
// and returns its charset, decoded bytes and end offset.
func parseWord(s string, i int) (cs string, data []byte, end int, ok bool) {
	rest := s[i+2:]
	q1 := strings.IndexByte(rest, '?')
	if q1 <= 0 || q1+2 >= len(rest) || rest[q1+2] != '?' {
		return "", nil, 0, false
	}
	cs, enc := rest[:q1], rest[q1+1]
	if strings.ContainsAny(cs, " \t\r\n=") {
		return "", nil, 0, false
	}
	text := rest[q1+3:]
	e := strings.Index(text, "?=")
	if e < 0 || strings.ContainsAny(text[:e], " \t\r\n") {
		return "", nil, 0, false
	}
	text = text[:e]
	switch enc {
	case 'B', 'b':
		data = decodeBase64([]byte(text), len(text))
	case 'Q', 'q':
		data = decodeQ(text)
	default:
		return "", nil, 0, false
	}
	return cs, data, i + 2 + q1 + 3 + e + 2, true
}

// decodeQ decodes the RFC 2047 §4.2 "Q" encoding.
func decodeQ(s string) []byte {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '_':
			b = append(b, ' ')
		case c == '=' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return b
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	default:
		return c - 'a' + 10
	}
}

var base64Value = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = int8(i)
	}
	return t
}()

// decodeBase64 decodes base64 (RFC 2045 §6.8) leniently: characters outside
// the alphabet, padding included, are skipped, as §6.8 asks of line breaks
// and other junk. It produces at most limit bytes.
func decodeBase64(src []byte, limit int) []byte {
	out := make([]byte, 0, min(len(src)*3/4+3, limit))
	var acc uint32
	n := 0
	for _, c := range src {
		v := base64Value[c]
		if v < 0 {
			continue
		}
		acc = acc<<6 | uint32(v)
		n++
		if n == 4 {
			if len(out)+3 > limit {
				return out
			}
			out = append(out, byte(acc>>16), byte(acc>>8), byte(acc))
			acc, n = 0, 0
		}
	}
	switch n {
	case 2:
		out = append(out, byte(acc>>4))
	case 3:
		out = append(out, byte(acc>>10), byte(acc>>2))
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

// decodeQP decodes quoted-printable (RFC 2045 §6.7) leniently: a "=" not
// followed by two hex digits or a line break is kept literally. It produces
// at most limit bytes.
func decodeQP(src []byte, limit int) []byte {
	out := make([]byte, 0, min(len(src), limit))
	for i := 0; i < len(src) && len(out) < limit; i++ {
		c := src[i]
		if c != '=' {
			out = append(out, c)
			continue
		}
		switch {
		case i+2 < len(src) && isHex(src[i+1]) && isHex(src[i+2]):
			out = append(out, unhex(src[i+1])<<4|unhex(src[i+2]))
			i += 2
		case i+1 < len(src) && src[i+1] == '\n':
			i++ // soft line break
		case i+2 < len(src) && src[i+1] == '\r' && src[i+2] == '\n':
			i += 2
		default:
			// "=" followed by trailing white space before a line break is a
			// soft line break too (§6.7 rule 3 allows transport padding).
			j := i + 1
			for j < len(src) && (src[j] == ' ' || src[j] == '\t') {
				j++
			}
			if j > i+1 && (j == len(src) || src[j] == '\r' || src[j] == '\n') {
				if j < len(src) && src[j] == '\r' {
					j++
				}
				i = j
				continue
			}
			out = append(out, c)
		}
	}
	return out
}

// decodeTransfer undoes a Content-Transfer-Encoding, producing at most limit
// bytes. Identity encodings and unknown ones return body as it is.
func decodeTransfer(encoding string, body []byte, limit int) []byte {
	switch encoding {
	case "base64":
		return decodeBase64(body, limit)
	case "quoted-printable":
		return decodeQP(body, limit)
	}
	if len(body) > limit {
		return body[:limit]
	}
	return body
}
