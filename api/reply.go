package api

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/emersion/go-message/mail"

	"mxdesk/router"
	"mxdesk/store"
)

// Reply is the body of POST /api/v1/sessions/{id}/replies: a text reply
// to the session's customer, sent as the queue.
type Reply struct {
	Text string `json:"text"`
}

// ReplySent is the answer: the reply's Message-ID and how many recipients
// it was queued for.
type ReplySent struct {
	Session   string `json:"session"`
	MessageID string `json:"message_id"`
	Queued    int    `json:"queued"`
}

func (a *API) replyRoutes(mux *http.ServeMux) {
	a.handle(mux, "POST /sessions/{id}/replies", router.RoleSupervisor, a.reply)
}

// reply is POST /api/v1/sessions/{id}/replies: the message an agent's
// mail client would send (To the customer, In-Reply-To the latest
// message, the session's tag in the subject) goes through the submission
// path: CheckSubmitRecipient as at RCPT, then router.Submit, which
// rewrites it as the queue's, files it and queues it.
func (a *API) reply(w http.ResponseWriter, req *http.Request, c *call) {
	var body Reply
	if !decode(w, req, &body) {
		return
	}
	if strings.TrimSpace(body.Text) == "" || len(body.Text) > maxText {
		invalidField(w, "text", fmt.Sprintf("required, up to %d bytes", maxText))
		return
	}
	var s store.Session
	err := a.r.View(func(rd store.Reader) (err error) {
		s, err = rd.Session(req.PathValue("id"))
		return err
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		problem(w, http.StatusNotFound, "no session "+req.PathValue("id"))
		return
	case err != nil:
		a.internalError(w, req, err)
		return
	}
	if err := a.r.CheckSubmitRecipient(s.Customer); err != nil {
		a.actionError(w, req, "text", err)
		return
	}
	raw := a.replyMessage(c, s, body.Text)
	env := router.Envelope{From: c.agent.Login, To: []string{s.Customer}, RemoteAddr: req.RemoteAddr, Helo: "api"}
	res, err := a.r.Submit(req.Context(), c.agent, env, raw)
	switch {
	case err != nil:
		a.actionError(w, req, "text", err)
		return
	case res.Held != "":
		problem(w, http.StatusConflict, res.Held)
		return
	}
	a.log.Info("session reply", "session", res.Session, "queued", res.Queued, "actor", c.agent.Login, "via", "API")
	writeJSON(w, http.StatusOK, ReplySent{Session: res.Session, MessageID: res.MessageID, Queued: res.Queued})
}

// replyMessage writes the reply as a mail client would, from the queue's
// address (the token's name as the display name).
func (a *API) replyMessage(c *call, s store.Session, text string) []byte {
	cfg := a.r.Config()
	messageID := "api." + randomHex(12) + "@" + cfg.Hostname
	var b bytes.Buffer
	from := mail.Address{Name: c.agent.Name, Address: s.Queue}
	if q := cfg.QueueByName(s.Queue); q != nil && len(q.Addresses) > 0 {
		from.Address = q.Addresses[0]
	}
	fmt.Fprintf(&b, "From: %s\r\nTo: <%s>\r\n", from.String(), s.Customer)
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", "Re: "+s.Subject+" ["+s.ID+"]"))
	fmt.Fprintf(&b, "Date: %s\r\nMessage-ID: <%s>\r\n", a.r.Now().Format("Mon, 02 Jan 2006 15:04:05 -0700"), messageID)
	if s.LastInboundID != "" {
		fmt.Fprintf(&b, "In-Reply-To: <%s>\r\nReferences: <%s>\r\n", s.LastInboundID, s.LastInboundID)
	}
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	for _, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		b.WriteString(line + "\r\n")
	}
	return b.Bytes()
}
