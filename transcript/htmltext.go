package transcript

import (
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// HTMLText is an HTML body as plain text for reading: paragraphs and line
// breaks kept, quoted history (<blockquote>) prefixed with "> " like a
// text/plain reply, scripts, styles and the head left out, links written
// as "text <url>".
func HTMLText(src string) string {
	doc, err := html.Parse(strings.NewReader(src))
	if err != nil {
		return src
	}
	w := &textWriter{}
	w.walk(doc)
	return strings.TrimSpace(w.b.String()) + "\n"
}

// textWriter writes text with the quote depth at each line start.
type textWriter struct {
	b       strings.Builder
	depth   int  // blockquote nesting
	pre     int  // inside <pre>
	atStart bool // the next text starts a line
	space   bool // a space is pending between words
	blank   bool // an empty line is pending before the next text
	// blankDepth is the quote depth of the pending empty line: the
	// shallowest since it was asked for (none between a text and its quote)
	blankDepth int
	started    bool
}

func (w *textWriter) newline() {
	if !w.started {
		return
	}
	w.b.WriteByte('\n')
	w.atStart, w.space = true, false
}

// blankLine ends the line and asks for one empty line before the next
// text (none at the end, however many blocks close).
func (w *textWriter) blankLine() {
	if !w.started {
		return
	}
	w.newlineIfNeeded()
	if !w.blank || w.depth < w.blankDepth {
		w.blankDepth = w.depth
	}
	w.blank = true
}

func (w *textWriter) prefix() {
	if w.blank {
		w.b.WriteString(strings.TrimRight(strings.Repeat("> ", min(w.blankDepth, w.depth)), " "))
		w.b.WriteByte('\n')
		w.blank = false
	}
	w.b.WriteString(strings.Repeat("> ", w.depth))
}

func (w *textWriter) text(s string) {
	if w.pre > 0 {
		for i, line := range strings.Split(s, "\n") {
			if i > 0 {
				w.newline()
			}
			w.word(line)
		}
		return
	}
	if len(s) > 0 && isSpace(s[0]) {
		w.space = true
	}
	for _, f := range strings.Fields(s) {
		w.word(f)
		w.space = true
	}
	if len(s) > 0 && !isSpace(s[len(s)-1]) {
		w.space = false
	}
}

func (w *textWriter) word(s string) {
	if s == "" {
		return
	}
	switch {
	case !w.started || w.atStart:
		w.prefix()
	case w.space:
		w.b.WriteByte(' ')
	}
	w.b.WriteString(s)
	w.started, w.atStart, w.space = true, false, false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

func (w *textWriter) walk(n *html.Node) {
	switch n.Type {
	case html.TextNode:
		w.text(strings.ReplaceAll(n.Data, "\u00a0", " "))
		return
	case html.ElementNode:
		w.element(n)
		return
	}
	w.children(n)
}

func (w *textWriter) children(n *html.Node) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		w.walk(c)
	}
}

func (w *textWriter) element(n *html.Node) {
	switch n.DataAtom {
	case atom.Script, atom.Style, atom.Head, atom.Title, atom.Template, atom.Noscript:
		return
	case atom.Br:
		w.newline()
		return
	case atom.Hr:
		w.newline()
		w.word("----")
		w.newline()
		return
	case atom.Blockquote:
		w.blankLine()
		w.depth++
		w.children(n)
		w.newlineIfNeeded()
		w.depth--
		w.blankLine()
		return
	case atom.Pre:
		w.blankLine()
		w.pre++
		w.children(n)
		w.pre--
		w.blankLine()
		return
	case atom.A:
		w.children(n)
		if href := attr(n, "href"); strings.HasPrefix(href, "http") && !strings.Contains(textOf(n), href) {
			w.word("<" + href + ">")
		}
		return
	case atom.Li:
		w.newlineIfNeeded()
		w.word("*")
		w.space = true
		w.children(n)
		w.newlineIfNeeded()
		return
	case atom.Td, atom.Th:
		w.children(n)
		w.space = true
		return
	}
	if block[n.DataAtom] {
		w.newlineIfNeeded()
		w.children(n)
		w.newlineIfNeeded()
		if n.DataAtom == atom.P {
			w.blankLine()
		}
		return
	}
	w.children(n)
}

func (w *textWriter) newlineIfNeeded() {
	if w.started && !w.atStart {
		w.newline()
	}
}

var block = map[atom.Atom]bool{
	atom.P: true, atom.Div: true, atom.Tr: true, atom.Table: true, atom.Ul: true, atom.Ol: true,
	atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true, atom.H6: true,
	atom.Section: true, atom.Article: true, atom.Header: true, atom.Footer: true,
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}
