package router

import (
	"context"
	"strings"

	"mxdesk/store"
)

// Submitted says what Submit did with an agent's message.
type Submitted struct {
	Session   string
	MessageID string
	// Action is "reply" (to a session), "new" (a new outbound session),
	// "note" (an internal note), "transfer" (a forward to a queue or
	// agent) or "held" (a stale reply, not sent).
	Action string
	Queued int // recipients queued for delivery
}

// CheckSubmitRecipient tells whether an authenticated agent may send to
// addr: anywhere outside our domains; inside them only to a queue, a
// session's reply or note address, or an agent's login.
func (r *Router) CheckSubmitRecipient(addr string) error {
	addr = strings.ToLower(strings.TrimSpace(addr))
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return errorf(KindInvalid, "%q is not an address", addr)
	}
	if !r.config().IsLocalDomain(addr[at+1:]) {
		return nil
	}
	if _, ok := r.config().AgentByLogin(addr); ok {
		return nil
	}
	return r.st.View(func(rd store.Reader) error {
		_, _, err := r.resolveSubmitRecipient(rd, addr)
		return err
	})
}

// Submit takes a message an agent sent through the submission port
// (SPEC §7): it finds its session, rewrites it (From, Reply-To, subject
// tag, signature, Cc), stores it in the session and the agent's Sent, and
// queues it for delivery, all in one durable transaction. Forwards to a
// queue or agent are transfers and notes are internal: nothing of those
// leaves. Errors of KindInvalid, KindTooBig, KindForbidden and
// KindNotFound are the sender's (5xx); others are temporary.
func (r *Router) Submit(ctx context.Context, a *Agent, env Envelope, raw []byte) (Submitted, error) {
	return Submitted{}, errorf(KindInvalid, "not implemented yet")
}

// Bounce files dsn, a delivery status notification about ob built by the
// delivery worker, into ob's session for its agent (threaded, unread) and
// records which recipients failed and why.
func (r *Router) Bounce(ctx context.Context, ob store.Outbound, dsn []byte, failed []string, reason string) error {
	return errorf(KindInvalid, "not implemented yet")
}

// resolveSubmitRecipient is resolveRecipient for the submission side,
// where note addresses (queue+note-<token>) count too. It returns the
// queue and session of addr.
func (r *Router) resolveSubmitRecipient(rd store.Reader, addr string) (queue, session string, err error) {
	at := strings.LastIndexByte(addr, '@')
	if base, tag, ok := strings.Cut(addr[:at], "+"); ok && strings.HasPrefix(tag, notePrefix) {
		return r.resolveRecipient(rd, base+"+"+strings.TrimPrefix(tag, notePrefix)+addr[at:])
	}
	return r.resolveRecipient(rd, addr)
}

// notePrefix marks a session's note address: support+note-<token>@...
const notePrefix = "note-"
