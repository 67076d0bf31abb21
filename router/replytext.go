package router

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"regexp"
	"strings"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// maxReplyText bounds how much of a part replyText reads.
const maxReplyText = 1 << 20

// replyHash identifies what an agent wrote in a reply: the hash of its
// normalised text (replyText), so that sending the same words again
// matches although the client wrote a new MIME boundary, Date and
// Message-ID.
func replyHash(h textproto.Header, body []byte) string {
	sum := sha256.Sum256([]byte(replyText(h, body)))
	return hex.EncodeToString(sum[:16])
}

// replyText is what the agent wrote: the text/plain part if there is
// one, else the HTML part as text, without the quoted message, its
// attribution line and the signature, whitespace collapsed.
func replyText(h textproto.Header, body []byte) string {
	e, _ := message.New(message.Header{Header: h}, bytes.NewReader(body)) // unknown charsets still give an entity
	if e == nil {
		return collapse(string(body))
	}
	var plain, htmlText string
	var seenPlain, seenHTML bool
	e.Walk(func(_ []int, part *message.Entity, err error) error {
		if err != nil || part.MultipartReader() != nil {
			return nil
		}
		if disp, _, _ := part.Header.ContentDisposition(); disp == "attachment" {
			return nil
		}
		mt, _, _ := part.Header.ContentType()
		switch {
		case (mt == "text/plain" || mt == "") && !seenPlain:
			data, _ := io.ReadAll(io.LimitReader(part.Body, maxReplyText))
			plain, seenPlain = plainReplyText(string(data)), true
		case mt == "text/html" && !seenHTML:
			htmlText, seenHTML = htmlReplyText(io.LimitReader(part.Body, maxReplyText)), true
		}
		return nil
	})
	if seenPlain {
		return plain
	}
	return htmlText
}

// attribution matches the line a client writes above the quote: "On
// Mon, 2 Mar 2026, Carla wrote:" (mutt, Thunderbird), "Le … a écrit :".
var attribution = regexp.MustCompile(`(?i)^(on|am|le|el|il|op) .*(wrote|schrieb|écrit|escribió|scritto|geschreven)\s*:\s*$`)

// plainReplyText drops from a text/plain reply the quoted lines, the
// attribution line above them and everything from the signature
// separator on.
func plainReplyText(text string) string {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	var kept []string
	for i, l := range lines {
		if l == "-- " || l == "--" {
			break
		}
		if strings.HasPrefix(l, ">") {
			continue
		}
		if attribution.MatchString(strings.TrimSpace(l)) && quoteFollows(lines[i+1:]) {
			continue
		}
		kept = append(kept, l)
	}
	return collapse(strings.Join(kept, " "))
}

// quoteFollows reports whether the next non-empty line is quoted.
func quoteFollows(lines []string) bool {
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			return strings.HasPrefix(l, ">")
		}
	}
	return false
}

// htmlReplyText is the text of an HTML reply without Thunderbird's
// quote (<blockquote type="cite">), its attribution (moz-cite-prefix)
// and signature (moz-signature), nor scripts and styles.
func htmlReplyText(r io.Reader) string {
	doc, err := html.Parse(r)
	if err != nil {
		return ""
	}
	var b strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
			b.WriteByte(' ')
			return
		}
		if n.Type == html.ElementNode && notWritten(n) {
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return collapse(b.String())
}

// notWritten tells the HTML elements that are not the agent's words.
func notWritten(n *html.Node) bool {
	switch n.DataAtom {
	case atom.Script, atom.Style, atom.Head:
		return true
	case atom.Blockquote:
		if attr(n, "type") == "cite" {
			return true
		}
	}
	for _, class := range strings.Fields(attr(n, "class")) {
		if class == "moz-cite-prefix" || class == "moz-signature" {
			return true
		}
	}
	return false
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// collapse turns every run of white space (non-breaking spaces
// included) into one space.
func collapse(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\u00a0", " ")), " ")
}
