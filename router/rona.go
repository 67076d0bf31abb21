package router

import (
	"context"
	"strings"
	"sync"
	"time"

	"mxdesk/store"
)

// RONA ("redirect on no answer", as Webex calls it): an agent whose
// auto-assignment offer timed out gets no more offers until they come
// back, by any IMAP command, the Status/Available gesture or the admin
// state call. The state is durable (AgentState.RonaSince); the router
// keeps the logins in RONA in memory too (presence.rona), so that the
// IMAP command path, which touches presence on every command, writes to
// the store only for an agent who is in RONA.

// offerable reports whether an agent's state lets them be offered a
// session: not away, not in RONA. It decides eligibility only; the
// routing order is pickAgent's.
func offerable(st store.AgentState) bool {
	return !st.Away && st.RonaSince.IsZero()
}

// putRona puts login in RONA at now (tx is the offer's expiry).
func (r *Router) putRona(tx store.Tx, login string, now time.Time) error {
	st, err := tx.AgentState(login)
	if err != nil || !st.RonaSince.IsZero() {
		return err
	}
	st.RonaSince = now
	if err := tx.PutAgentState(st); err != nil {
		return err
	}
	r.markRona(login, true) // if tx fails, the mark costs one read later
	return nil
}

// markRona notes in memory whether login may be in RONA.
func (r *Router) markRona(login string, on bool) {
	ps := &r.presence
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if !on {
		delete(ps.rona, login)
		return
	}
	if ps.rona == nil {
		ps.rona = map[string]bool{}
	}
	ps.rona[login] = true
}

func (r *Router) markedRona(login string) bool {
	ps := &r.presence
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.rona[login]
}

// loadRona marks the configured agents the store has in RONA (at start:
// they are still in RONA after a restart).
func (r *Router) loadRona() error {
	return r.st.View(func(rd store.Reader) error {
		for _, ac := range r.config().Agent {
			login := strings.ToLower(ac.Login)
			st, err := rd.AgentState(login)
			if err != nil {
				return err
			}
			if !st.RonaSince.IsZero() {
				r.markRona(login, true)
			}
		}
		return nil
	})
}

// ronaRecheck is how often an agent's command rereads the store for RONA
// when this node has no mark of it: on several nodes, the offer that
// timed out may have been another node's (its session timers), which
// marked only its own memory.
const ronaRecheck = 30 * time.Second

// ronaChecks is when each agent's RONA was last read from the store.
type ronaChecks struct {
	mu sync.Mutex
	at map[string]time.Time
}

// recheckRona says whether login's command should read RONA from the
// store: at most once per ronaRecheck per agent.
func (r *Router) recheckRona(login string) bool {
	c := &r.ronaChecks
	now := r.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if last, ok := c.at[login]; ok && now.Sub(last) < ronaRecheck {
		return false
	}
	if c.at == nil {
		c.at = map[string]time.Time{}
	}
	c.at[login] = now
	return true
}

// comeBack takes login out of RONA, if they are in it: they spoke over
// IMAP (how says why, for the log). Waiting sessions may go to them now.
func (r *Router) comeBack(ctx context.Context, login, how string) {
	if !r.markedRona(login) && !r.recheckRona(login) {
		return
	}
	was := false
	err := r.st.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) error {
		var err error
		was, err = clearRona(tx, login)
		return err
	})
	if err != nil {
		r.log.Error("taking an agent out of RONA", "login", login, "err", err)
		return
	}
	r.markRona(login, false)
	if was {
		r.log.Info("agent back from RONA", "login", login, "by", how)
		r.noteStates()
		r.kickAssign()
	}
}

// clearRona takes login out of RONA in tx; was says whether they were.
func clearRona(tx store.Tx, login string) (was bool, err error) {
	st, err := tx.AgentState(login)
	if err != nil || st.RonaSince.IsZero() {
		return false, err
	}
	st.RonaSince = time.Time{}
	return true, tx.PutAgentState(st)
}
