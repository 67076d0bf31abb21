package imapserver

import (
	"bytes"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mxdesk/imapserver/imapmsg"
)

// bodySection extracts BODY[section]<partial> from a raw message (RFC 3501
// 6.4.5). Sections of the message itself (BODY[], HEADER, HEADER.FIELDS,
// TEXT) are cut from the raw bytes here, so they are exact even for a
// message the MIME parser can't read (BODY[] is always the whole message,
// byte for byte, as RFC822.SIZE counts it). Numbered parts go through
// go-imap's MIME walker.
func bodySection(raw []byte, s *imap.FetchItemBodySection) []byte {
	var b []byte
	if len(s.Part) == 0 {
		b = topSection(raw, s)
	} else if b64, ok := encodedPart(raw, s); ok {
		b = b64
	} else {
		whole := *s
		whole.Partial = nil
		b = imapserver.ExtractBodySection(bytes.NewReader(raw), &whole)
	}
	return partial(b, s.Partial)
}

// encodedPart is BODY[n] of a part imapmsg serves base64 encoded (one
// holding NUL, which a literal can't carry).
func encodedPart(raw []byte, s *imap.FetchItemBodySection) ([]byte, bool) {
	if s.Specifier != imap.PartSpecifierNone {
		return nil, false
	}
	return imapmsg.EncodedPart(raw, s.Part)
}

func topSection(raw []byte, s *imap.FetchItemBodySection) []byte {
	hdr, body := splitHeader(raw)
	switch s.Specifier {
	case imap.PartSpecifierNone:
		return raw
	case imap.PartSpecifierText:
		return body
	case imap.PartSpecifierHeader:
		switch {
		case len(s.HeaderFields) > 0:
			return filterHeader(hdr, s.HeaderFields, true)
		case len(s.HeaderFieldsNot) > 0:
			return filterHeader(hdr, s.HeaderFieldsNot, false)
		}
		return hdr
	}
	return nil // MIME needs a part number (RFC 3501 6.4.5)
}

// partial applies <start.len>: bytes past the end are simply absent, and
// a start past the end gives the empty string (RFC 3501 6.4.5).
func partial(b []byte, p *imap.SectionPartial) []byte {
	if p == nil {
		return b
	}
	if p.Offset >= int64(len(b)) {
		return []byte{}
	}
	end := int64(len(b))
	if p.Size >= 0 && p.Offset+p.Size < end {
		end = p.Offset + p.Size
	}
	return b[p.Offset:end]
}

// splitHeader splits a message after the empty line that ends its header;
// the header keeps that empty line, as BODY[HEADER] includes it. Without an
// empty line everything is header.
func splitHeader(raw []byte) (hdr, body []byte) {
	for i := 0; i < len(raw); {
		switch {
		case raw[i] == '\n':
			return raw[:i+1], raw[i+1:]
		case raw[i] == '\r' && i+1 < len(raw) && raw[i+1] == '\n':
			return raw[:i+2], raw[i+2:]
		}
		nl := bytes.IndexByte(raw[i:], '\n')
		if nl < 0 {
			break
		}
		i += nl + 1
	}
	return raw, nil
}

// filterHeader keeps (keep=true) or drops the fields named in names,
// compared case-insensitively, folded continuation lines included. The
// result ends with an empty line, as RFC 3501 6.4.5 requires of
// HEADER.FIELDS and HEADER.FIELDS.NOT.
func filterHeader(hdr []byte, names []string, keep bool) []byte {
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[strings.ToLower(n)] = true
	}
	var out bytes.Buffer
	selected := false
	for rest := hdr; len(rest) > 0; {
		line := rest
		if nl := bytes.IndexByte(rest, '\n'); nl >= 0 {
			line = rest[:nl+1]
		}
		rest = rest[len(line):]
		if isBlankLine(line) {
			break
		}
		if line[0] != ' ' && line[0] != '\t' {
			name, _, _ := bytes.Cut(line, []byte(":"))
			selected = want[strings.ToLower(string(bytes.TrimSpace(name)))] == keep
		}
		if selected {
			out.Write(line)
		}
	}
	out.WriteString("\r\n")
	return out.Bytes()
}

func isBlankLine(line []byte) bool {
	return len(bytes.TrimRight(line, "\r\n")) == 0
}
