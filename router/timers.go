package router

import (
	"context"
	"fmt"
	"time"

	"mxdesk/store"
)

// dueBatch is how many sessions one timer commit advances.
const dueBatch = 64

// RunDue applies every automatic transition (SPEC §4) that is due by the
// router's clock and returns how many sessions changed. Each transition
// commits with the removal of its timer, so it happens once, and timers
// live in the store, so a restart loses none: a late run catches up.
func (r *Router) RunDue(ctx context.Context) (int, error) {
	total := 0
	for {
		now := r.now()
		var ids []string
		err := r.st.View(func(rd store.Reader) error {
			var err error
			ids, err = rd.DueSessions(now, dueBatch)
			return err
		})
		if err != nil || len(ids) == 0 {
			return total, err
		}
		changed := 0
		err = r.st.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) error {
			changed = 0
			for _, id := range ids {
				did, err := r.fire(tx, id, now)
				if err != nil {
					return err
				}
				if did {
					changed++
				}
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		if changed > 0 {
			r.noteStates() // an offer may have timed out: RONA
		}
		total += changed
		if len(ids) < dueBatch {
			return total, nil
		}
	}
}

// fire applies the transition of session id if it is still due at now.
// Thresholds are re-read: a changed configuration moves the timer instead.
func (r *Router) fire(tx store.Tx, id string, now time.Time) (bool, error) {
	s, err := tx.Session(id)
	if err != nil {
		return false, err
	}
	old := s
	if expired, err := r.expireOffer(tx, &s, now); err != nil || expired {
		if err == nil {
			_, err = r.commit(tx, old, &s)
		}
		return expired, err
	}
	due := r.due(s)
	if due.IsZero() || due.After(now) {
		// Not due (any more): commit reschedules or clears the timer.
		_, err := r.commit(tx, old, &s)
		return false, err
	}
	c := r.config().Sessions
	var next, why string
	switch s.Status {
	case StatusActive:
		next, why = StatusPaused, fmt.Sprintf("no activity for %d days", c.ActiveToPausedDays)
	case StatusPaused:
		next, why = StatusClosed, fmt.Sprintf("paused for %d days", c.PausedToClosedDays)
	case StatusResolved:
		next, why = StatusClosed, fmt.Sprintf("resolved %d days ago", c.ResolvedToClosedDays)
	}
	if next == StatusClosed {
		err = r.closeSession(tx, "system", &s, why)
	} else {
		err = r.setStatus(tx, &s, next, "system", why)
	}
	if err != nil {
		return false, err
	}
	_, err = r.commit(tx, old, &s)
	return true, err
}

// timerInterval is how often Run looks for due transitions: they are
// counted in days, so a minute late is on time.
const timerInterval = time.Minute

// Reschedule recomputes every session's timer by the thresholds in force,
// so a shortened threshold applies to sessions that are already waiting
// (a longer one needs no help: fire re-checks). It returns how many
// timers moved.
func (r *Router) Reschedule(ctx context.Context) (int, error) {
	stale := func(s store.Session) bool { return !r.due(s).Equal(s.Due) }
	return r.fixSessions(ctx, stale, func(tx store.Tx, id string) error {
		s, err := tx.Session(id)
		if err != nil {
			return err
		}
		s.Due = r.due(s)
		return tx.PutSession(s)
	})
}

// fixSessions finds every session that needs fixing (read in one view),
// then fixes them in transactions of dueBatch, so that a large store is
// never one huge transaction. It returns how many it fixed.
func (r *Router) fixSessions(ctx context.Context, needs func(store.Session) bool, fix func(tx store.Tx, id string) error) (int, error) {
	var stale []string
	err := r.st.View(func(rd store.Reader) error {
		return rd.EachSession(func(s store.Session) error {
			if needs(s) {
				stale = append(stale, s.ID)
			}
			return ctx.Err()
		})
	})
	fixed := 0
	for len(stale) > 0 && err == nil {
		batch := stale[:min(dueBatch, len(stale))]
		stale = stale[len(batch):]
		err = r.st.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) error {
			for _, id := range batch {
				if err := fix(tx, id); err != nil {
					return fmt.Errorf("session %s: %w", id, err)
				}
			}
			return nil
		})
		if err == nil {
			fixed += len(batch)
		}
	}
	return fixed, err
}

// Run applies due transitions (lifecycle, offer timeouts) and assigns
// waiting sessions until ctx ends: at start it reschedules every timer by
// the current thresholds and catches up after downtime, then it looks
// every minute and whenever someone may have become able to take a
// session (kickAssign). Errors are logged and retried.
func (r *Router) Run(ctx context.Context) {
	if n, err := r.Reschedule(ctx); err != nil && ctx.Err() == nil {
		r.log.Error("session timers: reschedule", "err", err)
	} else if n > 0 {
		r.log.Info("session timers rescheduled", "sessions", n)
	}
	t := time.NewTicker(timerInterval)
	defer t.Stop()
	for {
		if n, err := r.RunDue(ctx); err != nil && ctx.Err() == nil {
			r.log.Error("session timers", "err", err)
		} else if n > 0 {
			r.log.Info("session timers", "transitions", n)
		}
		if n, err := r.AssignWaiting(ctx); err != nil && ctx.Err() == nil {
			r.log.Error("assigning waiting sessions", "err", err)
		} else if n > 0 {
			r.log.Info("assigned waiting sessions", "sessions", n)
		}
		r.noteStates()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.kick:
		}
	}
}
