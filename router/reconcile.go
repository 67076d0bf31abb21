package router

import (
	"context"
	"fmt"
	"strings"
	"time"

	"mxdesk/config"
	"mxdesk/store"
)

// An admin deletes a resource (a reload, or a configuration edited while
// the server was down): the sessions it held must not stay where nobody
// works them. reconcile moves them, at once:
//
//   - a session of a removed queue, unless closed, moves to the fallback
//     queue (fallback_queue, else the first queue);
//   - an open session (not resolved) whose agent was removed, or no
//     longer serves its queue, goes back to its queue, waiting
//     (auto-assigned to someone else if the queue auto-assigns).
//
// Each gets an event and an internal notice in its thread. A resolved
// session keeps its status and closes on its own (without an agent it
// waits for nobody: commit). Closed sessions stay as they are, their
// history in All/<queue> (the archive of a removed queue is kept); a
// customer reply reopens them in a configured queue (leaveRemovedQueue).

// reconcile applies the configuration in force to every session that
// needs it and returns how many it moved. New runs it once, Reload after
// each change.
func (r *Router) reconcile(ctx context.Context) (int, error) {
	cfg := r.config()
	needsMove := func(s store.Session) bool { return misplacement(cfg, s) != (misplaced{}) }
	return r.fixSessions(ctx, needsMove, r.rehome)
}

// misplaced is what the configuration no longer allows of a session.
type misplaced struct {
	queueGone bool   // its queue was removed
	agentGone string // why its agent can't keep it ("" : the agent may)
}

// misplacement tells what is wrong with s under cfg, after a move to the
// fallback queue if its queue was removed.
func misplacement(cfg *config.Config, s store.Session) misplaced {
	var m misplaced
	if s.Status == StatusClosed {
		return m
	}
	queue := s.Queue
	if cfg.QueueByName(queue) == nil {
		f := cfg.Fallback()
		if f == nil {
			return m // no queue at all: config validation prevents it
		}
		m.queueGone, queue = true, f.Name
	}
	if s.Agent == "" || s.Status == StatusResolved {
		return m
	}
	ac, ok := cfg.AgentByLogin(s.Agent)
	switch {
	case !ok:
		m.agentGone = "agent " + s.Agent + " removed from the configuration"
	case !cfg.Serves(ac, queue):
		m.agentGone = "agent " + s.Agent + " no longer serves queue " + queue
	}
	return m
}

// rehome moves session id where the configuration in force wants it,
// with its events and notice.
func (r *Router) rehome(tx store.Tx, id string) error {
	s, err := tx.Session(id)
	if err != nil {
		return err
	}
	cfg := r.config()
	m := misplacement(cfg, s)
	if m == (misplaced{}) {
		return nil // changed since it was listed
	}
	old := s
	var said []string
	if m.queueGone {
		f := cfg.Fallback()
		why := fmt.Sprintf("queue %s removed from the configuration: moved to queue %s", s.Queue, f.Name)
		if err := r.event(tx, s.ID, "transferred", "system", why); err != nil {
			return err
		}
		s.RemovedQueue, s.Queue = s.Queue, f.Name
		said = append(said, "Queue "+old.Queue+" was removed from the configuration: this session moved to queue "+f.Name+".")
	}
	if m.agentGone != "" {
		if err := r.unassign(tx, &s, m.agentGone); err != nil {
			return err
		}
		said = append(said, capitalize(m.agentGone)+": this session went back to queue "+s.Queue+".")
	}
	if s.Agent == "" {
		why := m.agentGone
		if why == "" {
			why = "queue " + old.Queue + " removed"
		}
		if _, err := r.autoAssign(tx, &s, why); err != nil {
			return err
		}
	}
	if s.Agent != "" && s.Agent != old.Agent {
		said = append(said, "It is now assigned to "+s.Agent+".")
	}
	subject := "Back in queue " + s.Queue
	if m.queueGone {
		subject = "Moved to queue " + s.Queue
	}
	notice := r.noticeMessage(s, r.noticeTo(s), subject, strings.Join(said, "\r\n")+"\r\n")
	if _, err := r.fileInSession(tx, old, &s, notice, nil); err != nil {
		return err
	}
	r.log.Info("session moved: its queue or agent left the configuration", "session", s.ID,
		"from_queue", old.Queue, "queue", s.Queue, "from_agent", old.Agent, "agent", s.Agent)
	return nil
}

// unassign takes s from its agent back to its queue, waiting: Unopened
// (Reopened stays Reopened: the customer's reply is still unread).
func (r *Router) unassign(tx store.Tx, s *store.Session, why string) error {
	if err := r.event(tx, s.ID, "unassigned", "system", why); err != nil {
		return err
	}
	s.Agent, s.Parked, s.PrevOffer = "", false, ""
	s.OfferedAt, s.TransferredAt = time.Time{}, time.Time{}
	if s.Status == StatusReopened {
		return nil
	}
	return r.setStatus(tx, s, StatusUnopened, "system", "waiting in queue "+s.Queue+": "+why)
}

// noticeTo is whom a session's notice is addressed to: its agent, else
// its queue.
func (r *Router) noticeTo(s store.Session) string {
	if s.Agent != "" {
		return s.Agent
	}
	if q := r.config().QueueByName(s.Queue); q != nil {
		return q.Addresses[0]
	}
	return s.Queue
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
