package api

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message"
	gomail "github.com/emersion/go-message/mail"

	"mxdesk/config"
	"mxdesk/router"
	"mxdesk/store"
)

// RequestAdd is the body of POST /api/v1/requests: queue an item
// identified by URI (a CRM case, a web form) as if it came by mail.
type RequestAdd struct {
	// From is the originator: an email address (agents' replies go to it)
	// or a name (the request has no email customer: replies are refused).
	From    string `json:"from"`
	To      string `json:"to"` // a queue name or one of its addresses
	Subject string `json:"subject"`
	URI     string `json:"uri"`
	Text    string `json:"text,omitempty"`
}

// RequestAdded is the answer: 201 for a new session, 200 for the session
// an earlier request with the same URI made.
type RequestAdded struct {
	Session   string `json:"session"`
	Queue     string `json:"queue"`
	MessageID string `json:"message_id"`
	Created   bool   `json:"created"`
}

// Bounds of a request's fields.
const (
	maxURI     = 900 // with the field name, a header line within RFC 5322's 998
	maxSubject = 500
	maxFrom    = 320
	maxText    = 64 << 10
)

// errRequestKnown aborts a delivery whose URI another request queued
// meanwhile.
var errRequestKnown = errors.New("request already queued")

// requestAdd is POST /api/v1/requests (RequestAdd).
func (a *API) requestAdd(w http.ResponseWriter, req *http.Request, c *call) {
	var body RequestAdd
	if !decode(w, req, &body) {
		return
	}
	q, ok := a.checkRequest(w, body)
	if !ok {
		return
	}
	d, known, err := a.fileRequest(req, body, q)
	switch {
	case known != nil:
		writeJSON(w, http.StatusOK, *known)
		return
	case err != nil:
		a.routerError(w, req, err)
		return
	}
	a.log.Info("request queued", "session", d.Session, "queue", d.Queue, "uri", body.URI, "actor", c.agent.Login)
	w.Header().Set("Location", Prefix+"sessions/"+d.Session)
	writeJSON(w, http.StatusCreated, RequestAdded{Session: d.Session, Queue: d.Queue, MessageID: d.MessageID, Created: true})
}

// maxRequestTries bounds the deliveries of one request: a delivery is
// tried again when another request with the same URI was filed in the
// same store batch, not yet committed when its own failed.
const maxRequestTries = 3

// fileRequest delivers the request's mail, unless a request with its URI
// made a session already: known is then that session.
func (a *API) fileRequest(req *http.Request, body RequestAdd, q *config.Queue) (d router.Delivered, known *RequestAdded, err error) {
	for range maxRequestTries {
		if known, err = a.knownRequest(body.URI); known != nil || err != nil {
			return d, known, err
		}
		msg := a.requestMail(body, q)
		env := router.Envelope{From: msg.sender, To: []string{q.Addresses[0]}, RemoteAddr: req.RemoteAddr, Helo: "api", RequestURI: body.URI,
			InTx: func(tx store.Tx) error { return recordRequest(tx, body.URI, msg.id) }}
		d, err = a.r.Deliver(req.Context(), env, msg.raw)
		if !errors.Is(err, errRequestKnown) {
			return d, nil, err
		}
	}
	return d, nil, fmt.Errorf("request %s: filed by another request that did not commit", body.URI)
}

// recordRequest indexes the request's URI in its delivery's transaction,
// or aborts it when another request has the URI.
func recordRequest(tx store.Tx, uri, messageID string) error {
	if _, err := tx.RequestMessage(uri); err == nil {
		return errRequestKnown
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return tx.PutRequest(uri, messageID)
}

// knownRequest finds the session an earlier request with uri made: the
// answer to give, or nil.
func (a *API) knownRequest(uri string) (*RequestAdded, error) {
	var out RequestAdded
	err := a.r.View(func(rd store.Reader) error {
		mid, err := rd.RequestMessage(uri)
		if err != nil {
			return err
		}
		out.MessageID = mid
		if out.Session, err = rd.SessionByMessageID(mid); err != nil {
			return err
		}
		s, err := rd.Session(out.Session)
		out.Queue = s.Queue // an archived session has none to show
		if errors.Is(err, store.ErrNotFound) {
			err = nil
		}
		return err
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	}
	return &out, nil
}

// checkRequest validates the fields, answering 422 naming the first bad
// one, and finds the queue.
func (a *API) checkRequest(w http.ResponseWriter, b RequestAdd) (*config.Queue, bool) {
	cfg := a.r.Config()
	q := cfg.QueueByName(b.To)
	if q == nil {
		q, _ = cfg.QueueByAddress(config.Canonical(b.To))
	}
	u, uriErr := url.Parse(b.URI)
	var field, detail string
	switch {
	case strings.TrimSpace(b.From) == "" || len(b.From) > maxFrom || hasControl(b.From):
		field, detail = "from", fmt.Sprintf("required: an email address or a name, up to %d bytes on one line", maxFrom)
	case q == nil || len(q.Addresses) == 0:
		field, detail = "to", fmt.Sprintf("%q is no queue's name or address", b.To)
	case strings.TrimSpace(b.Subject) == "" || len(b.Subject) > maxSubject || hasControl(b.Subject):
		field, detail = "subject", fmt.Sprintf("required, up to %d bytes on one line", maxSubject)
	case b.URI == "" || len(b.URI) > maxURI || uriErr != nil || u.Scheme == "" || hasControl(b.URI):
		field, detail = "uri", fmt.Sprintf("required: an absolute URI (scheme:...) up to %d bytes", maxURI)
	case len(b.Text) > maxText || !utf8.ValidString(b.Text):
		field, detail = "text", fmt.Sprintf("up to %d bytes of UTF-8", maxText)
	}
	if field != "" {
		invalidField(w, field, detail)
		return nil, false
	}
	return q, true
}

func hasControl(s string) bool {
	return !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// requestMessage is the generated mail of a request.
type requestMessage struct {
	raw    []byte
	id     string // Message-ID without brackets
	sender string // envelope sender
}

// requestMail writes the mail that shows the item: From the originator
// (or the queue's no-reply placeholder with the originator's name), a
// text and an HTML part with the URI as a link, and the URI in
// RequestURIHeader.
func (a *API) requestMail(b RequestAdd, q *config.Queue) requestMessage {
	cfg := a.r.Config()
	from, err := mail.ParseAddress(b.From)
	if err != nil {
		from = &mail.Address{Name: b.From, Address: router.RequestNoReplyLocal + "@" + cfg.QueueDomain(q.Name)}
	}
	id := "request." + randomHex(12) + "@" + cfg.Hostname
	var h gomail.Header
	h.SetAddressList("From", []*gomail.Address{{Name: from.Name, Address: from.Address}})
	h.SetAddressList("To", []*gomail.Address{{Name: q.Name, Address: q.Addresses[0]}})
	h.SetSubject(b.Subject)
	h.SetDate(a.r.Now())
	h.SetMessageID(id)
	h.Set("MIME-Version", "1.0")
	h.Set("Content-Type", "multipart/alternative; boundary="+randomHex(16))
	var buf bytes.Buffer
	if err := writeRequestBody(&buf, h.Header, b); err != nil {
		panic(err) // writing to a bytes.Buffer with valid headers does not fail
	}
	return requestMessage{raw: buf.Bytes(), id: id, sender: from.Address}
}

// writeRequestBody writes the message: header h, a text and an HTML
// alternative.
func writeRequestBody(buf *bytes.Buffer, h message.Header, b RequestAdd) error {
	mw, err := message.CreateWriter(buf, h)
	if err != nil {
		return err
	}
	parts := []struct{ typ, body string }{{"text/plain", requestText(b)}, {"text/html", requestHTML(b)}}
	for _, p := range parts {
		var ph message.Header
		ph.Set("Content-Type", p.typ+"; charset=utf-8")
		ph.Set("Content-Transfer-Encoding", "quoted-printable")
		pw, err := mw.CreatePart(ph)
		if err != nil {
			return err
		}
		if _, err := pw.Write([]byte(p.body)); err != nil {
			return err
		}
		if err := pw.Close(); err != nil {
			return err
		}
	}
	return mw.Close()
}

func requestText(b RequestAdd) string {
	s := fmt.Sprintf("%s\r\n\r\nFrom: %s\r\nLink: %s\r\n", b.Subject, b.From, b.URI)
	if b.Text != "" {
		s += "\r\n" + strings.ReplaceAll(strings.ReplaceAll(b.Text, "\r\n", "\n"), "\n", "\r\n") + "\r\n"
	}
	return s
}

// requestHTML shows the item; the URI is a link only when it is http(s),
// never a javascript: or data: one.
func requestHTML(b RequestAdd) string {
	link := html.EscapeString(b.URI)
	if u, err := url.Parse(b.URI); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		link = `<a href="` + html.EscapeString(b.URI) + `">` + link + `</a>`
	}
	var s strings.Builder
	fmt.Fprintf(&s, "<!DOCTYPE html>\r\n<html><body>\r\n<h3>%s</h3>\r\n<p>From: %s<br>\r\nLink: %s</p>\r\n",
		html.EscapeString(b.Subject), html.EscapeString(b.From), link)
	if b.Text != "" {
		fmt.Fprintf(&s, "<pre>%s</pre>\r\n", html.EscapeString(b.Text))
	}
	s.WriteString("</body></html>\r\n")
	return s.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}
