package router

import (
	"bytes"
	"errors"
	"fmt"
	"html"
	"io"
	"mime"
	"mime/quotedprintable"
	"regexp"
	"slices"
	"strings"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"

	"mxdesk/store"
)

// Email commands (docs/agents.md, "Commands in a reply"): an agent's
// message may start with lines such as "#resolve" or "#transfer Billing",
// each a session action (Act). They are read from the top of the first
// text part (and of the HTML part beside it), before any other text;
// blank lines may come between them. Only the known command words are
// commands; any other "#word" line there is refused, so that a typo
// never reaches the customer. A line that is not "#" and a word of
// letters ("#1 priority", "# heading", plain text, a quote) ends them.

// emailCommand is one command line of an agent's message.
type emailCommand struct {
	line int    // in the text part, from 1
	text string // the line as written, trimmed
	act  Action
}

// commandLine matches a line that is a command: "#" then a word of
// letters, then, after white space, its argument.
var commandLine = regexp.MustCompile(`^#([A-Za-z]+)(?:[ \t]+(.*))?$`)

// parseCommandLine reads one line: ok is false when it is not a command
// line (text, which ends the commands); an unknown command word is an
// error naming the line.
func parseCommandLine(line string, n int) (emailCommand, bool, error) {
	t := strings.TrimSpace(strings.ReplaceAll(line, "\u00a0", " "))
	m := commandLine.FindStringSubmatch(t)
	if m == nil {
		return emailCommand{}, false, nil
	}
	kind := strings.ToLower(m[1])
	if !slices.Contains(ActionKinds, kind) {
		return emailCommand{}, false, errorf(KindInvalid, "line %d: unknown command #%s (commands: #%s; a text that starts with # goes below a first line of text)",
			n, m[1], strings.Join(ActionKinds, ", #"))
	}
	return emailCommand{line: n, text: t, act: Action{Kind: kind, Arg: strings.TrimSpace(m[2])}}, true, nil
}

// plainCommands reads the command lines at the top of a text/plain body
// and returns them with the text that follows them. flowed: the part is
// format=flowed (RFC 3676), where a line ending in a space goes on in
// the next one (delsp: without that space).
func plainCommands(text string, flowed, delsp bool) ([]emailCommand, string, error) {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	var cmds []emailCommand
	rest := 0 // the first line kept
	for i := 0; i < len(lines); {
		first := i
		logical := lines[i]
		for flowed && strings.HasSuffix(lines[i], " ") && lines[i] != "-- " && i+1 < len(lines) {
			if delsp {
				logical = strings.TrimSuffix(logical, " ")
			}
			i++
			logical += lines[i]
		}
		i++
		if strings.TrimSpace(strings.ReplaceAll(logical, "\u00a0", " ")) == "" {
			continue
		}
		c, ok, err := parseCommandLine(logical, first+1)
		if err != nil {
			return nil, "", err
		}
		if !ok {
			rest = first
			break
		}
		cmds, rest = append(cmds, c), i
	}
	if len(cmds) == 0 {
		return nil, text, nil
	}
	return cmds, strings.Join(lines[rest:], "\r\n"), nil
}

// htmlBreaks are the tags that end a line of an HTML body as it shows.
var htmlBreaks = []string{"br", "p", "/p", "div", "/div", "li", "/li", "blockquote", "/blockquote", "/body", "hr", "table", "pre", "/pre"}

// emptyBlock matches a paragraph or div left empty by removing command
// lines from it (Thunderbird writes each line as <p>…</p>).
var emptyBlock = regexp.MustCompile(`(?i)<(p|div)>(\s|&nbsp;)*</(p|div)>\s*`)

// htmlCommands reads the command lines at the top of an HTML body (the
// lines as it shows them: text between <br>, <p> and <div>) and returns
// them with the document without them: their text and line breaks go,
// and the paragraphs they leave empty.
func htmlCommands(doc string) ([]emailCommand, string, error) {
	pos := 0
	if m := regexp.MustCompile(`(?is)<body[^>]*>`).FindStringIndex(doc); m != nil {
		pos = m[1]
	}
	var (
		cmds  []emailCommand
		cut   [][2]int // byte ranges of the command lines
		line  strings.Builder
		spans [][2]int // the current line's text and its <br>
		n     = 0      // lines seen
		stop  = -1     // where the text after the commands starts
	)
	endLine := func() (bool, error) {
		n++
		text := collapse(line.String()) // HTML: white space runs show as one space
		line.Reset()
		sp := spans
		spans = nil
		if strings.TrimSpace(strings.ReplaceAll(text, "\u00a0", " ")) == "" {
			return true, nil
		}
		c, ok, err := parseCommandLine(text, n)
		if err != nil || !ok {
			return false, err
		}
		cmds, cut = append(cmds, c), append(cut, sp...)
		return true, nil
	}
	lineStart := pos
	for pos < len(doc) && stop < 0 {
		if doc[pos] != '<' {
			end := strings.IndexByte(doc[pos:], '<')
			if end < 0 {
				end = len(doc) - pos
			}
			if line.Len() == 0 && len(spans) == 0 {
				lineStart = pos
			}
			line.WriteString(html.UnescapeString(doc[pos : pos+end]))
			spans = append(spans, [2]int{pos, pos + end})
			pos += end
			continue
		}
		if strings.HasPrefix(doc[pos:], "<!--") {
			end := strings.Index(doc[pos:], "-->")
			if end < 0 {
				break
			}
			pos += end + 3
			continue
		}
		end := strings.IndexByte(doc[pos:], '>')
		if end < 0 {
			break
		}
		tag := strings.ToLower(strings.TrimLeft(doc[pos+1:pos+end], " "))
		name, _, _ := strings.Cut(strings.TrimRight(tag, "/ "), " ")
		tagStart, tagEnd := pos, pos+end+1
		pos = tagEnd
		if !slices.Contains(htmlBreaks, name) {
			continue // inline: <span>, <b>, <font> stay
		}
		if name == "br" {
			if line.Len() == 0 && len(spans) == 0 {
				lineStart = tagStart
			}
			spans = append(spans, [2]int{tagStart, tagEnd})
		}
		more, err := endLine()
		if err != nil {
			return nil, "", err
		}
		if !more {
			stop = lineStart
		}
		if name == "/body" {
			break
		}
	}
	if len(cmds) == 0 {
		return nil, doc, nil
	}
	if stop < 0 {
		stop = pos
	}
	var b strings.Builder
	from := 0
	for _, c := range cut {
		b.WriteString(doc[from:c[0]])
		from = c[1]
	}
	head := b.String() + doc[from:stop]
	bodyAt := 0
	if m := regexp.MustCompile(`(?is)<body[^>]*>`).FindStringIndex(head); m != nil {
		bodyAt = m[1]
	}
	head = head[:bodyAt] + emptyBlock.ReplaceAllString(head[bodyAt:], "")
	return cmds, head + doc[stop:], nil
}

// commandStrip walks an agent's message once: it takes the command lines
// from the top of its first text/plain part and of its first text/html
// part (the two sides of a multipart/alternative) and rewrites those
// parts without them. The commands are those of the text/plain part when
// it has any, else the HTML part's.
type commandStrip struct {
	plain, html []emailCommand
	doneText    bool
	doneHTML    bool
}

// takeCommands returns the commands at the top of in's text and in
// without them (nothing changes without commands).
func takeCommands(in inbound) ([]emailCommand, inbound, error) {
	var c commandStrip
	var out bytes.Buffer
	h, err := c.part(&out, in.header, in.body, 0)
	if err != nil {
		return nil, in, err
	}
	cmds := c.plain
	if len(cmds) == 0 {
		cmds = c.html
	}
	if len(cmds) == 0 {
		return nil, in, nil
	}
	in.header, in.body = h, out.Bytes()
	return cmds, in, nil
}

func (c *commandStrip) part(w io.Writer, h textproto.Header, body []byte, depth int) (textproto.Header, error) {
	if depth > maxMIMEDepth {
		return h, errorf(KindInvalid, "MIME parts nested deeper than %d", maxMIMEDepth)
	}
	mh := message.Header{Header: h}
	mt, params, _ := mh.ContentType()
	if mt == "" {
		mt = "text/plain"
	}
	disp, _, _ := mh.ContentDisposition()
	switch {
	case strings.HasPrefix(mt, "multipart/") && params["boundary"] != "":
		return h, c.multipart(w, body, params["boundary"], mt == "multipart/alternative", depth)
	case disp == "attachment":
	case mt == "text/plain" && !c.doneText, mt == "text/html" && !c.doneHTML:
		if nh, ok, err := c.strip(w, h, body, mt, params); ok || err != nil {
			return nh, err
		}
	}
	_, err := w.Write(body)
	return h, err
}

// multipart rewrites the parts of a multipart body: every alternative of
// a multipart/alternative, only the first part of any other (the text;
// what follows is attachments), the others copied byte for byte.
func (c *commandStrip) multipart(w io.Writer, body []byte, boundary string, alternative bool, depth int) error {
	mr := textproto.NewMultipartReader(bytes.NewReader(body), boundary)
	for i := 0; ; i++ {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return errorf(KindInvalid, "cannot read a MIME part: %v", err)
		}
		raw, err := io.ReadAll(p)
		if err != nil {
			return errorf(KindInvalid, "cannot read a MIME part: %v", err)
		}
		fmt.Fprintf(w, "--%s\r\n", boundary)
		ph, part := p.Header, raw
		if alternative || i == 0 {
			var b bytes.Buffer
			if ph, err = c.part(&b, p.Header, raw, depth+1); err != nil {
				return err
			}
			part = b.Bytes()
		}
		if err := textproto.WriteHeader(w, ph); err != nil {
			return err
		}
		w.Write(part)
		fmt.Fprint(w, "\r\n")
	}
	_, err := fmt.Fprintf(w, "--%s--\r\n", boundary)
	return err
}

// strip writes a text part without its command lines, re-encoded as
// UTF-8 quoted-printable (format=flowed kept: the lines that stay are
// unchanged). ok is false when it had none or can't be decoded: it is
// then written by the caller as it was.
func (c *commandStrip) strip(w io.Writer, h textproto.Header, body []byte, mt string, params map[string]string) (textproto.Header, bool, error) {
	text, err := decodeText(h, body)
	if err != nil {
		return h, false, nil
	}
	var cmds []emailCommand
	if mt == "text/plain" {
		c.doneText = true
		flowed := strings.EqualFold(params["format"], "flowed")
		cmds, text, err = plainCommands(text, flowed, strings.EqualFold(params["delsp"], "yes"))
		c.plain = cmds
	} else {
		c.doneHTML = true
		cmds, text, err = htmlCommands(text)
		c.html = cmds
	}
	if err != nil || len(cmds) == 0 {
		return h, false, err
	}
	nh := h.Copy()
	if params == nil {
		params = map[string]string{} // no Content-Type: text/plain
	}
	params["charset"] = "utf-8"
	nh.Set("Content-Type", mime.FormatMediaType(mt, params))
	nh.Set("Content-Transfer-Encoding", "quoted-printable")
	qw := quotedprintable.NewWriter(w)
	qw.Write([]byte(text))
	return nh, true, qw.Close()
}

// submitWithCommands submits an agent's message that started with
// commands (already taken out of in). A message with nothing else of the
// agent's (what is left is blank, quoted or a signature: replyText) sends
// nothing. Otherwise it goes as it would have, then the commands apply
// to its session in order, wrap-up codes first (a resolve may need one);
// a #cc of a reply to the customer is that reply's Cc (and so the
// session's). A held reply applies none: they come with it when it is
// sent again. Any command that fails fails the whole message.
func (r *Router) submitWithCommands(tx store.Tx, a *Agent, in inbound, sub submission, cmds []emailCommand) (Submitted, error) {
	var res Submitted
	if replyText(in.header, in.body) == "" {
		res = Submitted{Session: sub.session.ID, MessageID: in.messageID, Action: "commands"}
	} else {
		var err error
		if toCustomer(sub) {
			if in, sub, cmds, err = r.ccOfReply(in, sub, cmds); err != nil {
				return Submitted{}, err
			}
		}
		if res, err = r.submit(tx, a, in, sub); err != nil || res.Action == "held" {
			return res, err
		}
	}
	if res.Session == "" && len(cmds) > 0 {
		return Submitted{}, errorf(KindInvalid, "line %d: %s: which session? Reply to one of its messages, or write to its note address", cmds[0].line, cmds[0].text)
	}
	slices.SortStableFunc(cmds, func(x, y emailCommand) int {
		return boolRank(y.act.Kind == ActWrapup) - boolRank(x.act.Kind == ActWrapup)
	})
	var done []string
	for _, c := range cmds {
		if err := r.actTx(tx, a, res.Session, []Action{c.act}); err != nil {
			return Submitted{}, commandError(c, err)
		}
		done = append(done, c.text)
	}
	if len(done) == 0 {
		return res, nil
	}
	return res, r.event(tx, res.Session, "commands", a.Login, "by email: "+strings.Join(done, "; "))
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// toCustomer reports whether sub is a reply (or new message) to
// outsiders, whose copies the session keeps.
func toCustomer(sub submission) bool {
	return len(sub.external) > 0 && sub.notes == 0 && sub.toQueue == "" && sub.toAgent == "" && !sub.forward
}

// commandError names the command line that failed in err, a router
// error keeping its Kind (the submission server's reply code).
func commandError(c emailCommand, err error) error {
	var re *Error
	if !errors.As(err, &re) {
		return err
	}
	return errorf(re.Kind, "line %d: %s: %s", c.line, c.text, re.Msg)
}

// ccOfReply makes the #cc commands of a reply its Cc field: the
// addresses of the last one replace those the agent's client put in Cc
// (who then gets nothing), "none" removes them. It returns in, sub and
// the commands without the #cc ones.
func (r *Router) ccOfReply(in inbound, sub submission, cmds []emailCommand) (inbound, submission, []emailCommand, error) {
	var rest []emailCommand
	var cc *emailCommand
	for i, c := range cmds {
		if c.act.Kind == ActCc {
			cc = &cmds[i]
		} else {
			rest = append(rest, c)
		}
	}
	if cc == nil {
		return in, sub, cmds, nil
	}
	list, err := r.parseCc(cc.act.Arg)
	if err != nil {
		return in, sub, nil, commandError(*cc, err)
	}
	addrs := listAddresses(list)
	drop := slices.DeleteFunc(slices.Clone(in.cc), func(x string) bool { return slices.Contains(addrs, x) || slices.Contains(in.to, x) })
	in.header = in.header.Copy()
	in.header.Del("Cc")
	if len(list) > 0 {
		in.header.Set("Cc", strings.Join(list, ", "))
	}
	in.cc, in.hadCc = addrs, true
	isDropped := func(x string) bool { return slices.Contains(drop, x) }
	in.rcpts = appendNew(slices.DeleteFunc(slices.Clone(in.rcpts), isDropped), addrs...)
	in.named = appendNew(slices.DeleteFunc(slices.Clone(in.named), isDropped), addrs...)
	sub.external = appendNew(slices.DeleteFunc(slices.Clone(sub.external), isDropped), addrs...)
	return in, sub, rest, nil
}
