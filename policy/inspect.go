package policy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/emersion/go-message/textproto"
)

// Result is what Inspect made of a message.
type Result struct {
	// Clean is the message the agent sees: every removed part replaced
	// by a text note, everything else as it arrived. It is the raw
	// message itself when nothing was removed.
	Clean []byte
	// Removed lists what was taken out, in message order. When it is
	// not empty the caller keeps the original in quarantine.
	Removed []Removal
	// Attachments and AttachmentBytes count the attachments of the
	// message as it arrived (removed ones and inline images too) and
	// their decoded size.
	Attachments     int
	AttachmentBytes int64
}

// A Removal is one part taken out of a message.
type Removal struct {
	Path         string // IMAP section number of the part: "2.1"
	Filename     string // as the sender named it, "" for none
	DeclaredType string // its Content-Type, "" for none
	SniffedType  string // the type of its decoded content, "" when not read
	Reason       string // "blocked type exe", "virus Eicar-Test-Signature", ...
	Virus        string // the antivirus' signature name when it found one, else ""
}

// A LimitError is a message over a structural limit (nesting, number
// of parts, header count or size): the SMTP layer refuses it at DATA
// with a permanent error naming Key.
type LimitError struct {
	Key string // the configuration key: "policy.max_depth"
	Msg string // safe to show to the sending client
}

func (e *LimitError) Error() string { return e.Msg + " (" + e.Key + ")" }

var (
	// ErrScanUnavailable wraps the error of a virus scan that couldn't be
	// done (scanner down, timed out): the message must wait (451), never
	// pass unscanned.
	ErrScanUnavailable = errors.New("virus scanner unavailable")
	// ErrScanTooLarge is a part larger than the scanner accepts (clamd's
	// StreamMaxLength). Inspect removes such a part.
	ErrScanTooLarge = errors.New("too large for the virus scanner")
	// ErrMalformed wraps the error of a message whose top-level header
	// can't be read: the SMTP layer refuses it at DATA.
	ErrMalformed = errors.New("malformed message")
)

// Inspect applies rules to the message raw: it judges every attachment's
// type, enforces the limits, has every kept attachment scanned when
// scanner is not nil, and returns the message with what it removed
// replaced by notes. Errors: *LimitError over a structural limit, one
// wrapping ErrScanUnavailable when a scan failed, one wrapping
// ErrMalformed when the top-level header can't be read, the context's
// error when ctx ends.
func Inspect(ctx context.Context, raw []byte, rules Rules, scanner Scanner) (Result, error) {
	in := &inspector{ctx: ctx, rules: compile(rules), scanner: scanner}
	h, body, err := in.readMessage(raw)
	if err != nil {
		if _, ok := err.(*LimitError); ok {
			return Result{}, err
		}
		return Result{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	out, err := in.entity(h, body, loc{message: true})
	if err != nil {
		return Result{}, err
	}
	in.res.Clean = raw
	if out != nil {
		in.res.Clean = out
	}
	return in.res, nil
}

// inspector walks one message.
type inspector struct {
	ctx     context.Context
	rules   ruleSet
	scanner Scanner

	res       Result
	parts     int   // entities seen
	keptCount int   // attachments kept so far
	keptBytes int64 // their decoded size
}

// readMessage splits a message (or an attached one) into its header
// and body, checking the header's limits before parsing it.
func (in *inspector) readMessage(raw []byte) (textproto.Header, []byte, error) {
	if err := in.checkHeaderSize(raw); err != nil {
		return textproto.Header{}, nil, err
	}
	src := bytes.NewReader(raw)
	br := bufio.NewReader(src)
	h, err := textproto.ReadHeader(br)
	if err != nil {
		return h, nil, err
	}
	return h, raw[len(raw)-src.Len()-br.Buffered():], nil
}

// checkHeaderSize checks the header at the start of b against the
// limits, before go-message parses (and allocates) it.
func (in *inspector) checkHeaderSize(b []byte) error {
	return in.headerLimits(headerSize(b, in.rules.MaxHeaders, in.rules.MaxHeaderBytes))
}

func (in *inspector) headerLimits(fields, size int) error {
	if fields > in.rules.MaxHeaders {
		return &LimitError{Key: "policy.max_headers", Msg: fmt.Sprintf("a MIME part has more than %d header fields", in.rules.MaxHeaders)}
	}
	if size > in.rules.MaxHeaderBytes {
		return &LimitError{Key: "policy.max_header_bytes", Msg: fmt.Sprintf("a MIME part has a header larger than %d bytes", in.rules.MaxHeaderBytes)}
	}
	return nil
}

// loc is where an entity sits in the message.
type loc struct {
	path    string // IMAP section: "2.1"; "" for the message itself
	message bool   // a message's top-level entity (its body is then path.1, or 1)
	depth   int    // multiparts and attached messages around it
	related bool   // a part of a multipart/related
}

// body is the location of an entity's body: the entity itself, or
// section 1 under a message.
func (at loc) body() loc {
	if at.message {
		at.path = join(at.path, "1")
	}
	return at
}

// entity inspects one message or part: header h, raw body. It returns
// the entity's new bytes, header included, or nil when it stays as it
// is.
func (in *inspector) entity(h textproto.Header, body []byte, at loc) ([]byte, error) {
	if at.depth > in.rules.MaxDepth {
		return nil, &LimitError{Key: "policy.max_depth", Msg: fmt.Sprintf("MIME parts are nested deeper than %d levels", in.rules.MaxDepth)}
	}
	if in.parts++; in.parts > in.rules.MaxParts {
		return nil, &LimitError{Key: "policy.max_parts", Msg: fmt.Sprintf("the message has more than %d MIME parts", in.rules.MaxParts)}
	}
	if err := in.ctx.Err(); err != nil {
		return nil, err
	}
	p := readPart(h)
	switch {
	case p.conflict != "":
		return in.remove(h, at.body(), Removal{Reason: "malformed MIME: " + p.conflict}, noteMalformed), nil
	case strings.HasPrefix(p.mt, "multipart/"):
		return in.multipart(h, body, p, at)
	case p.mt == "message/rfc822" || p.mt == "message/global":
		return in.attachedMessage(h, body, p, at.body(), false)
	}
	return in.leaf(h, body, p, at.body())
}

// A kid is one part of a multipart.
type kid struct {
	h   textproto.Header
	raw []byte // its body as it arrived
	out []byte // its new bytes, nil when unchanged
}

// multipart inspects the parts of a multipart entity. Parts that stay
// are copied byte for byte; when one changes, the multipart is written
// again around them with the same boundary and preamble (its epilogue is
// dropped). What can't be read of a multipart is removed: a part whose
// header can't be parsed and everything after it, or the whole
// multipart when no part can be read. A missing closing delimiter just
// ends the last part.
func (in *inspector) multipart(h textproto.Header, body []byte, p part, at loc) ([]byte, error) {
	first := loc{path: join(at.path, "1"), message: at.message}
	boundary := p.params["boundary"]
	if boundary == "" {
		return in.remove(h, first, Removal{Reason: "malformed MIME: multipart without a boundary"}, noteMalformed), nil
	}
	if err := in.checkPartHeaders(body, boundary); err != nil {
		return nil, err
	}
	child := func(i int) loc {
		return loc{path: join(at.path, strconv.Itoa(i)), depth: at.depth + 1, related: p.mt == "multipart/related"}
	}
	mr := textproto.NewMultipartReader(bytes.NewReader(body), boundary)
	var kids []kid
	var bad error
	for {
		mp, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			bad = err
			break
		}
		raw, err := io.ReadAll(mp)
		truncated := err == io.ErrUnexpectedEOF
		if err != nil && !truncated {
			bad = err
			break
		}
		out, err := in.entity(mp.Header, raw, child(len(kids)+1))
		if err != nil {
			return nil, err
		}
		kids = append(kids, kid{h: mp.Header, raw: raw, out: out})
		if truncated {
			break
		}
	}
	if bad != nil && len(kids) == 0 {
		return in.remove(h, first, Removal{Reason: "malformed MIME: " + bad.Error()}, noteMalformed), nil
	}
	changed := bad != nil
	for _, k := range kids {
		changed = changed || k.out != nil
	}
	if !changed {
		return nil, nil
	}
	var b bytes.Buffer
	textproto.WriteHeader(&b, h)
	b.Write(preamble(body, boundary))
	for _, k := range kids {
		fmt.Fprintf(&b, "--%s\r\n", boundary)
		if k.out != nil {
			b.Write(k.out)
		} else {
			textproto.WriteHeader(&b, k.h)
			b.Write(k.raw)
		}
		b.WriteString("\r\n")
	}
	if bad != nil {
		fmt.Fprintf(&b, "--%s\r\n", boundary)
		b.Write(in.remove(textproto.Header{}, child(len(kids)+1), Removal{Reason: "malformed MIME: " + bad.Error()}, noteMalformed))
		b.WriteString("\r\n")
	}
	fmt.Fprintf(&b, "--%s--\r\n", boundary)
	return b.Bytes(), nil
}

// checkPartHeaders checks the header of every part of a multipart body
// against the limits before the multipart reader parses them. Like the
// reader, it looks for the next delimiter after each header, so that it
// reads every byte once.
func (in *inspector) checkPartHeaders(body []byte, boundary string) error {
	dash := []byte("--" + boundary)
	for off := nextDelimiter(body, 0, dash); off >= 0; {
		fields, size := headerSize(body[off:], in.rules.MaxHeaders, in.rules.MaxHeaderBytes)
		if err := in.headerLimits(fields, size); err != nil {
			return err
		}
		off = nextDelimiter(body, off+size, dash)
	}
	return nil
}

// attachedMessage opens a message carried by a part (message/rfc822, or
// an attachment that is a message) and inspects it; when it changes, it
// is encoded again as it came (base64, quoted-printable or as is). A
// message that can't be read is removed.
func (in *inspector) attachedMessage(h textproto.Header, body []byte, p part, at loc, decoded bool) ([]byte, error) {
	data := body
	if !decoded {
		data = decode(p.cte, body)
	}
	mh, mbody, err := in.readMessage(data)
	if err != nil {
		if _, ok := err.(*LimitError); ok {
			return nil, err
		}
		rm := Removal{Filename: p.filename(), DeclaredType: p.mt, Reason: "malformed MIME: attached message: " + err.Error()}
		return in.remove(h, at, rm, noteMalformed), nil
	}
	out, err := in.entity(mh, mbody, loc{path: at.path, message: true, depth: at.depth + 1})
	if err != nil || out == nil {
		return nil, err
	}
	var b bytes.Buffer
	textproto.WriteHeader(&b, h)
	encode(&b, p.cte, out)
	return b.Bytes(), nil
}

// leaf inspects a part that is not a multipart: text body parts stay;
// an attachment is judged by type, counted against the limits and
// scanned. Inline images (a part of a multipart/related with a
// Content-ID, not marked as an attachment) are judged and scanned but
// not counted: signatures and newsletters carry many.
func (in *inspector) leaf(h textproto.Header, body []byte, p part, at loc) ([]byte, error) {
	if !p.attachment() {
		return nil, nil
	}
	data := decode(p.cte, body)
	jm := judge(data, p.names, p.mt)
	if p.messageLike(jm.sniffed) {
		return in.attachedMessage(h, data, p, at, true)
	}
	in.res.Attachments++
	in.res.AttachmentBytes += int64(len(data))
	rm := Removal{Filename: p.filename(), DeclaredType: p.mt, SniffedType: jm.sniffed}
	shown := jm.readings[0].primary()
	if j, blocked := jm.blockedBy(&in.rules); blocked {
		rm.Reason = "blocked type " + j.label()
		return in.remove(h, at, rm, noteBlocked(j)), nil
	}
	counted := !(at.related && p.disp != "attachment" && h.Get("Content-Id") != "")
	if counted && in.keptCount >= in.rules.MaxAttachments {
		rm.Reason = fmt.Sprintf("too many attachments (policy.max_attachments = %d)", in.rules.MaxAttachments)
		why := fmt.Sprintf("a message may carry at most %d attachments", in.rules.MaxAttachments)
		if in.rules.MaxAttachments == 0 {
			why = "attachments are not accepted"
		}
		return in.remove(h, at, rm, noteType(shown, why)), nil
	}
	if counted && in.keptBytes+int64(len(data)) > in.rules.MaxAttachmentBytes {
		rm.Reason = fmt.Sprintf("attachments too large (policy.max_attachment_bytes = %d)", in.rules.MaxAttachmentBytes)
		return in.remove(h, at, rm, noteType(shown, "a message may carry at most "+formatBytes(in.rules.MaxAttachmentBytes)+" of attachments")), nil
	}
	if in.scanner != nil {
		v, err := in.scanner.Scan(in.ctx, bytes.NewReader(data))
		switch {
		case errors.Is(err, ErrScanTooLarge):
			rm.Reason = err.Error()
			return in.remove(h, at, rm, noteType(shown, "it is too large for the virus scanner")), nil
		case errors.Is(err, ErrScanUnavailable):
			return nil, fmt.Errorf("scan part %s: %w", at.path, err)
		case err != nil:
			return nil, fmt.Errorf("%w: scan part %s: %w", ErrScanUnavailable, at.path, err)
		case v.Infected:
			rm.Reason, rm.Virus = "virus "+v.Signature, v.Signature
			return in.remove(h, at, rm, noteType(shown, "a virus was found in it ("+v.Signature+")")), nil
		}
	}
	if counted {
		in.keptCount++
		in.keptBytes += int64(len(data))
	}
	return nil, nil
}

// remove records a removal and returns the note that replaces the part:
// the part's header without its Content- fields, and a text body.
func (in *inspector) remove(h textproto.Header, at loc, rm Removal, n noteFunc) []byte {
	rm.Path = at.path
	rm.Reason = oneLine(rm.Reason)
	in.res.Removed = append(in.res.Removed, rm)
	return note(h, at.message, n(rm.Filename))
}

// oneLine makes a reason fit a log line: printable, on one line, at
// most 300 bytes.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(printable(strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == '\t' {
			return ' '
		}
		return r
	}, s))), " ")
	if len(s) > 300 {
		s = strings.ToValidUTF8(s[:300], "") + "…"
	}
	return s
}

func join(path, n string) string {
	if path == "" {
		return n
	}
	return path + "." + n
}
