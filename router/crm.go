package router

import (
	"context"
	"errors"
	"strings"
	"time"

	"mxdesk/store"
)

// This file is the router's side of the CRM feed (SPEC §11): the crm
// package queues webhooks through Options.OnEvent and reports their
// outcome here, so the outbox and the sessions change in the router's
// transactions.

// EventTicket is the event kind recorded when the CRM feed queues a
// session's ticket.created, and when the CRM answers with its ticket ID.
const EventTicket = "crm-ticket"

// StatusOf is the status a "status" event changed the session to, or "".
// It reads the detail setStatus writes ("Active → Resolved: why").
func StatusOf(e store.Event) string {
	if e.Kind != "status" {
		return ""
	}
	detail, _, _ := strings.Cut(e.Detail, ":")
	if _, after, ok := strings.Cut(detail, "→"); ok {
		detail = after
	}
	return strings.TrimSpace(detail)
}

// ticketID is what @{ticket_id} shows: the CRM's ticket ID once it
// answered, else the session ID.
func ticketID(s store.Session) string {
	if s.TicketID != "" {
		return s.TicketID
	}
	return s.ID
}

// HookDelivered removes CRM event id from the outbox; a ticketID the CRM
// answered with becomes the session's (recorded as an event) in the same
// transaction.
func (r *Router) HookDelivered(ctx context.Context, id uint64, ticketID string) error {
	return r.st.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) error {
		h, err := tx.Hook(id)
		if err != nil {
			return err
		}
		if err := tx.RemoveHook(id); err != nil {
			return err
		}
		return r.setTicketID(tx, h.Session, ticketID)
	})
}

func (r *Router) setTicketID(tx store.Tx, session, ticketID string) error {
	s, err := tx.Session(session)
	if err != nil || ticketID == "" || s.TicketID == ticketID {
		return err
	}
	s.TicketID = ticketID
	if err := tx.PutSession(s); err != nil {
		return err
	}
	return tx.AddEvent(store.Event{Session: session, Time: r.now(), Kind: EventTicket, Actor: "system", Detail: "CRM ticket " + ticketID})
}

// HookFailed stores the outcome of a failed attempt: h with its
// NextAttempt, Attempts, LastError and Dead set.
func (r *Router) HookFailed(ctx context.Context, h store.Hook) error {
	return r.st.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) error { return tx.UpdateHook(h) })
}

// RetryHook sends CRM event id again now (a dead letter goes back into
// its session's line), with crm.retry_for counted from now.
func (r *Router) RetryHook(ctx context.Context, id uint64) (store.Hook, error) {
	var h store.Hook
	err := r.st.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) error {
		var err error
		if h, err = r.hook(tx, id); err != nil {
			return err
		}
		now := r.now()
		h.Dead, h.Attempts, h.Since, h.NextAttempt = false, 0, now, now
		return tx.UpdateHook(h)
	})
	return h, err
}

// DropHook removes CRM event id from the outbox unsent.
func (r *Router) DropHook(ctx context.Context, id uint64) (store.Hook, error) {
	var h store.Hook
	err := r.st.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) error {
		var err error
		if h, err = r.hook(tx, id); err != nil {
			return err
		}
		return tx.RemoveHook(id)
	})
	return h, err
}

func (r *Router) hook(rd store.Reader, id uint64) (store.Hook, error) {
	h, err := rd.Hook(id)
	if errors.Is(err, store.ErrNotFound) {
		return h, errorf(KindNotFound, "no CRM event %d in the outbox", id)
	}
	return h, err
}

// Hooks lists up to limit (0: all) CRM events of the outbox, dead letters
// included, oldest first.
func (r *Router) Hooks(limit int) ([]store.Hook, error) {
	var list []store.Hook
	err := r.st.View(func(rd store.Reader) error {
		var err error
		list, err = rd.Hooks(limit)
		return err
	})
	return list, err
}

// HookBacklog counts the CRM events waiting in the outbox (dead letters
// included) and says when the oldest was created (zero: none).
func (r *Router) HookBacklog() (n int, oldest time.Time, err error) {
	err = r.st.View(func(rd store.Reader) error {
		list, err := rd.Hooks(0)
		for _, h := range list {
			if oldest.IsZero() || h.Created.Before(oldest) {
				oldest = h.Created
			}
		}
		n = len(list)
		return err
	})
	return n, oldest, err
}
