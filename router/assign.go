package router

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"mxdesk/config"
	"mxdesk/store"
)

// pickAgent chooses who gets an auto-assigned session of queue q now
// (SPEC §6): among the eligible agents (eligibleAgents), the first by the
// queue's strategy (strategy.go). ok is false when nobody can take it, or
// the queue is closed.
func (r *Router) pickAgent(rd store.Reader, q *config.Queue, now time.Time, exclude string) (string, bool, error) {
	cands, err := r.eligibleAgents(rd, q, now, exclude)
	if err != nil || len(cands) == 0 {
		return "", false, err
	}
	login, err := r.byStrategy(rd, q, cands)
	return login, login != "", err
}

// eligibleAgents lists the agents of q who may be auto-assigned one of its
// sessions now: they take auto-assignments, are not away, are present
// when the queue wants it, and are under their max_active and the queue's
// daily_cap. exclude (the agent whose offer just timed out) is skipped.
// None when the queue is closed.
func (r *Router) eligibleAgents(rd store.Reader, q *config.Queue, now time.Time, exclude string) ([]candidate, error) {
	if q.BusinessHoursOnly && !q.Hours.Open(now) {
		return nil, nil
	}
	day := now.In(q.Hours.Location()).Format(time.DateOnly)
	var out []candidate
	cfg := r.config()
	for i, ac := range cfg.Agent {
		login := strings.ToLower(ac.Login)
		if !ac.AutoAssign || login == exclude || !cfg.Serves(&ac, q.Name) {
			continue
		}
		if q.LoggedInOnly && !r.Present(login) {
			continue
		}
		st, err := rd.AgentState(login)
		if err != nil {
			return nil, err
		}
		// Not away nor in RONA (offerable), under the daily cap.
		if !offerable(st) || (q.DailyCap > 0 && st.Day[q.Name] == day && st.Assigned[q.Name] >= q.DailyCap) {
			continue
		}
		active, err := rd.ActiveCount(login)
		if err != nil {
			return nil, err
		}
		if ac.MaxActive > 0 && active >= ac.MaxActive {
			continue
		}
		out = append(out, candidate{login: login, active: active, last: st.LastAssigned, agent: &cfg.Agent[i]})
	}
	return out, nil
}

// noteLastAssigned records that s reached a new agent now, however it
// did (auto-assignment, a claim, a transfer or a supervisor's assignment,
// a reply that claims, the next offer after a timeout): ties in pickAgent
// go to whoever got one longest ago.
func noteLastAssigned(tx store.Tx, old, s store.Session, now time.Time) error {
	if s.Agent == "" || s.Agent == old.Agent {
		return nil
	}
	st, err := tx.AgentState(s.Agent)
	if err != nil {
		return err
	}
	st.LastAssigned = now
	return tx.PutAgentState(st)
}

// autoAssign offers s, which waits without an agent, to the agent
// pickAgent chooses, if its queue auto-assigns and someone can take it.
// It only changes s and the agent's state; the caller commits s.
func (r *Router) autoAssign(tx store.Tx, s *store.Session, why string) (bool, error) {
	q := r.config().QueueByName(s.Queue)
	if q == nil || !q.AutoAssign || !q.Enabled || s.Agent != "" || s.Spam || s.Status == StatusClosed {
		return false, nil
	}
	now := r.now()
	login, ok, err := r.pickAgent(tx, q, now, s.PrevOffer)
	if err != nil || !ok {
		return false, err
	}
	st, err := tx.AgentState(login)
	if err != nil {
		return false, err
	}
	day := now.In(q.Hours.Location()).Format(time.DateOnly)
	if st.Day == nil {
		st.Day, st.Assigned = map[string]string{}, map[string]int{}
	}
	if st.Day[q.Name] != day {
		st.Day[q.Name], st.Assigned[q.Name] = day, 0
	}
	st.Assigned[q.Name]++ // LastAssigned: commit notes it, as for every assignment
	if err := r.takeTurn(tx, q, &st); err != nil {
		return false, err
	}
	if err := tx.PutAgentState(st); err != nil {
		return false, err
	}
	s.Agent, s.Parked, s.OfferedAt, s.TransferredAt = login, false, now, time.Time{}
	if s.Status != StatusUnopened && s.Status != StatusReopened {
		if err := r.setStatus(tx, s, StatusUnopened, "system", "assigned"); err != nil {
			return false, err
		}
	}
	return true, r.event(tx, s.ID, "assigned", "system", fmt.Sprintf("auto-assigned to %s (%s)", login, why))
}

// AssignWaiting offers waiting sessions, longest waiting first, to agents
// who can take them now, queue by queue, until nobody can. Run calls it
// when someone logs in, comes back, drops below a cap, and every minute
// (business hours beginning); it returns how many it assigned.
func (r *Router) AssignWaiting(ctx context.Context) (int, error) {
	total := 0
	cfg := r.config() // one version throughout, even if a reload swaps it
	for i := range cfg.Queue {
		q := &cfg.Queue[i]
		if !q.AutoAssign || !q.Enabled || !r.hasWaiting(q.Name) {
			continue // nothing to write: no transaction
		}
		for {
			n := 0
			err := r.st.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) error {
				n = 0
				waiting, err := tx.WaitingSessions(q.Name, dueBatch)
				if err != nil {
					return err
				}
				for _, w := range waiting {
					s, err := tx.Session(w.Session)
					if err != nil {
						return err
					}
					old := s
					ok, err := r.autoAssign(tx, &s, "waited since "+w.Since.Format(time.RFC3339))
					if err != nil {
						return err
					}
					if !ok && s.PrevOffer == "" {
						return nil // nobody can take more now
					}
					if !ok {
						continue // only its last offer's agent could: others may go
					}
					if _, err := r.commit(tx, old, &s); err != nil {
						return err
					}
					n++
				}
				return nil
			})
			if err != nil {
				return total, err
			}
			total += n
			if n < dueBatch {
				break
			}
		}
	}
	return total, nil
}

// hasWaiting reports whether a session waits in queue (a read, so that a
// minute's tick over idle queues commits nothing).
func (r *Router) hasWaiting(queue string) bool {
	found := false
	r.st.View(func(rd store.Reader) error {
		ws, err := rd.WaitingSessions(queue, 1)
		found = err != nil || len(ws) > 0 // on error, let the update report it
		return nil
	})
	return found
}

// expireOffer takes back an auto-assigned session its agent did not open
// within the queue's offer_timeout and offers it to the next eligible
// agent (never the same one twice in a row); without one it waits in the
// queue. The agent goes to RONA (putRona). It reports whether the offer
// had expired.
func (r *Router) expireOffer(tx store.Tx, s *store.Session, now time.Time) (bool, error) {
	q := r.config().QueueByName(s.Queue)
	if s.OfferedAt.IsZero() || q == nil || q.OfferTimeout.Duration <= 0 || now.Before(s.OfferedAt.Add(q.OfferTimeout.Duration)) {
		return false, nil
	}
	prev := s.Agent
	s.Agent, s.PrevOffer, s.OfferedAt = "", prev, time.Time{}
	if err := r.event(tx, s.ID, "offer-expired", "system", fmt.Sprintf("%s did not open it within %s", prev, q.OfferTimeout.Duration)); err != nil {
		return true, err
	}
	if err := r.putRona(tx, prev, now); err != nil {
		return true, err
	}
	_, err := r.autoAssign(tx, s, "offer of "+prev+" expired")
	return true, err
}

// QueueWaiting is the supervision view of one queue (SPEC §6 KPI alarm).
type QueueWaiting struct {
	Queue   string
	Waiting int           // sessions waiting unassigned
	Oldest  time.Duration // how long the longest-waiting one has waited
	// Alarms counts the sessions over kpi_wait_alarm: waiting unassigned
	// longer, or transferred to an agent who left them unopened longer
	// (TransfersOverKPI lists those).
	Alarms int
}

// TransferredUnopened is a session transferred to Agent at Since and not
// opened since.
type TransferredUnopened struct {
	Session, Agent string
	Since          time.Time
}

// WaitingStats reports, per queue, the waiting sessions and KPI alarms.
func (r *Router) WaitingStats() ([]QueueWaiting, error) {
	now := r.now()
	cfg := r.config()
	var out []QueueWaiting
	err := r.st.View(func(rd store.Reader) error {
		transferred, err := transferredOverKPI(rd, cfg, now)
		if err != nil {
			return err
		}
		for _, q := range cfg.Queue {
			ws, err := rd.WaitingSessions(q.Name, 0)
			if err != nil {
				return err
			}
			qw := QueueWaiting{Queue: q.Name, Waiting: len(ws), Alarms: len(transferred[q.Name])}
			if len(ws) > 0 {
				qw.Oldest = now.Sub(ws[0].Since)
			}
			for _, w := range ws {
				if overKPI(&q, now.Sub(w.Since)) {
					qw.Alarms++
				}
			}
			out = append(out, qw)
		}
		return nil
	})
	return out, err
}

// TransfersOverKPI lists, per queue, the sessions transferred to an agent
// and left unopened for longer than the queue's kpi_wait_alarm (Puzzel's
// transfer-queue alarm), longest first. Auto-assigned offers are not
// among them: the queue's offer_timeout takes those back.
func (r *Router) TransfersOverKPI() (map[string][]TransferredUnopened, error) {
	var out map[string][]TransferredUnopened
	err := r.st.View(func(rd store.Reader) error {
		var err error
		out, err = transferredOverKPI(rd, r.config(), r.now())
		return err
	})
	return out, err
}

// overKPI reports whether a session waiting for d is an alarm of q.
func overKPI(q *config.Queue, d time.Duration) bool {
	return q.KPIWaitAlarm.Duration > 0 && d > q.KPIWaitAlarm.Duration
}

// transferredOverKPI finds, per queue, the sessions transferred to an
// agent and left unopened beyond the queue's kpi_wait_alarm. It reads the
// agents' active sessions only (the store's load index), never every
// session.
func transferredOverKPI(rd store.Reader, cfg *config.Config, now time.Time) (map[string][]TransferredUnopened, error) {
	out := map[string][]TransferredUnopened{}
	for _, ac := range cfg.Agent {
		ids, err := rd.ActiveSessions(strings.ToLower(ac.Login))
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			s, err := rd.Session(id)
			if errors.Is(err, store.ErrNotFound) {
				continue // an index entry without its session: count the rest
			}
			if err != nil {
				return nil, err
			}
			q := cfg.QueueByName(s.Queue)
			if s.TransferredAt.IsZero() || s.Status != StatusUnopened || q == nil || !overKPI(q, now.Sub(s.TransferredAt)) {
				continue
			}
			out[q.Name] = append(out[q.Name], TransferredUnopened{Session: s.ID, Agent: s.Agent, Since: s.TransferredAt})
		}
	}
	for _, list := range out {
		slices.SortFunc(list, func(a, b TransferredUnopened) int { return a.Since.Compare(b.Since) })
	}
	return out, nil
}
