package imapmsg

import (
	"bytes"
	"strings"
)

// field is one header field, its value unfolded (RFC 5322 §2.2.3) with the
// surrounding white space trimmed.
type field struct {
	key   string // as written
	value string
}

type header []field

// get returns the value of the first field named key (case-insensitive).
func (h header) get(key string) (string, bool) {
	for _, f := range h {
		if strings.EqualFold(f.key, key) {
			return f.value, true
		}
	}
	return "", false
}

// splitMessage splits a message or MIME part into its header section and
// body at the first empty line (RFC 5322 §2.1). Without an empty line the
// whole input is header. Bare LF line ends are accepted.
func splitMessage(raw []byte) (hdr, body []byte) {
	for i := 0; i < len(raw); {
		rest := raw[i:]
		if rest[0] == '\n' {
			return raw[:i], raw[i+1:]
		}
		if len(rest) >= 2 && rest[0] == '\r' && rest[1] == '\n' {
			return raw[:i], raw[i+2:]
		}
		nl := bytes.IndexByte(rest, '\n')
		if nl < 0 {
			break
		}
		i += nl + 1
	}
	return raw, nil
}

// parseHeader parses a header section leniently: lines that are not fields
// (no colon, or a name that isn't printable ASCII, like an mbox "From "
// line) are skipped, and a continuation line without a field before it is
// ignored.
func parseHeader(hdr []byte) header {
	var (
		h       header
		cur     []byte // value of the field being read, folded
		curKey  string
		haveCur bool
	)
	finish := func() {
		if haveCur {
			h = append(h, field{key: curKey, value: unfold(cur)})
		}
		haveCur = false
	}
	for len(hdr) > 0 {
		line := hdr
		if nl := bytes.IndexByte(hdr, '\n'); nl >= 0 {
			line, hdr = hdr[:nl+1], hdr[nl+1:]
		} else {
			hdr = nil
		}
		if line[0] == ' ' || line[0] == '\t' {
			if haveCur {
				cur = append(cur, line...)
			}
			continue
		}
		finish()
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			continue
		}
		key := bytes.TrimRight(line[:colon], " \t")
		if !validFieldName(key) {
			continue
		}
		curKey, haveCur = string(key), true
		cur = append(cur[:0:0], line[colon+1:]...)
	}
	finish()
	return h
}

// validFieldName checks RFC 5322 §3.6.8 ftext: printable ASCII but colon.
func validFieldName(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c >= 0x7f || c == ':' {
			return false
		}
	}
	return true
}

// unfold removes the line breaks of a folded field value and trims it.
func unfold(v []byte) string {
	var b strings.Builder
	b.Grow(len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\r' && i+1 < len(v) && v[i+1] == '\n' {
			continue
		}
		if c == '\n' {
			continue
		}
		b.WriteByte(c)
	}
	return strings.Trim(b.String(), " \t\r")
}
