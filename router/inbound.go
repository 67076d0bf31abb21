package router

import (
	"context"
)

// Envelope is the SMTP envelope of one inbound message.
type Envelope struct {
	From       string   // MAIL FROM, "" for the null sender
	To         []string // accepted RCPT TO addresses
	RemoteAddr string
	Helo       string
	TLS        bool
}

// Delivered says where an accepted message went.
type Delivered struct {
	Session   string
	MessageID string
}

var (
	// ErrUnknownRecipient: no queue has this address.
	ErrUnknownRecipient = errorf(KindNotFound, "no such mailbox")
	// ErrSendOnly: a send-only address accepts no mail.
	ErrSendOnly = errorf(KindForbidden, "this address does not accept mail")
)

// CheckRecipient tells whether mail to addr is accepted (ErrUnknownRecipient,
// ErrSendOnly otherwise).
func (r *Router) CheckRecipient(addr string) error { panic("TODO") }

// Deliver threads raw into a session, stamps it (X-Mxdesk-Session, a
// Message-ID when it has none) and commits it durably to the session's
// folder. When it returns nil the message is on disk.
func (r *Router) Deliver(ctx context.Context, env Envelope, raw []byte) (Delivered, error) {
	panic("TODO")
}
