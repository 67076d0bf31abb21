package router

import (
	"errors"
	"slices"

	"mxdesk/store"
)

// howArchived is how match says it found an archived session (SPEC §12):
// what the store keeps of it stands in for the session.
const howArchived = "archived"

// sessionOrArchived reads session id, or what is kept of it once archived
// as a Closed session (archived true); ErrNotFound when neither exists.
func sessionOrArchived(rd store.Reader, id string) (s store.Session, archived bool, err error) {
	s, err = rd.Session(id)
	if !errors.Is(err, store.ErrNotFound) {
		return s, false, err
	}
	a, err := rd.Archived(id)
	if err != nil {
		return store.Session{}, false, err
	}
	return store.Session{
		ID: a.ID, Queue: a.Queue, Customer: a.Customer, Subject: a.Subject, Token: a.Token,
		Participants: slices.Clone(a.Participants), Status: StatusClosed,
	}, true, nil
}

// howOf is how for a live session, howArchived for an archived one.
func howOf(archived bool, how string) string {
	if archived {
		return howArchived
	}
	return how
}

// continueArchived starts a new session for a late reply to an archived
// session: the customer is never refused, and the new session's history
// says where the old one is.
func (r *Router) continueArchived(tx store.Tx, in inbound, queue, archivedID string) (store.Session, string, error) {
	a, err := tx.Archived(archivedID)
	if err != nil {
		return store.Session{}, "", err
	}
	s, err := r.newSession(tx, in, queue, archivedID)
	if err != nil {
		return s, "", err
	}
	return s, "new session after archived " + archivedID, r.event(tx, s.ID, "continued", "customer",
		"continues archived session "+archivedID+" ("+a.Location+"; mxdesk archive restore "+archivedID+" brings it back)")
}
