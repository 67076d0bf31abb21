package router

import (
	"sync"
	"time"
)

// stateClock counts the time each agent spends in each state since the
// process started (mxdesk_agent_state_seconds_total). States are partly
// derived (presence, sessions), so it samples them: every AgentStatuses
// (metrics scrapes, the supervisor page, the admin API), and the router
// calls noteStates where a state changes (login, logout, away, RONA, its
// minute tick). The time between two samples goes to the state seen at
// the first: a change nobody notes (a connection going silent past
// presence_timeout) is counted from the next sample.
type stateClock struct {
	mu     sync.Mutex
	agents map[string]*agentClock
}

type agentClock struct {
	state string
	since time.Time // when the state was first seen
	seen  time.Time // latest sample
	spent map[string]time.Duration
}

// observe adds the time since each agent's last sample to the state
// seen then, notes the new states, and fills Since and Spent of list.
func (c *stateClock) observe(list []AgentStatus, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.agents == nil {
		c.agents = map[string]*agentClock{}
	}
	for i := range list {
		a := &list[i]
		ac := c.agents[a.Login]
		if ac == nil {
			ac = &agentClock{state: a.State, since: now, seen: now, spent: map[string]time.Duration{}}
			c.agents[a.Login] = ac
		}
		if now.After(ac.seen) {
			ac.spent[ac.state] += now.Sub(ac.seen)
			ac.seen = now
		}
		if ac.state != a.State {
			ac.state, ac.since = a.State, now
		}
		if a.State != StateRona || a.Since.IsZero() {
			a.Since = ac.since // RONA's is durable: AgentState.RonaSince
		}
		a.Spent = make(map[string]time.Duration, len(States))
		for _, s := range States {
			a.Spent[s] = ac.spent[s]
		}
	}
}

// noteStates samples every agent's state now (after a change).
func (r *Router) noteStates() {
	if _, err := r.AgentStatuses(); err != nil {
		r.log.Debug("sampling agent states", "err", err)
	}
}
