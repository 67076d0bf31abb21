package router

import (
	"fmt"
	"time"

	"mxdesk/store"
)

// Handling time (seed 003): a session is handled from the moment its
// agent picks it up (opens it: status Active with an agent) until it is
// resolved. Each such period is an event ("handled"), adds to the
// session's HandlingTime and to its agent's totals (AgentState), and is
// observed by mxdesk_session_handling_seconds. A session reopened and
// picked up again counts a second period.

// noteHandling, from commit, starts or ends a handling period of s.
func (r *Router) noteHandling(tx store.Tx, old store.Session, s *store.Session, now time.Time) error {
	switch {
	case s.Status == StatusActive && s.Agent != "" && s.PickedUpAt.IsZero():
		s.PickedUpAt = now
	case s.Status == StatusResolved && old.Status != StatusResolved && !s.PickedUpAt.IsZero():
		return r.endHandling(tx, s, now)
	case s.Agent == "" || s.Status == StatusClosed:
		s.PickedUpAt = time.Time{} // back in the queue, or closed unresolved: not handled
	}
	return nil
}

// endHandling closes the handling period of s, resolved now.
func (r *Router) endHandling(tx store.Tx, s *store.Session, now time.Time) error {
	took := max(now.Sub(s.PickedUpAt), 0)
	s.HandlingTime += took
	s.PickedUpAt = time.Time{}
	agent := s.Agent
	if agent != "" {
		st, err := tx.AgentState(agent)
		if err != nil {
			return err
		}
		st.Handled++
		st.HandlingTime += took
		if err := tx.PutAgentState(st); err != nil {
			return err
		}
	}
	note(tx, s.ID, func(o *observation) {
		o.queue, o.handled, o.handling = s.Queue, true, took
	})
	return r.event(tx, s.ID, "handled", agent, fmt.Sprintf("picked up and resolved in %s", took.Round(time.Second)))
}
