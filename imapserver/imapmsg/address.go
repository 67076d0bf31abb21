package imapmsg

import (
	"strings"

	"github.com/emersion/go-imap/v2"
)

// parseAddressList parses an RFC 5322 §3.4 address-list into the ENVELOPE
// form of RFC 3501 §7.4.2 / RFC 9051 §7.5.2: a group becomes a start marker
// (NIL host, the group name as mailbox), its members, and an end marker (NIL
// mailbox and host).
//
// The parser is lenient: a group left open is closed at the end, a stray
// ";" separates like ",", an address without domain gets MISSING_DOMAIN, a
// legacy "addr (Name)" comment becomes the name, and display names are
// RFC 2047 decoded even inside quotes. In a group, comments alone are no
// member; outside, they are kept as a name (a lone "From: (Name)"). A group without a name can't be
// represented (its start marker would read as an end marker): its members
// are listed without markers.
func parseAddressList(v string) []imap.Address {
	var (
		l       []imap.Address
		start   int  // of the current item
		inGroup bool // inside "name: ... ;"
		named   bool // the open group has a start marker
	)
	flush := func(end int) {
		if inGroup && onlyComments(v[start:end]) {
			// RFC 5322 3.4: a group-list may be CFWS alone
			// ("group2: (foo) ;"), which is no member.
			start = end + 1
			return
		}
		if addr, ok := parseMailbox(v[start:end]); ok {
			l = append(l, addr)
		}
		start = end + 1
	}
	closeGroup := func() {
		if inGroup && named {
			l = append(l, imap.Address{})
		}
		inGroup, named = false, false
	}
	var (
		quoted, angle, literal bool
		depth                  int
	)
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case quoted || depth > 0:
			switch {
			case c == '\\':
				i++
			case quoted && c == '"':
				quoted = false
			case !quoted && c == '(':
				depth++
			case !quoted && c == ')':
				depth--
			}
		case c == '"':
			quoted = true
		case c == '(':
			depth++
		case angle:
			angle = c != '>'
		case literal:
			literal = c != ']'
		case c == '<':
			angle = true
		case c == '[':
			literal = true
		case c == ',':
			flush(i)
		case c == ';':
			flush(i)
			closeGroup()
		case c == ':' && !inGroup:
			name := decodePhrase(v[start:i])
			start = i + 1
			inGroup, named = true, name != ""
			if named {
				l = append(l, imap.Address{Mailbox: name})
			}
		}
	}
	flush(len(v))
	closeGroup()
	return l
}

// onlyComments tells whether s is comments and white space only.
func onlyComments(s string) bool {
	return strings.TrimSpace(stripComments(s)) == ""
}

// parseMailbox parses one RFC 5322 §3.4 mailbox: name-addr or addr-spec.
// It reports false for an empty one.
func parseMailbox(s string) (imap.Address, bool) {
	var name, spec string
	if lt := topLevelIndex(s, '<'); lt >= 0 {
		name = decodePhrase(s[:lt])
		spec = s[lt+1:]
		if gt := topLevelIndex(spec, '>'); gt >= 0 {
			spec = spec[:gt]
		}
	} else {
		spec = s
		name = decodePhrase(commentText(s))
	}
	spec = stripComments(spec)
	if colon := lastTopLevelIndex(spec, ':'); colon >= 0 {
		spec = spec[colon+1:] // RFC 5322 §4.4 obs-route
	}
	spec = strings.Trim(spec, " \t<>")
	if spec == "" && name == "" {
		return imap.Address{}, false
	}
	local, domain := spec, ""
	if at := lastTopLevelIndex(spec, '@'); at >= 0 {
		local, domain = spec[:at], spec[at+1:]
	} else if topLevelIndex(spec, ' ') >= 0 || topLevelIndex(spec, '\t') >= 0 {
		// A phrase without address, e.g. "To: John Doe".
		if name == "" {
			name = decodePhrase(spec)
		}
		local = ""
	}
	addr := imap.Address{
		Name:    clean(name),
		Mailbox: clean(removeQuoting(local)),
		Host:    clean(removeWSP(domain)),
	}
	if addr.Mailbox == "" {
		addr.Mailbox = missingMailbox
	}
	if addr.Host == "" {
		addr.Host = missingDomain
	}
	return addr, true
}

// decodePhrase turns an RFC 5322 phrase (a display name or group name) into
// text: comments dropped, quotes and escapes removed, runs of white space
// made one space, RFC 2047 encoded words decoded.
func decodePhrase(s string) string {
	s = stripComments(s)
	var b strings.Builder
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isWSP(c):
			space = true
			continue
		case c == '"':
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				b.WriteByte(s[i])
			}
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteByte(c)
	}
	return clean(decodeWords(b.String()))
}

// commentText returns the text of the comments in s, for the legacy
// "user@host (Full Name)" form.
func commentText(s string) string {
	var b strings.Builder
	depth, quoted := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted:
			if c == '\\' {
				i++
			} else if c == '"' {
				quoted = false
			}
		case c == '"' && depth == 0:
			quoted = true
		case c == '(':
			if depth > 0 {
				b.WriteByte(c)
			} else if b.Len() > 0 {
				b.WriteByte(' ')
			}
			depth++
		case c == ')' && depth > 0:
			depth--
			if depth > 0 {
				b.WriteByte(c)
			}
		case depth > 0:
			if c == '\\' && i+1 < len(s) {
				i++
				c = s[i]
			}
			b.WriteByte(c)
		}
	}
	return b.String()
}

// topLevelIndex returns the index of the first c in s outside quoted
// strings, comments and domain literals, or -1.
func topLevelIndex(s string, c byte) int {
	idx := -1
	scanTopLevel(s, func(i int) bool {
		if s[i] == c {
			idx = i
			return false
		}
		return true
	})
	return idx
}

// lastTopLevelIndex is like topLevelIndex for the last c.
func lastTopLevelIndex(s string, c byte) int {
	idx := -1
	scanTopLevel(s, func(i int) bool {
		if s[i] == c {
			idx = i
		}
		return true
	})
	return idx
}

// scanTopLevel calls f with the index of each byte of s that is outside
// quoted strings, comments and domain literals, until f returns false.
func scanTopLevel(s string, f func(i int) bool) {
	quoted, literal, depth := false, false, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted:
			if c == '\\' {
				i++
			} else if c == '"' {
				quoted = false
			}
		case depth > 0:
			if c == '\\' {
				i++
			} else if c == '(' {
				depth++
			} else if c == ')' {
				depth--
			}
		case literal:
			literal = c != ']'
		case c == '"':
			quoted = true
		case c == '(':
			depth++
		case c == '[':
			literal = true
			if !f(i) {
				return
			}
		default:
			if !f(i) {
				return
			}
		}
	}
}

// removeQuoting turns a local-part into the form ENVELOPE wants: "RFC 822
// quoting removed" (RFC 3501 §9, addr-mailbox), white space outside quotes
// dropped.
func removeQuoting(s string) string {
	if !strings.ContainsAny(s, "\" \t\\") {
		return s
	}
	var b strings.Builder
	quoted := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		case c == '"':
			quoted = !quoted
		case !quoted && isWSP(c):
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// removeWSP drops the white space of a domain (obsolete syntax allows CFWS
// around its dots, RFC 5322 §4.4).
func removeWSP(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s)
}
