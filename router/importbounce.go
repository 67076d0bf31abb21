package router

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/mail"
	"strings"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"

	"mxdesk/store"
)

// A reply sent through an [[account]]'s SMTP has the account's address
// as its envelope sender, so its bounce comes back into the account's
// mailbox, and through the import. Such a delivery status notification
// (RFC 3464) is filed as the bounce of the reply, as if the delivery
// queue had got it, not as a customer's new session.

// dsnReport is what a delivery status notification says.
type dsnReport struct {
	original string   // the Message-ID of the message it returns, without brackets
	failed   []string // the recipients with Action: failed
	reason   string   // the first failure's diagnostic, else its status
}

// maxDSNStatusBytes bounds the message/delivery-status part read.
const maxDSNStatusBytes = 64 << 10

// parseDSN reads raw as a delivery status notification: multipart/report
// with report-type=delivery-status (Postfix, Gmail, Microsoft 365 and
// mxdesk itself send that shape), a failed recipient in its
// message/delivery-status part, and the original's Message-ID in its
// message/rfc822 or text/rfc822-headers part (else in the report's
// In-Reply-To). ok is false for anything else.
func parseDSN(raw []byte) (rep dsnReport, ok bool) {
	e, err := message.Read(bytes.NewReader(raw))
	if e == nil || (err != nil && !message.IsUnknownCharset(err)) {
		return rep, false
	}
	mt, params, _ := e.Header.ContentType()
	if mt != "multipart/report" || !strings.EqualFold(params["report-type"], "delivery-status") {
		return rep, false
	}
	e.Walk(func(_ []int, part *message.Entity, err error) error {
		if err != nil {
			return nil
		}
		switch mt, _, _ := part.Header.ContentType(); mt {
		case "message/delivery-status", "message/global-delivery-status":
			rep.readStatus(io.LimitReader(part.Body, maxDSNStatusBytes))
		case "message/rfc822", "text/rfc822-headers", "message/global", "message/global-headers":
			if rep.original == "" {
				rep.original = readMessageID(part.Body)
			}
		}
		return nil
	})
	if rep.original == "" {
		rep.original = strings.Trim(strings.TrimSpace(e.Header.Get("In-Reply-To")), "<>")
	}
	return rep, rep.original != "" && len(rep.failed) > 0
}

// readStatus reads the fields of a message/delivery-status part (RFC 3464
// 2.1): a group for the message, then one per recipient, separated by
// blank lines.
func (rep *dsnReport) readStatus(r io.Reader) {
	br := bufio.NewReader(r)
	for {
		h, err := textproto.ReadHeader(br)
		if h.Len() > 0 && strings.EqualFold(strings.TrimSpace(h.Get("Action")), "failed") {
			rep.addFailed(h)
		}
		if err != nil {
			return
		}
		if _, err := br.Peek(1); err != nil {
			return
		}
	}
}

// addFailed records a failed recipient group: its Final-Recipient
// ("rfc822; addr") and why.
func (rep *dsnReport) addFailed(h textproto.Header) {
	_, addr, _ := strings.Cut(h.Get("Final-Recipient"), ";")
	addr = strings.Trim(strings.TrimSpace(addr), "<>")
	if addr == "" {
		return
	}
	rep.failed = append(rep.failed, addr)
	if rep.reason != "" {
		return
	}
	_, diag, _ := strings.Cut(h.Get("Diagnostic-Code"), ";")
	if rep.reason = strings.Join(strings.Fields(diag), " "); rep.reason == "" {
		rep.reason = "status " + strings.TrimSpace(h.Get("Status"))
	}
}

// readMessageID is the Message-ID of the header section r starts with.
func readMessageID(r io.Reader) string {
	h, err := textproto.ReadHeader(bufio.NewReader(io.LimitReader(r, maxDSNStatusBytes)))
	if err != nil && h.Len() == 0 {
		return ""
	}
	return strings.Trim(strings.TrimSpace(h.Get("Message-Id")), "<>")
}

// importedBounce files an imported DSN about one of our messages as its
// bounce (bounceInSession) and reports whether it did: the message it
// names must be in a session, and written by mxdesk (From one of our
// addresses or an account's). Anything else is ordinary mail.
func (r *Router) importedBounce(tx store.Tx, rep dsnReport, dsn []byte) (Delivered, bool, error) {
	session, err := tx.SessionByMessageID(rep.original)
	if errors.Is(err, store.ErrNotFound) {
		return Delivered{}, false, nil
	}
	if err != nil {
		return Delivered{}, false, err
	}
	_, sent, found, err := sessionMessage(tx, session, rep.original)
	if err != nil || !found {
		return Delivered{}, false, err
	}
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(sent)))
	if err != nil || !r.sentByUs(h) {
		return Delivered{}, false, nil
	}
	auto := strings.TrimSpace(h.Get("Auto-Submitted"))
	automatic := auto != "" && !strings.EqualFold(auto, "no")
	if err := r.bounceInSession(tx, session, automatic, dsn, rep.failed, rep.reason); err != nil {
		return Delivered{}, false, err
	}
	id := headerMessageID(dsn)
	if automatic && id != "" {
		// not filed: its Message-ID still marks it imported
		if err := tx.IndexMessageID(id, session); err != nil {
			return Delivered{}, false, err
		}
	}
	s, err := tx.Session(session)
	return Delivered{Session: session, MessageID: id, Queue: s.Queue, Bounced: true}, true, err
}

// sentByUs tells whether a stored message's From is one of mxdesk's
// addresses: a queue's, a send-only one or an account's.
func (r *Router) sentByUs(h textproto.Header) bool {
	from, err := mail.ParseAddress(h.Get("From"))
	if err != nil {
		return false
	}
	if r.isOurs(from.Address) {
		return true
	}
	for _, a := range r.config().Account {
		if strings.EqualFold(a.Address, from.Address) {
			return true
		}
	}
	return false
}
