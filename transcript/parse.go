package transcript

import (
	"bufio"
	"bytes"
	"io"
	"mime"
	"net/mail"
	"strings"
	"time"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // charset tables: bodies and RFC 2047 words become UTF-8
	"github.com/emersion/go-message/textproto"
)

// Limits on what a rendering reads of one message: a hostile or huge
// message gives a bounded page, PDF or comment.
const (
	// MaxBodyText is how much of one message's text body is kept; the
	// rest is replaced by a note.
	MaxBodyText = 256 << 10
	// maxPartRead bounds the bytes read of any one part.
	maxPartRead = 8 << 20
	// maxInlineImage is the largest image kept for inline display.
	maxInlineImage = 1 << 20
	// maxInlineImages is how many images of one message are kept.
	maxInlineImages = 8
)

// Direction of a message in its session.
const (
	Inbound  = "inbound"  // from the customer's side, through the MX
	Outbound = "outbound" // written by an agent or mxdesk, sent to the customer
	Internal = "internal" // an internal note or notice, never sent
)

// Parsed is one message as the renderers show it.
type Parsed struct {
	Date      time.Time // zero when the Date header is missing or unreadable
	DateText  string    // the Date header as written
	From      string    // decoded header values (RFC 2047), as written
	To        string
	Cc        string
	Subject   string
	MessageID string // without angle brackets
	Direction string // Inbound, Outbound or Internal

	Text      string // the text body: text/plain, else the HTML as text
	Truncated bool   // Text was cut at MaxBodyText
	HTML      string // the first text/html body part, raw (not sanitized)
	IsHTML    bool   // the message has an HTML body part

	Attachments []Attachment
	Images      []Image // inline-displayable jpeg/png/gif parts, small ones
}

// Attachment is a part the reader downloads rather than reads.
type Attachment struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Size int64  `json:"size"` // decoded bytes
}

// Image is a small image part with its Content-ID, for cid: references.
type Image struct {
	ContentID string // without angle brackets
	Type      string // image/png, image/jpeg, image/gif
	Name      string
	Data      []byte
}

// Parse reads one stored message. It never fails: what it cannot read
// (a broken header, an unknown charset) it shows as it is, or leaves out.
func Parse(raw []byte) Parsed {
	var p Parsed
	br := bufio.NewReader(bytes.NewReader(raw))
	th, err := textproto.ReadHeader(br)
	if err != nil {
		p.Text = truncate(&p, string(raw))
		return p
	}
	h := message.Header{Header: th}
	p.readHeader(h)
	e, _ := message.New(h, br) // an unknown charset still gives an entity
	if e == nil {
		p.Text = truncate(&p, string(raw))
		return p
	}
	p.readBody(e)
	return p
}

func (p *Parsed) readHeader(h message.Header) {
	p.DateText = strings.TrimSpace(h.Get("Date"))
	if d, err := mail.ParseDate(p.DateText); err == nil {
		p.Date = d
	}
	p.From = headerText(h, "From")
	p.To = headerText(h, "To")
	p.Cc = headerText(h, "Cc")
	p.Subject = headerText(h, "Subject")
	p.MessageID = strings.Trim(strings.TrimSpace(h.Get("Message-Id")), "<>")
	switch {
	case h.Has("X-Mxdesk-Internal"):
		p.Direction = Internal
	case h.Has("X-Mxdesk-Queue"):
		p.Direction = Inbound // stamped by the MX path only
	default:
		p.Direction = Outbound
	}
}

// headerText decodes RFC 2047 words; undecodable words stay as written.
func headerText(h message.Header, key string) string {
	v, err := h.Text(key)
	if err != nil {
		v = h.Get(key)
	}
	return strings.Join(strings.Fields(v), " ")
}

// readBody walks the parts: the first text/plain and text/html that are
// not attachments are the body; the rest are attachments or images.
func (p *Parsed) readBody(e *message.Entity) {
	var plain, html string
	var seenPlain, seenHTML bool
	e.Walk(func(_ []int, part *message.Entity, err error) error {
		if part == nil || part.MultipartReader() != nil {
			return nil
		}
		mt, _, _ := part.Header.ContentType()
		if mt == "" {
			mt = "text/plain"
		}
		disp, dparams, _ := part.Header.ContentDisposition()
		name := partName(part.Header, dparams)
		isAttachment := disp == "attachment" || (name != "" && !strings.HasPrefix(mt, "image/")) || !strings.HasPrefix(mt, "text/")
		switch {
		case mt == "text/plain" && !isAttachment && !seenPlain:
			plain, seenPlain = readText(part.Body), true
		case mt == "text/html" && !isAttachment && !seenHTML:
			html, seenHTML = readText(part.Body), true
		case strings.HasPrefix(mt, "image/") && disp != "attachment":
			p.addImage(part, mt, name)
		default:
			// attachments, and a second text body part: listed, so
			// that nothing is hidden
			p.addAttachment(part, mt, name)
		}
		return nil
	})
	p.HTML, p.IsHTML = html, seenHTML
	text := plain
	if !seenPlain && seenHTML {
		text = HTMLText(html)
	}
	p.Text = truncate(p, text)
}

func readText(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, maxPartRead))
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}

// partName is the part's file name (Content-Disposition filename, else
// Content-Type name), RFC 2047/2231-decoded.
func partName(h message.Header, dparams map[string]string) string {
	if n := dparams["filename"]; n != "" {
		return decodeWords(n)
	}
	if _, tparams, err := h.ContentType(); err == nil && tparams["name"] != "" {
		return decodeWords(tparams["name"])
	}
	return ""
}

var wordDecoder = mime.WordDecoder{CharsetReader: message.CharsetReader}

func decodeWords(s string) string {
	if d, err := wordDecoder.DecodeHeader(s); err == nil {
		return d
	}
	return s
}

func (p *Parsed) addAttachment(part *message.Entity, mt, name string) {
	if mt == "message/rfc822" && name == "" {
		data, _ := io.ReadAll(io.LimitReader(part.Body, maxPartRead))
		p.Attachments = append(p.Attachments, Attachment{Name: attachedSubject(data), Type: mt, Size: int64(len(data))})
		return
	}
	n, _ := io.Copy(io.Discard, io.LimitReader(part.Body, maxPartRead))
	p.Attachments = append(p.Attachments, Attachment{Name: name, Type: mt, Size: n})
}

// attachedSubject names an attached message without a file name by its
// subject.
func attachedSubject(raw []byte) string {
	th, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return ""
	}
	if subject := headerText(message.Header{Header: th}, "Subject"); subject != "" {
		return subject + ".eml"
	}
	return ""
}

// addImage keeps a small jpeg/png/gif for inline display; a large or
// other image is listed as an attachment.
func (p *Parsed) addImage(part *message.Entity, mt, name string) {
	data, _ := io.ReadAll(io.LimitReader(part.Body, maxInlineImage+1))
	displayable := mt == "image/png" || mt == "image/jpeg" || mt == "image/gif"
	if !displayable || len(data) > maxInlineImage || len(p.Images) == maxInlineImages {
		n, _ := io.Copy(io.Discard, io.LimitReader(part.Body, maxPartRead))
		p.Attachments = append(p.Attachments, Attachment{Name: name, Type: mt, Size: int64(len(data)) + n})
		return
	}
	cid := strings.Trim(strings.TrimSpace(part.Header.Get("Content-Id")), "<>")
	p.Images = append(p.Images, Image{ContentID: cid, Type: mt, Name: name, Data: data})
	p.Attachments = append(p.Attachments, Attachment{Name: name, Type: mt, Size: int64(len(data))})
}

// truncate cuts text at MaxBodyText (on a rune boundary) and marks p.
func truncate(p *Parsed, text string) string {
	if len(text) <= MaxBodyText {
		return text
	}
	cut := MaxBodyText
	for cut > 0 && !utf8RuneStart(text[cut]) {
		cut--
	}
	p.Truncated = true
	return text[:cut]
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
