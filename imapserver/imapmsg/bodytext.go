package imapmsg

import (
	"html"
	"strings"
)

// textCollector gathers the decoded text SEARCH BODY looks at, up to limit
// bytes; pieces are NUL-separated so that no match spans two parts.
type textCollector struct {
	b     strings.Builder
	limit int
}

func (t *textCollector) room() int { return t.limit - t.b.Len() }

func (t *textCollector) write(s string) {
	if n := t.room(); len(s) > n {
		s = s[:max(n, 0)]
	}
	t.b.WriteString(s)
	t.b.WriteByte(0)
}

// collect adds the text of p: text parts decoded, the children of a
// multipart, and header and text of an embedded message (its header is
// part of the enclosing message's body).
func (t *textCollector) collect(p *part, withHeader bool) {
	if t.room() <= 0 {
		return
	}
	if withHeader {
		var b strings.Builder
		writeHeaderText(&b, p.header)
		t.write(b.String())
	}
	switch {
	case p.isMultipart() && len(p.children) == 0:
		// No usable boundary: the body is all there is to search.
		t.write(toUTF8("", p.body, t.room()))
	case p.isMultipart():
		for _, c := range p.children {
			t.collect(c, false)
		}
	case p.isMessage():
		if p.message != nil {
			t.collect(p.message, true)
		}
	case p.typ == "text":
		n := t.room()
		text := toUTF8(p.params["charset"], decodeTransfer(p.encoding, p.body, n), n)
		t.write(text)
		if p.subtype == "html" {
			t.write(stripHTML(text))
		}
	}
}

// blockTags are the HTML elements that separate words.
var blockTags = map[string]bool{
	"br": true, "p": true, "div": true, "tr": true, "td": true, "th": true, "li": true,
	"h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true,
	"table": true, "ul": true, "ol": true, "blockquote": true, "pre": true, "hr": true,
}

// stripHTML reduces HTML to its text, enough for substring search: tags,
// comments, scripts and styles removed, entities decoded, white space
// collapsed.
func stripHTML(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		lt := strings.IndexByte(s, '<')
		if lt < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:lt])
		s = s[lt:]
		if strings.HasPrefix(s, "<!--") {
			end := strings.Index(s, "-->")
			if end < 0 {
				break
			}
			s = s[end+3:]
			continue
		}
		gt := strings.IndexByte(s, '>')
		if gt < 0 {
			break
		}
		inside := s[1:gt]
		name := tagName(inside)
		s = s[gt+1:]
		if blockTags[name] {
			b.WriteByte(' ')
		}
		if (name == "script" || name == "style") && !strings.HasPrefix(inside, "/") {
			end := indexEndTag(s, name)
			if end < 0 {
				break
			}
			s = s[end:]
		}
	}
	return strings.Join(strings.Fields(html.UnescapeString(b.String())), " ")
}

// indexEndTag returns the index of "</name" in s, name matched
// case-insensitively, or -1.
func indexEndTag(s, name string) int {
	for i := 0; ; {
		j := strings.Index(s[i:], "</")
		if j < 0 {
			return -1
		}
		j += i
		if end := j + 2 + len(name); end <= len(s) && strings.EqualFold(s[j+2:end], name) {
			return j
		}
		i = j + 2
	}
}

// tagName returns the lower-case element name of a tag's inside ("/p",
// "br /", "a href=...").
func tagName(s string) string {
	s = strings.TrimPrefix(strings.TrimSpace(s), "/")
	end := strings.IndexAny(s, " \t\r\n/")
	if end >= 0 {
		s = s[:end]
	}
	return strings.ToLower(s)
}
