package policy

import (
	"mime"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/textproto"
)

// part is what a MIME part's header says about it.
type part struct {
	mt       string            // media type, lower-case; "" when absent
	params   map[string]string // Content-Type parameters, parsed strictly
	disp     string            // disposition, lower-case
	cte      string            // transfer encoding, lower-case
	names    []string          // every file name the header gives
	conflict string            // why the header contradicts itself, "" if it doesn't
}

// readPart reads the fields of h that matter here. Parameters are read
// twice, strictly and leniently, and every file name either reading
// finds counts: a forgiving mail client may read a name a strict parser
// rejects.
func readPart(h textproto.Header) part {
	var p part
	for _, k := range []string{"Content-Type", "Content-Transfer-Encoding", "Content-Disposition"} {
		if distinct(h.Values(k)) > 1 {
			p.conflict = "more than one " + k
		}
	}
	ct, cd := h.Get("Content-Type"), h.Get("Content-Disposition")
	var ctNames, cdNames []string
	p.mt, p.params, ctNames = parseField(ct, "name")
	p.disp, _, cdNames = parseField(cd, "filename")
	p.names = dedupe(append(cdNames, ctNames...))
	p.cte = strings.ToLower(firstToken(h.Get("Content-Transfer-Encoding")))
	return p
}

// attachment says whether the part is an attachment rather than a text
// body part: it has a file name, or is marked as an attachment, or is
// not text.
func (p part) attachment() bool {
	return len(p.names) > 0 || p.disp == "attachment" || (p.mt != "" && !strings.HasPrefix(p.mt, "text/"))
}

// messageLike says whether an attachment holds a message to open: it
// is named .eml or sniffs as one, and its content is not of some other
// definite type.
func (p part) messageLike(sniffed string) bool {
	eml := sniffed == "message/rfc822"
	for _, n := range p.names {
		eml = eml || extOf(n) == "eml"
	}
	return eml && (sniffed == "message/rfc822" || sniffed == mimeText || sniffed == mimeUnknown)
}

func (p part) filename() string {
	if len(p.names) > 0 {
		return p.names[0]
	}
	return ""
}

func distinct(vs []string) int {
	seen := map[string]bool{}
	for _, v := range vs {
		seen[strings.ToLower(strings.TrimSpace(v))] = true
	}
	return len(seen)
}

func dedupe(ss []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range ss {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func firstToken(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.IndexAny(v, " \t;("); i >= 0 {
		v = v[:i]
	}
	return v
}

// parseField reads a "value; k=v" field: its value, its parameters as a
// strict parser reads them, and every value of the name parameter
// (filename or name) a strict or a lenient reading finds, RFC 2047 and
// RFC 2231 decoded.
func parseField(v, nameKey string) (string, map[string]string, []string) {
	var names []string
	mt, params, err := mime.ParseMediaType(v)
	if err != nil {
		mt = strings.ToLower(firstToken(v))
		params = nil
	} else if n := params[nameKey]; n != "" {
		names = append(names, decodeWords(n))
	}
	return mt, params, append(names, lenientNames(v, nameKey)...)
}

// lenientNames reads the name parameter the way forgiving clients do:
// unquoted or unterminated values, duplicates, RFC 2231 values in any
// charset and continuations.
func lenientNames(v, key string) []string {
	var names []string
	segs := map[int]string{}
	for _, f := range splitParams(v)[1:] {
		k, val, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		val = unquote(strings.TrimSpace(val))
		switch {
		case k == key:
			names = append(names, decodeWords(val))
		case k == key+"*":
			names = append(names, decode2231(val, true))
		case strings.HasPrefix(k, key+"*"):
			rest := strings.TrimPrefix(k, key+"*")
			ext := strings.HasSuffix(rest, "*")
			n, err := strconv.Atoi(strings.TrimSuffix(rest, "*"))
			if err != nil || n < 0 || n > 999 {
				continue
			}
			if ext {
				val = decode2231(val, n == 0)
			}
			segs[n] = val
		}
	}
	if len(segs) > 0 {
		idx := make([]int, 0, len(segs))
		for n := range segs {
			idx = append(idx, n)
		}
		sort.Ints(idx)
		var b strings.Builder
		for _, n := range idx {
			b.WriteString(segs[n])
		}
		names = append(names, b.String())
	}
	return names
}

// splitParams splits a field at the semicolons outside quotes.
func splitParams(v string) []string {
	var out []string
	quoted, start := false, 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '\\':
			if quoted {
				i++
			}
		case '"':
			quoted = !quoted
		case ';':
			if !quoted {
				out = append(out, v[start:i])
				start = i + 1
			}
		}
	}
	return append(out, v[start:])
}

func unquote(s string) string {
	if !strings.HasPrefix(s, `"`) {
		return s
	}
	s = strings.TrimPrefix(s, `"`)
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		case s[i] == '"':
			return b.String()
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// decode2231 decodes an RFC 2231 extended value: charset'language'%XX.
func decode2231(v string, first bool) string {
	cs := ""
	if first {
		if parts := strings.SplitN(v, "'", 3); len(parts) == 3 {
			cs, v = parts[0], parts[2]
		}
	}
	if u, err := url.PathUnescape(v); err == nil {
		v = u
	}
	if cs != "" && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "us-ascii") {
		if r, err := charset.Reader(cs, strings.NewReader(v)); err == nil {
			var b strings.Builder
			if _, err := copyLimited(&b, r); err == nil {
				v = b.String()
			}
		}
	}
	return v
}

var wordDecoder = mime.WordDecoder{CharsetReader: charset.Reader}

// decodeWords decodes RFC 2047 encoded words, which many mailers put in
// file names although the RFC doesn't allow them there.
func decodeWords(s string) string {
	if d, err := wordDecoder.DecodeHeader(s); err == nil {
		return d
	}
	return s
}
