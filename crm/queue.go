package crm

import (
	"crypto/rand"
	"encoding/base32"
	"slices"

	"mxdesk/config"
	"mxdesk/router"
	"mxdesk/store"
)

// Webhook event types (the wire contract of issue 15).
const (
	TypeCreated    = "ticket.created"
	TypeComment    = "ticket.comment"
	TypeAttachment = "ticket.attachment"
	TypeRated      = "ticket.rated" // the customer rated the session ([queue.rating])
)

// What a comment or an attachment carries (store.Hook.Kind).
const (
	KindLink     = "link"
	KindContent  = "content"
	KindPDF      = "pdf"
	KindMetadata = "metadata"
)

// OnEvent is the router's Options.OnEvent: it queues, in the transaction
// of the session event e, the webhooks e calls for. A message (received,
// replied, forwarded) opens the session's ticket when it has none and
// posts a link to it, plus the content and the PDF with "each_reply"; a
// session becoming Resolved posts the content, the PDF and the metadata
// with "session_end".
func (f *Feed) OnEvent(tx store.Tx, e store.Event) error {
	switch {
	case e.Kind == "received" || e.Kind == "replied" || e.Kind == "forwarded":
		return f.onMessage(tx, e)
	case router.StatusOf(e) == router.StatusResolved:
		return f.onResolved(tx, e)
	case e.Kind == router.EventRated:
		return f.onRated(tx, e)
	}
	return nil
}

// onRated posts the session's rating to its ticket (none without one).
func (f *Feed) onRated(tx store.Tx, e store.Event) error {
	events, err := tx.Events(e.Session)
	if err != nil || !hasTicket(events) {
		return err
	}
	return f.enqueue(tx, e, TypeRated, "", 0)
}

func (f *Feed) onMessage(tx store.Tx, e store.Event) error {
	s, err := tx.Session(e.Session)
	if err != nil || s.Spam {
		return err
	}
	events, err := tx.Events(e.Session)
	if err != nil {
		return err
	}
	if !hasTicket(events) {
		if firstMessage(events) && !f.ticketFor(e.Kind) {
			return nil
		}
		if err := f.openTicket(tx, e); err != nil {
			return err
		}
	}
	blob, err := latestBlob(tx, e.Session)
	if err != nil {
		return err
	}
	if err := f.enqueue(tx, e, TypeComment, KindLink, blob); err != nil {
		return err
	}
	if e.Kind == "received" {
		return nil
	}
	return f.enqueueRenders(tx, e, config.CRMEachReply, false)
}

func (f *Feed) onResolved(tx store.Tx, e store.Event) error {
	events, err := tx.Events(e.Session)
	if err != nil || !hasTicket(events) {
		return err
	}
	return f.enqueueRenders(tx, e, config.CRMSessionEnd, f.cfg.Metadata)
}

// enqueueRenders queues the content comment and the PDF whose mode is
// mode, then the metadata file when metadata is set.
func (f *Feed) enqueueRenders(tx store.Tx, e store.Event, mode string, metadata bool) error {
	if f.cfg.Content == mode {
		if err := f.enqueue(tx, e, TypeComment, KindContent, 0); err != nil {
			return err
		}
	}
	if f.cfg.PDF == mode {
		if err := f.enqueue(tx, e, TypeAttachment, KindPDF, 0); err != nil {
			return err
		}
	}
	if metadata {
		return f.enqueue(tx, e, TypeAttachment, KindMetadata, 0)
	}
	return nil
}

// ticketFor says whether the first message of a session, of event kind
// kind, opens a ticket: crm.inbound for a customer's, crm.outbound for an
// agent's.
func (f *Feed) ticketFor(kind string) bool {
	if kind == "received" {
		return *f.cfg.Inbound
	}
	return *f.cfg.Outbound
}

// openTicket queues ticket.created and records that it did, so that the
// session's later messages go to the same ticket.
func (f *Feed) openTicket(tx store.Tx, e store.Event) error {
	if err := f.enqueue(tx, e, TypeCreated, "", 0); err != nil {
		return err
	}
	return tx.AddEvent(store.Event{Session: e.Session, Time: e.Time, Kind: router.EventTicket, Actor: "system", Detail: "ticket requested from the CRM"})
}

func (f *Feed) enqueue(tx store.Tx, e store.Event, typ, kind string, blob store.BlobID) error {
	_, err := tx.EnqueueHook(store.Hook{
		WebhookID: newWebhookID(), Session: e.Session, Type: typ, Kind: kind, Blob: blob,
		Created: e.Time, Since: e.Time, NextAttempt: e.Time,
	})
	return err
}

func hasTicket(events []store.Event) bool {
	return slices.ContainsFunc(events, func(e store.Event) bool { return e.Kind == router.EventTicket })
}

// firstMessage says whether the session's events hold one message.
func firstMessage(events []store.Event) bool {
	n := 0
	for _, e := range events {
		if e.Kind == "received" || e.Kind == "replied" || e.Kind == "forwarded" {
			n++
		}
	}
	return n == 1
}

// latestBlob is the body of the session's newest message (bodies are
// numbered in the order they are stored).
func latestBlob(rd store.Reader, session string) (store.BlobID, error) {
	msgs, err := rd.SessionMessages(session)
	var latest store.BlobID
	for _, m := range msgs {
		latest = max(latest, m.Blob)
	}
	return latest, err
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newWebhookID is a webhook-id: "msg_" and 16 random bytes, unique for
// ever, stored with the event so every attempt sends the same.
func newWebhookID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return "msg_" + idEncoding.EncodeToString(b)
}
