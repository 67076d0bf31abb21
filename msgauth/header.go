package msgauth

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/mail"
	"strings"
)

// field is one header field of a raw message.
type field struct {
	name string // before the colon, trimmed; the whole line if it has none
	raw  []byte // the field as received: folded lines and line endings included
}

// value is the field body unfolded (RFC 5322 2.2.3) and trimmed.
func (f field) value() string {
	_, v, _ := bytes.Cut(f.raw, []byte(":"))
	v = bytes.ReplaceAll(v, []byte("\r"), nil)
	v = bytes.ReplaceAll(v, []byte("\n"), nil)
	return strings.TrimSpace(string(v))
}

// splitHeader splits the header section of msg into fields the way the
// DKIM verifier reads it: a line that starts with a space or a tab
// continues the previous field (RFC 5322 2.2.3), lines may end in CRLF or
// LF, and the header ends at the first empty line. body is the offset just
// after that empty line, or len(msg) when there is none.
func splitHeader(msg []byte) (fields []field, body int) {
	for i := 0; i < len(msg); {
		end := len(msg)
		if j := bytes.IndexByte(msg[i:], '\n'); j >= 0 {
			end = i + j + 1
		}
		line := msg[i:end]
		content := bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		switch {
		case len(content) == 0:
			return fields, end
		case len(fields) > 0 && (line[0] == ' ' || line[0] == '\t'):
			last := &fields[len(fields)-1]
			last.raw = msg[i-len(last.raw) : end]
		default:
			name, _, _ := bytes.Cut(content, []byte(":"))
			fields = append(fields, field{name: string(bytes.TrimSpace(name)), raw: line})
		}
		i = end
	}
	return fields, len(msg)
}

// Reasons a message has no single RFC5322.From domain.
var (
	errNoFrom       = errors.New("no From header field")
	errMultipleFrom = errors.New("more than one From address")
	errBadFrom      = errors.New("no valid domain in the From address")
)

// fromDomain returns the normalized domain of the message's author, the
// identifier DMARC protects (RFC 7489 3.1, 6.6.1). It requires exactly one
// From field holding exactly one address; anything else is an error.
func fromDomain(fields []field) (string, error) {
	var from []field
	for _, f := range fields {
		if strings.EqualFold(f.name, "From") {
			from = append(from, f)
		}
	}
	switch {
	case len(from) == 0:
		return "", errNoFrom
	case len(from) > 1:
		return "", errMultipleFrom
	}
	addr, err := fromAddress(from[0].value())
	if err != nil {
		return "", err
	}
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return "", errBadFrom
	}
	d, ok := normalizeDomain(addr[at+1:])
	if !ok {
		return "", errBadFrom
	}
	return d, nil
}

// addressParser parses From with any charset in encoded-word display
// names: only the address matters here, so an unknown charset must not
// make the message unparseable.
var addressParser = mail.AddressParser{WordDecoder: &mime.WordDecoder{
	CharsetReader: func(_ string, r io.Reader) (io.Reader, error) { return r, nil },
}}

// fromAddress returns the single address in a From field body. What
// net/mail cannot parse is accepted when it holds exactly one "@": the
// domain is what follows it, up to a delimiter. Mail clients display such
// headers, so DMARC should still see the domain they show.
func fromAddress(v string) (string, error) {
	list, err := addressParser.ParseList(v)
	if err == nil {
		switch len(list) {
		case 0:
			return "", errBadFrom
		case 1:
			return list[0].Address, nil
		}
		return "", errMultipleFrom
	}
	if strings.Count(v, "@") != 1 {
		return "", errBadFrom
	}
	at := strings.IndexByte(v, '@')
	end := strings.IndexAny(v[at:], "> \t(),;\"")
	if end < 0 {
		end = len(v) - at
	}
	return v[:at+end], nil
}

// dkimSignatures returns the d= and s= tags (RFC 6376 3.5) of every
// DKIM-Signature field, in header order, which is the order in which
// go-msgauth verifies them.
func dkimSignatures(fields []field) (sigs []DKIMResult) {
	for _, f := range fields {
		if strings.EqualFold(f.name, "DKIM-Signature") {
			tags := tagList(f.value())
			sigs = append(sigs, DKIMResult{Domain: tags["d"], Selector: tags["s"]})
		}
	}
	return sigs
}

// tagList parses a tag-list (RFC 6376 3.2) leniently: white space inside
// values is dropped, malformed entries are skipped and the first of
// duplicate tags wins. It serves display and matching only; the verifier
// does its own strict parsing.
func tagList(s string) map[string]string {
	tags := map[string]string{}
	for _, spec := range strings.Split(s, ";") {
		k, v, ok := strings.Cut(spec, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			continue
		}
		if _, dup := tags[k]; !dup {
			tags[k] = strings.Join(strings.Fields(v), "")
		}
	}
	return tags
}
