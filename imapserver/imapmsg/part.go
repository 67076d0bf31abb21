package imapmsg

import (
	"bytes"
	"mime"
	"strings"
)

// part is a parsed message or MIME body part. Byte slices point into the
// raw message, or into a decoded copy for an encoded embedded message.
type part struct {
	header  header
	body    []byte // the body as stored, transfer encoding not undone
	typ     string // lower case, e.g. "text"
	subtype string // lower case, e.g. "plain"
	params  map[string]string
	// encoding is the Content-Transfer-Encoding, lower case, "7bit" if absent.
	encoding string

	children []*part // multipart only
	message  *part   // message/rfc822 and message/global only
}

func (p *part) isMultipart() bool { return p.typ == "multipart" }

func (p *part) isMessage() bool {
	return p.typ == "message" && (p.subtype == "rfc822" || p.subtype == "global")
}

// parser holds the limits shared by all parts of one message.
type parser struct {
	parts int // parts parsed so far
}

// parseMessage parses a whole message.
func parseMessage(raw []byte) *part {
	var ps parser
	return ps.parse(raw, 0, false)
}

// parse parses one entity (RFC 2045 §2.4) at the given nesting depth.
// inDigest tells that the parent is a multipart/digest, where the default
// content type is message/rfc822 (RFC 2046 §5.1.5).
func (ps *parser) parse(raw []byte, depth int, inDigest bool) *part {
	ps.parts++
	hdr, body := splitMessage(raw)
	p := &part{header: parseHeader(hdr), body: body}
	p.typ, p.subtype, p.params = contentType(p.header, inDigest)
	p.encoding = "7bit"
	if v, ok := p.header.get("Content-Transfer-Encoding"); ok {
		if v = strings.ToLower(clean(stripComments(v))); v != "" {
			p.encoding = v
		}
	}
	if depth >= MaxDepth {
		return p
	}
	switch {
	case p.isMultipart():
		for _, b := range splitMultipart(body, p.params["boundary"]) {
			if ps.parts >= MaxParts {
				break
			}
			p.children = append(p.children, ps.parse(b, depth+1, p.subtype == "digest"))
		}
	case p.isMessage() && ps.parts < MaxParts:
		// RFC 2046 §5.2.1 forbids encoding message/rfc822, but RFC 6532
		// §3.5 allows it for message/global: decode, the envelope and
		// structure are those of the message inside.
		inner := body
		if p.encoding == "base64" || p.encoding == "quoted-printable" {
			inner = decodeTransfer(p.encoding, body, len(body))
		}
		p.message = ps.parse(inner, depth+1, false)
	}
	return p
}

// contentType returns the media type and parameters of a part. A missing or
// unparseable Content-Type means "text/plain; charset=us-ascii" (RFC 2045
// §5.2), or message/rfc822 inside a multipart/digest (RFC 2046 §5.1.5). A
// text part without charset has charset us-ascii (RFC 2046 §4.1.2).
func contentType(h header, inDigest bool) (typ, subtype string, params map[string]string) {
	if v, ok := h.get("Content-Type"); ok {
		mt, prm := parseMediaType(v)
		if t, st, ok := strings.Cut(mt, "/"); ok && isToken(t) && isToken(st) {
			typ, subtype, params = t, st, prm
		}
	}
	if typ == "" {
		if inDigest {
			return "message", "rfc822", nil
		}
		typ, subtype = "text", "plain"
	}
	if typ == "text" && params["charset"] == "" {
		if params == nil {
			params = map[string]string{}
		}
		params["charset"] = "us-ascii"
	}
	return typ, subtype, params
}

// parseMediaType parses a Content-Type or Content-Disposition value: the
// lower-cased type and the parameters (names lower case, RFC 2231 values
// decoded to UTF-8). Where mime.ParseMediaType gives up (duplicate or
// malformed parameters, a boundary with "=" left unquoted, comments) the
// good parameters are kept, the first of duplicates winning.
func parseMediaType(v string) (string, map[string]string) {
	v = strings.TrimSpace(stripComments(v))
	mt, params, err := mime.ParseMediaType(v)
	if err == nil {
		return mt, tokenKeys(params)
	}
	head, rest, _ := strings.Cut(v, ";")
	mt = strings.ToLower(strings.TrimSpace(head))
	params = map[string]string{}
	var keep []string
	seen := map[string]bool{}
	for _, seg := range splitParams(rest) {
		k, val, ok := strings.Cut(seg, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		if !ok || !isToken(k) || seen[k] {
			continue
		}
		seen[k] = true
		if _, p, err := mime.ParseMediaType("x/x; " + seg); err == nil {
			keep = append(keep, seg)
			for pk, pv := range p {
				if _, dup := params[pk]; !dup {
					params[pk] = pv
				}
			}
		} else if val = strings.TrimSpace(val); !strings.Contains(k, "*") && !strings.HasPrefix(val, "\"") {
			params[k] = val
		}
	}
	// Join RFC 2231 continuations that were valid one by one.
	if len(keep) > 1 {
		if _, p, err := mime.ParseMediaType("x/x; " + strings.Join(keep, "; ")); err == nil {
			for pk, pv := range p {
				params[pk] = pv
			}
		}
	}
	return mt, tokenKeys(params)
}

// tokenKeys drops parameters whose name isn't a token, such as the empty
// name mime.ParseMediaType makes of "*=".
func tokenKeys(params map[string]string) map[string]string {
	for k := range params {
		if !isToken(k) {
			delete(params, k)
		}
	}
	return params
}

// splitParams splits the parameter list after a media type at the
// semicolons outside quoted strings.
func splitParams(s string) []string {
	var l []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if quoted {
				i++
			}
		case '"':
			quoted = !quoted
		case ';':
			if !quoted {
				l = append(l, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	if start < len(s) {
		l = append(l, strings.TrimSpace(s[start:]))
	}
	return l
}

// isToken checks RFC 2045 §5.1 token syntax.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			return false
		}
	}
	return true
}

// splitMultipart returns the body parts of a multipart body (RFC 2046
// §5.1.1). A delimiter line is "--" boundary, optional "--" for the close
// delimiter, optional white space; the line break before it belongs to the
// delimiter. Bare LF line ends are accepted; a missing close delimiter ends
// the last part at the end of the body. Without a boundary there are no
// parts.
func splitMultipart(body []byte, boundary string) [][]byte {
	if boundary == "" {
		return nil
	}
	delim := []byte("--" + boundary)
	var (
		parts [][]byte
		open  bool
		start int
	)
	for i := 0; i < len(body); {
		// i is at a line start.
		next := len(body)
		if nl := bytes.IndexByte(body[i:], '\n'); nl >= 0 {
			next = i + nl + 1
		}
		closing, ok := isDelimiter(body[i:next], delim)
		if !ok {
			i = next
			continue
		}
		if open {
			end := i
			if end > start && body[end-1] == '\n' {
				end--
				if end > start && body[end-1] == '\r' {
					end--
				}
			}
			parts = append(parts, body[start:end])
		}
		if closing {
			return parts
		}
		open, start, i = true, next, next
		if len(parts) >= MaxParts {
			return parts
		}
	}
	if open {
		parts = append(parts, body[start:])
	}
	return parts
}

// isDelimiter reports whether line (with its line break) is a delimiter
// line for delim ("--" boundary), and whether it is the close delimiter.
func isDelimiter(line, delim []byte) (closing, ok bool) {
	if !bytes.HasPrefix(line, delim) {
		return false, false
	}
	rest := line[len(delim):]
	if bytes.HasPrefix(rest, []byte("--")) {
		closing, rest = true, rest[2:]
	}
	rest = bytes.TrimRight(rest, " \t\r\n")
	return closing, len(rest) == 0
}
