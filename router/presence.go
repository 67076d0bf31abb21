package router

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"mxdesk/config"
	"mxdesk/store"
)

// presence is who is connected over IMAP (SPEC §6: "logged in" means an
// open IMAP connection, IDLE included, seen within presence_timeout). It
// lives in memory: after a restart nobody is connected until they are.
type presence struct {
	mu    sync.Mutex
	conns map[string]map[*Presence]time.Time // login -> connection -> last seen
	rona  map[string]bool                    // logins that may be in RONA (rona.go)
	// shared is the other nodes' presence (sharedpresence.go).
	shared shared
}

// Presence is one IMAP connection's claim that its agent is here.
type Presence struct {
	r      *Router
	login  string
	agent  *Agent // nil: nothing to revoke
	revoke func()
}

// Connect registers a logged-in IMAP connection of agent a. It makes
// the agent present at once (waiting sessions may be assigned to them
// now); Touch it on every command, Close it when the connection ends.
// revoke, when not nil, is called (once, on its own goroutine) when a
// configuration reload removes the agent or changes its password, role
// or queues: the connection must end.
func (r *Router) Connect(a *Agent, revoke func()) *Presence {
	login := a.Login
	p := &Presence{r: r, login: login, revoke: revoke}
	if revoke != nil {
		p.agent = a
	}
	r.presence.mu.Lock()
	if r.presence.conns == nil {
		r.presence.conns = map[string]map[*Presence]time.Time{}
	}
	if r.presence.conns[login] == nil {
		r.presence.conns[login] = map[*Presence]time.Time{}
	}
	first := len(r.presence.conns[login]) == 0
	r.presence.conns[login][p] = r.now()
	r.presence.mu.Unlock()
	if first {
		signal(r.presence.shared.changed)
	}
	r.noteStates()
	r.kickAssign()
	return p
}

// Touch notes activity on the connection: a command. It brings an agent
// in RONA back.
func (p *Presence) Touch() {
	ps := &p.r.presence
	ps.mu.Lock()
	if c := ps.conns[p.login]; c != nil {
		if _, ok := c[p]; ok {
			c[p] = p.r.now()
		}
	}
	ps.mu.Unlock()
	p.r.comeBack(context.Background(), p.login, "IMAP command")
}

// Close ends the connection's presence; with the agent's last connection
// the agent is absent at once.
func (p *Presence) Close() {
	ps := &p.r.presence
	ps.mu.Lock()
	if c := ps.conns[p.login]; c != nil {
		delete(c, p)
		if len(c) == 0 {
			delete(ps.conns, p.login)
			signal(ps.shared.changed)
		}
	}
	ps.mu.Unlock()
	p.r.noteStates()
}

// revokeChanged ends the connections whose agent cfg no longer has as
// it logged in.
func (r *Router) revokeChanged(cfg *config.Config) int {
	var ended []*Presence
	r.presence.mu.Lock()
	for _, conns := range r.presence.conns {
		for p := range conns {
			if p.agent != nil && !p.agent.current(cfg) {
				ended = append(ended, p)
				p.agent = nil // revoke once
			}
		}
	}
	r.presence.mu.Unlock()
	for _, p := range ended {
		r.log.Info("ending a connection: the agent's entry changed in the configuration", "login", p.login)
		go p.revoke()
	}
	return len(ended)
}

// Present reports whether login has an IMAP connection seen within
// presence_timeout, here or on another node sharing the store.
func (r *Router) Present(login string) bool {
	return r.presentHere(login) || r.presentElsewhere(login)
}

func (r *Router) presentHere(login string) bool {
	limit := r.now().Add(-r.config().PresenceTimeout.Duration)
	r.presence.mu.Lock()
	defer r.presence.mu.Unlock()
	for _, seen := range r.presence.conns[login] {
		if seen.After(limit) {
			return true
		}
	}
	return false
}

// AgentStatus is an agent's state as supervisors see it.
type AgentStatus struct {
	Login   string
	State   string // one of the State constants
	Present bool   // an IMAP connection counts
	Active  int    // sessions counting towards the agent's load
	// Since is when the router saw the agent enter State (the start of
	// the process at the latest; RonaSince for RONA).
	Since time.Time
	// Spent is the time spent in each state since the process started,
	// the current one included.
	Spent map[string]time.Duration
	// Handled and HandlingTime total the sessions the agent resolved
	// and their pick-up-to-resolve time (durable).
	Handled      int
	HandlingTime time.Duration
}

// Agent states. Away and RONA are durable; in_session (working a
// session: present with a session in status Active) and available are
// derived from presence and the agent's sessions.
const (
	StateAvailable = "available"
	StateInSession = "in_session"
	StateRona      = "rona"
	StateAway      = "away"
	StateOffline   = "offline"
)

// States lists every agent state.
var States = []string{StateAvailable, StateInSession, StateRona, StateAway, StateOffline}

// AgentStatuses lists every configured agent's state, and notes it for
// the time spent per state.
func (r *Router) AgentStatuses() ([]AgentStatus, error) {
	var out []AgentStatus
	err := r.st.View(func(rd store.Reader) error {
		for _, ac := range r.config().Agent {
			a, err := r.agentStatus(rd, strings.ToLower(ac.Login))
			if err != nil {
				return err
			}
			out = append(out, a)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	r.clock.observe(out, r.now())
	return out, nil
}

// agentStatus reads one agent's state: away, then RONA, then by
// presence working a session, available, else offline.
func (r *Router) agentStatus(rd store.Reader, login string) (AgentStatus, error) {
	st, err := rd.AgentState(login)
	if err != nil {
		return AgentStatus{}, err
	}
	ids, err := rd.ActiveSessions(login)
	if err != nil {
		return AgentStatus{}, err
	}
	a := AgentStatus{Login: login, Present: r.Present(login), Active: len(ids), State: StateOffline,
		Handled: st.Handled, HandlingTime: st.HandlingTime}
	switch {
	case st.Away:
		a.State = StateAway
	case !st.RonaSince.IsZero():
		a.State, a.Since = StateRona, st.RonaSince
	case a.Present:
		a.State = StateAvailable
		working, err := workingSession(rd, ids)
		if err != nil {
			return a, err
		}
		if working {
			a.State = StateInSession
		}
	}
	return a, nil
}

// workingSession reports whether one of the sessions ids (an agent's
// active ones) is opened and being worked (status Active).
func workingSession(rd store.Reader, ids []string) (bool, error) {
	for _, id := range ids {
		s, err := rd.Session(id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return false, err
		}
		if s.Status == StatusActive {
			return true, nil
		}
	}
	return false, nil
}

// SetAway sets or clears an agent's away state (durable). Away agents are
// not auto-assigned; coming back makes waiting sessions assignable.
func (r *Router) SetAway(ctx context.Context, login string, away bool) error {
	login = strings.ToLower(login)
	if _, ok := r.config().AgentByLogin(login); !ok {
		return errorf(KindNotFound, "no agent %q", login)
	}
	err := r.st.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) error {
		return setAway(tx, login, away)
	})
	if err == nil && !away {
		r.kickAssign()
	}
	if err == nil {
		r.noteStates()
	}
	return err
}

// setAway sets or clears away; coming back (away false) also ends RONA.
func setAway(tx store.Tx, login string, away bool) error {
	st, err := tx.AgentState(login)
	if err != nil || (st.Away == away && (away || st.RonaSince.IsZero())) {
		return err
	}
	st.Away = away
	if !away {
		st.RonaSince = time.Time{}
	}
	return tx.PutAgentState(st)
}
