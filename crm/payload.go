package crm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/mail"
	"strings"
	"time"

	"mxdesk/store"
	"mxdesk/transcript"
)

// Payload is the body of every webhook.
type Payload struct {
	Type      string `json:"type"`
	Timestamp string `json:"timestamp"` // RFC 3339: when what caused it happened
	Data      any    `json:"data"`
}

// Common is in every event's data.
type Common struct {
	Session  string `json:"session"`
	TicketID string `json:"ticket_id,omitempty"`
}

// Created is the data of ticket.created.
type Created struct {
	Common
	Queue        string       `json:"queue"`
	Subject      string       `json:"subject"`
	Customer     string       `json:"customer"`
	Agent        string       `json:"agent"`
	FirstComment FirstComment `json:"first_comment"`
}

// FirstComment is the ticket's first comment: who sent and received the
// message that opened the session, and where it stands.
type FirstComment struct {
	SentBy     string `json:"sent_by"`
	ReceivedBy string `json:"received_by"`
	Session    string `json:"session"`
	Agent      string `json:"agent"`
	Queue      string `json:"queue"`
	Subject    string `json:"subject"`
	Text       string `json:"text"` // the six above, one per line
}

// Comment is the data of ticket.comment.
type Comment struct {
	Common
	Kind string `json:"kind"` // "link" or "content"
	Text string `json:"text"`
	URL  string `json:"url,omitempty"` // kind "link"
}

// Attachment is the data of ticket.attachment.
type Attachment struct {
	Common
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Content     []byte `json:"content"` // base64 in JSON
}

// Rated is the data of ticket.rated: the session's rating as it is when
// sent (a later rating replaces it).
type Rated struct {
	Common
	Score int    `json:"score"`
	Scale int    `json:"scale"`
	Queue string `json:"queue"`
	Agent string `json:"agent"` // the session's agent when rated
}

// render builds the body of h from the store as it is now: the ticket ID
// known by then, the thread up to now for content, PDF and metadata. A
// retry sends the same webhook-id with a body rendered again.
func (f *Feed) render(rd store.Reader, h store.Hook) ([]byte, error) {
	data, err := f.data(rd, h)
	if err != nil {
		return nil, fmt.Errorf("rendering %s for session %s: %w", h.Type, h.Session, err)
	}
	return json.Marshal(Payload{Type: h.Type, Timestamp: h.Created.UTC().Format(time.RFC3339), Data: data})
}

// data is the data of h. A link needs only the session and its message;
// the others read the whole thread.
func (f *Feed) data(rd store.Reader, h store.Hook) (any, error) {
	if h.Type == TypeComment && h.Kind == KindLink {
		s, err := rd.Session(h.Session)
		if err != nil {
			return nil, err
		}
		return f.link(rd, Common{Session: h.Session, TicketID: s.TicketID}, h)
	}
	if h.Type == TypeRated {
		return rated(rd, h.Session)
	}
	t, err := transcript.Load(rd, h.Session)
	if err != nil {
		return nil, err
	}
	common := Common{Session: h.Session, TicketID: t.Session.TicketID}
	switch {
	case h.Type == TypeCreated:
		return created(common, t), nil
	case h.Type == TypeComment && h.Kind == KindContent:
		return content(common, t)
	case h.Type == TypeAttachment && h.Kind == KindPDF:
		return pdf(common, t)
	case h.Type == TypeAttachment && h.Kind == KindMetadata:
		return metadata(common, t)
	}
	return nil, fmt.Errorf("unknown CRM event %s/%s", h.Type, h.Kind)
}

func created(common Common, t transcript.Thread) Created {
	s := t.Session
	fc := FirstComment{Session: s.ID, Agent: s.Agent, Queue: s.Queue, Subject: s.Subject}
	if len(t.Messages) > 0 {
		h := header(t.Messages[0].Raw)
		fc.SentBy, fc.ReceivedBy = decoded(h.Get("From")), decoded(h.Get("To"))
	}
	fc.Text = fmt.Sprintf("Sent by: %s\nReceived by: %s\nSession: %s\nAgent: %s\nQueue: %s\nSubject: %s\n",
		fc.SentBy, fc.ReceivedBy, fc.Session, fc.Agent, fc.Queue, fc.Subject)
	return Created{Common: common, Queue: s.Queue, Subject: s.Subject, Customer: s.Customer, Agent: s.Agent, FirstComment: fc}
}

// link posts the signed URL of the message h points to, with its sender
// and subject.
func (f *Feed) link(rd store.Reader, common Common, h store.Hook) (Comment, error) {
	raw, err := rd.Blob(h.Blob)
	if err != nil {
		return Comment{}, fmt.Errorf("message %d: %w", h.Blob, err)
	}
	mh := header(raw)
	text := fmt.Sprintf("Message from %s: %s", decoded(mh.Get("From")), decoded(mh.Get("Subject")))
	return Comment{Common: common, Kind: KindLink, Text: text, URL: f.links.URL(h.Session, h.Blob)}, nil
}

func content(common Common, t transcript.Thread) (Comment, error) {
	text, err := transcript.Text(t)
	return Comment{Common: common, Kind: KindContent, Text: text}, err
}

func pdf(common Common, t transcript.Thread) (Attachment, error) {
	var b bytes.Buffer
	err := transcript.PDFWithTicket(&b, t, t.Session.TicketID)
	return Attachment{Common: common, Filename: t.Session.ID + ".pdf", ContentType: "application/pdf", Content: b.Bytes()}, err
}

func metadata(common Common, t transcript.Thread) (Attachment, error) {
	data, err := transcript.Metadata(t)
	return Attachment{Common: common, Filename: t.Session.ID + ".json", ContentType: "application/json", Content: data}, err
}

// header reads a message's header; a message without one gives an
// empty header.
func header(raw []byte) mail.Header {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return mail.Header{}
	}
	return m.Header
}

var wordDecoder = mime.WordDecoder{}

// decoded is a header value with its RFC 2047 words decoded (as it is
// when they don't decode).
func decoded(v string) string {
	if d, err := wordDecoder.DecodeHeader(v); err == nil {
		v = d
	}
	return strings.TrimSpace(v)
}

// rated is the data of ticket.rated for session.
func rated(rd store.Reader, session string) (Rated, error) {
	s, err := rd.Session(session)
	if err != nil {
		return Rated{}, err
	}
	if s.Rating == nil {
		return Rated{}, fmt.Errorf("session %s has no rating", session)
	}
	r := s.Rating
	return Rated{Common: Common{Session: session, TicketID: s.TicketID}, Score: r.Score, Scale: r.Scale, Queue: r.Queue, Agent: r.Agent}, nil
}
