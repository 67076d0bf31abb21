package router

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"html"
	"io"
	"mime"
	"net/mail"
	"regexp"
	"strings"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"

	"mxdesk/store"
)

// A message an agent sends is a forward when its subject starts with a
// forward prefix (Fwd:, Fw:, WG:, I:, VS:, TR:, or mutt's "[Name:
// subject]"), it carries Thunderbird's X-Forwarded-Message-Id, or it
// attaches a message (message/rfc822). A forward's session is found from
// what it carries (forwardClues), and a forward to outsiders none of whom
// is a participant of that session goes to them alone (docs/agents.md).

// forwardPrefix is a subject's leading forward marker.
var forwardPrefix = regexp.MustCompile(`(?i)^\s*(fwd?|wg|i|vs|tr)\s*:`)

// muttForward is mutt's default forward subject, "[Carla Rossi: subject]".
var muttForward = regexp.MustCompile(`^\s*\[[^\]:]{1,200}:\s+(.*)\]\s*$`)

// isForward tells whether an agent's message forwards another.
func isForward(in inbound, original []forwarded) bool {
	if forwardPrefix.MatchString(in.subject) || muttForward.MatchString(in.subject) || in.header.Has("X-Forwarded-Message-Id") {
		return true
	}
	for _, o := range original {
		if o.attached {
			return true
		}
	}
	return false
}

// subjectKey is a subject without prefixes, tags, case and spacing, for
// comparing a forward's subject with a session's.
func subjectKey(subject string) string {
	return strings.ToLower(baseSubject(subject))
}

// forwarded is what a forward tells of the message it forwards: an
// attached message's headers, or the header block of an inline forward.
type forwarded struct {
	attached  bool   // a message/rfc822 part, not an inline block
	session   string // the attached message's X-Mxdesk-Session
	messageID string
	from      string // lower-case address
	subject   string
}

// Bounds on what is read of a forward looking for the original.
const (
	maxForwardParts = 50
	maxForwardPart  = 1 << 20
	maxBlockLines   = 20 // header lines of an inline block
	maxScanLines    = 2000
)

// forwardedOriginals reads the messages a forward carries: each attached
// message's headers and each text part's inline-forward header block, in
// the order of the parts.
func forwardedOriginals(in inbound) []forwarded {
	// An unknown charset or encoding is an error that still gives an
	// entity.
	e, _ := message.New(message.Header{Header: in.header}, bytes.NewReader(in.body))
	if e == nil {
		return nil
	}
	var out []forwarded
	parts := 0
	e.Walk(func(_ []int, part *message.Entity, err error) error {
		if parts++; err != nil || parts > maxForwardParts {
			return nil
		}
		// Only these are read; Walk reads a multipart's parts itself.
		mt, _, _ := part.Header.ContentType()
		if mt != "message/rfc822" && mt != "message/global" && mt != "text/plain" && mt != "text/html" && mt != "" {
			return nil
		}
		data, _ := io.ReadAll(io.LimitReader(part.Body, maxForwardPart))
		var f forwarded
		var ok bool
		switch mt {
		case "message/rfc822", "message/global":
			f, ok = attachedOriginal(data)
		case "text/html":
			f, ok = parseForwardBlock(htmlText(string(data)))
		default:
			f, ok = parseForwardBlock(string(data))
		}
		if ok {
			out = append(out, f)
		}
		return nil
	})
	return out
}

// attachedOriginal reads the header of an attached message.
func attachedOriginal(raw []byte) (forwarded, bool) {
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return forwarded{}, false
	}
	f := forwarded{attached: true, session: strings.ToUpper(strings.TrimSpace(h.Get("X-Mxdesk-Session")))}
	f.messageID = trimAngles(h.Get("Message-Id"))
	f.from = firstAddress(h.Get("From"))
	f.subject = decodeHeader(h.Get("Subject"))
	return f, true
}

// forwardMarker starts an inline forward: mutt's "----- Forwarded message
// from Carla <carla@…> -----" (group 1: who), Thunderbird's "--------
// Forwarded Message --------", Gmail's "---------- Forwarded message
// ---------", Outlook's "-----Original Message-----" or a line of
// underscores, and their translations.
var forwardMarker = regexp.MustCompile(`(?i)^\s*(?:-{2,}\s*(?:forwarded message(?:\s+from\s+(.+?))?|original message|weitergeleitete nachricht|urspr(?:ü|ue)ngliche nachricht|message transf(?:é|e)r(?:é|e)|messaggio inoltrato|mensaje reenviado|doorgestuurd bericht|vidarebefordrat meddelande)\s*-{2,}|_{10,})\s*$`)

// blockKeys maps the header names of inline-forward blocks (English and
// the usual translations) to what they mean.
var blockKeys = func() map[string]string {
	m := map[string]string{}
	for meaning, names := range map[string][]string{
		"from":       {"from", "von", "de", "da", "van", "från"},
		"subject":    {"subject", "betreff", "objet", "oggetto", "asunto", "onderwerp", "ämne"},
		"date":       {"date", "sent", "datum", "gesendet", "envoyé", "inviato", "enviado", "skickat", "verzonden"},
		"message-id": {"message-id"},
		"":           {"to", "an", "cc", "reply-to", "à", "a", "para", "aan", "till"},
	} {
		for _, n := range names {
			m[n] = meaning
		}
	}
	return m
}()

// parseForwardBlock finds the first inline-forward header block in text:
// the lines "From: …", "Subject: …" (and Date, To, Cc, Message-ID) after a
// forward marker, or Outlook's block that starts with From: followed by
// Sent: or Date:.
func parseForwardBlock(text string) (forwarded, bool) {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	if len(lines) > maxScanLines {
		lines = lines[:maxScanLines]
	}
	for i, line := range lines {
		if m := forwardMarker.FindStringSubmatch(line); m != nil {
			f := forwarded{from: firstAddress(m[1])}
			if readBlock(&f, lines[i+1:]) || f.from != "" {
				return f, true
			}
			continue
		}
		if key, _, ok := blockLine(line); ok && key == "from" && i+1 < len(lines) && isDateLine(lines[i+1]) {
			var f forwarded
			if readBlock(&f, lines[i:]) {
				return f, true
			}
		}
	}
	return forwarded{}, false
}

// readBlock reads header lines into f up to the first line that is
// neither blank nor one. It reports whether a From, Subject or Message-ID
// was read.
func readBlock(f *forwarded, lines []string) bool {
	found, n := false, 0
	for _, line := range lines {
		if strings.TrimSpace(line) == "" {
			continue // mutt leaves one after its marker, HTML tables between rows
		}
		key, value, ok := blockLine(line)
		if !ok || n == maxBlockLines {
			break
		}
		n++
		switch key {
		case "from":
			if a := firstAddress(value); a != "" {
				f.from, found = a, true
			}
		case "subject":
			if s := decodeHeader(value); s != "" {
				f.subject, found = s, true
			}
		case "message-id":
			if id := trimAngles(value); id != "" {
				f.messageID, found = id, true
			}
		}
	}
	return found
}

// blockLine splits "Key: value" (after any "> " quoting and "*" bold
// marks) when Key is a header name of forward blocks.
func blockLine(line string) (key, value string, ok bool) {
	line = strings.TrimLeft(line, "> \t*")
	name, value, ok := strings.Cut(line, ":")
	if !ok || len(name) > 20 {
		return "", "", false
	}
	key, ok = blockKeys[strings.ToLower(strings.TrimRight(name, " \t*"))]
	return key, strings.TrimSpace(strings.TrimLeft(value, "* \t")), ok
}

// isDateLine tells whether line is an Outlook block's Sent: or Date:.
func isDateLine(line string) bool {
	key, _, ok := blockLine(line)
	return ok && key == "date"
}

// htmlBreak is where an HTML body breaks lines for parseForwardBlock:
// Thunderbird's header table has one row per header.
var (
	htmlBreak = regexp.MustCompile(`(?i)<br\s*/?>|</?(p|div|tr|table|blockquote)\b[^>]*>`)
	htmlTag   = regexp.MustCompile(`<[^>]*>`)
)

// htmlText is an HTML body as lines of text, enough to read a forward's
// header block.
func htmlText(s string) string {
	s = htmlBreak.ReplaceAllString(s, "\n")
	s = htmlTag.ReplaceAllString(s, "")
	return strings.ReplaceAll(html.UnescapeString(s), "\u00a0", " ")
}

// firstAddress is the lower-case address of "Name <addr>", a bare
// address, or "".
func firstAddress(v string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return ""
	}
	if a, err := mail.ParseAddress(v); err == nil {
		return strings.ToLower(a.Address)
	}
	if i := strings.LastIndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j > 0 && strings.Contains(v[i+1:i+j], "@") {
			return strings.ToLower(strings.TrimSpace(v[i+1 : i+j]))
		}
	}
	return ""
}

func trimAngles(v string) string {
	return strings.TrimSpace(strings.Trim(strings.TrimSpace(v), "<>"))
}

// decodeHeader decodes RFC 2047 words, keeping the text as it is when it
// has none or they are broken.
func decodeHeader(v string) string {
	var dec mime.WordDecoder
	if s, err := dec.DecodeHeader(v); err == nil {
		return s
	}
	return v
}

// forwardClues finds the session of a forward that named none by its
// recipients, references or subject tag, in this order: an attached
// message's X-Mxdesk-Session (only for a session a may act on) and
// Message-ID, an inline block's Message-ID, then the sender and subject
// of the forwarded message among the sessions a sees, and last, for a
// forward, a's own open session with the forward's subject; either only
// when exactly one session matches.
func (r *Router) forwardClues(rd store.Reader, a *Agent, in inbound, originals []forwarded) (string, error) {
	for _, o := range originals {
		if o.session == "" {
			continue
		}
		s, err := rd.Session(o.session)
		if err == nil && a.mayActOn(s) {
			return s.ID, nil
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
	}
	for _, o := range originals {
		if id, err := sessionByMessageID(rd, o.messageID); id != "" || err != nil {
			return id, err
		}
	}
	candidates, err := r.visibleSessions(rd, a)
	if err != nil {
		return "", err
	}
	for _, o := range originals {
		subject := cmp.Or(o.subject, in.subject) // mutt's marker alone names the sender
		if id := onlyMatch(candidates, func(s store.Session) bool {
			return o.from != "" && s.Customer == o.from && subjectKey(s.Subject) == subjectKey(subject)
		}); id != "" {
			return id, nil
		}
	}
	if !isForward(in, originals) {
		return "", nil // a message merely titled like a session is not its forward
	}
	return onlyMatch(candidates, func(s store.Session) bool {
		return s.Agent == a.Login && subjectKey(s.Subject) == subjectKey(in.subject)
	}), nil
}

// onlyMatch is the ID of the one session that matches, else "".
func onlyMatch(sessions []store.Session, match func(store.Session) bool) string {
	id := ""
	for _, s := range sessions {
		if !match(s) {
			continue
		}
		if id != "" {
			return ""
		}
		id = s.ID
	}
	return id
}

// sessionByMessageID is the session of a Message-ID, "" when none.
func sessionByMessageID(rd store.Reader, messageID string) (string, error) {
	if messageID == "" {
		return "", nil
	}
	id, err := rd.SessionByMessageID(messageID)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	return id, err
}

// visibleSessions lists the open sessions a works on (those in their
// INBOX and Later) and those waiting in the queues they serve.
func (r *Router) visibleSessions(rd store.Reader, a *Agent) ([]store.Session, error) {
	seen := map[string]bool{}
	var out []store.Session
	add := func(id string) error {
		if id == "" || seen[id] {
			return nil
		}
		seen[id] = true
		s, err := rd.Session(id)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err == nil && s.Status != StatusClosed {
			out = append(out, s)
		}
		return err
	}
	for _, folder := range []string{Inbox, LaterFolder} {
		mb, err := rd.MailboxByName(a.Login, folder)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		msgs, err := rd.Messages(mb.ID, 1, 0)
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			if err := add(m.Session); err != nil {
				return nil, err
			}
		}
	}
	for _, q := range a.Queues {
		waiting, err := rd.WaitingSessions(q, 0)
		if err != nil {
			return nil, err
		}
		for _, w := range waiting {
			if err := add(w.Session); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// errForwardNotFound is the refusal of a transfer whose session can't be
// found: it says how to name it.
var errForwardNotFound = errorf(KindForbidden, "can't tell which session this forward belongs to: put the session tag, e.g. [S-7K3QX], in the subject and send again")
