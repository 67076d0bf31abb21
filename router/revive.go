package router

import (
	"slices"

	"mxdesk/config"
	"mxdesk/store"
)

// reopenable reports whether activity on closed session s reopens it
// rather than starting a new session: [sessions] reopen_window_days
// after it closed (0: never).
func (r *Router) reopenable(s store.Session) bool {
	window := r.config().Sessions.ReopenWindowDays
	return window > 0 && r.now().Sub(s.StatusSince) <= config.Days(window)
}

// reviveForReply gives an agent's reply to closed session s a live
// session (SPEC §4: outbound activity counts as inbound does). Inside the
// reopen window s itself reopens, Active and assigned to the agent (its
// working copies return to their INBOX when it is committed); after it, a
// new session continues s, with its customer, participants and copies.
func (r *Router) reviveForReply(tx store.Tx, a *Agent, s store.Session) (store.Session, error) {
	if r.reopenable(s) {
		s.Agent, s.Parked = a.Login, false
		if err := r.event(tx, s.ID, "assigned", a.Login, "reopened by replying"); err != nil {
			return s, err
		}
		return s, r.setStatus(tx, &s, StatusActive, a.Login, "an agent replied within the reopen window")
	}
	next, err := r.continueSession(tx, a, s)
	if err != nil {
		return next, err
	}
	return next, r.event(tx, s.ID, "continued", a.Login, "a reply after the reopen window started session "+next.ID)
}

// continueSession starts a new session for the agent's reply to closed
// session prev, linked to it (Previous) and assigned to the agent.
func (r *Router) continueSession(tx store.Tx, a *Agent, prev store.Session) (store.Session, error) {
	id, token, err := newSessionIdentity(tx)
	if err != nil {
		return store.Session{}, err
	}
	s := store.Session{
		ID: id, Queue: prev.Queue, Agent: a.Login, Customer: prev.Customer, Subject: prev.Subject,
		Created: r.now(), Token: token, Previous: prev.ID,
		Participants: slices.Clone(prev.Participants), Cc: slices.Clone(prev.Cc), Bcc: slices.Clone(prev.Bcc),
	}
	if err := r.event(tx, id, "created", a.Login, "new session in queue "+s.Queue+", continuing "+prev.ID); err != nil {
		return s, err
	}
	return s, r.setStatus(tx, &s, StatusActive, a.Login, "")
}
