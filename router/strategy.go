package router

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"mxdesk/config"
	"mxdesk/store"
)

// candidate is an agent eligible for an auto-assignment (eligibleAgents),
// with what the strategies order by.
type candidate struct {
	login  string
	active int       // sessions counting towards the agent's load
	last   time.Time // LastAssigned: latest session that reached them, any queue, any way
	agent  *config.Agent
}

// byStrategy picks among cands, all eligible, by q's strategy (issue 19).
// "" when the strategy leaves nobody (skills: every level 0).
func (r *Router) byStrategy(rd store.Reader, q *config.Queue, cands []candidate) (string, error) {
	switch q.Strategy {
	case config.StrategyRoundRobin:
		last, _, err := r.lastTurn(rd, q)
		return nextInTurn(cands, last), err
	case config.StrategyLongestIdle:
		return slices.MinFunc(cands, longestIdleFirst).login, nil
	case config.StrategySkills:
		return bySkill(cands, q.Name), nil
	}
	return slices.MinFunc(cands, leastActiveFirst).login, nil
}

// leastActiveFirst orders by fewest active sessions, then by oldest last
// assignment, then by login: today's rule, least_active.
func leastActiveFirst(a, b candidate) int {
	return cmp.Or(cmp.Compare(a.active, b.active), longestIdleFirst(a, b))
}

// longestIdleFirst orders by oldest last assignment (never assigned
// first), then by login.
func longestIdleFirst(a, b candidate) int {
	return cmp.Or(a.last.Compare(b.last), strings.Compare(a.login, b.login))
}

// bySkill picks the highest skill level for queue, ties by least_active;
// level 0 is never auto-assigned.
func bySkill(cands []candidate, queue string) string {
	cands = slices.DeleteFunc(slices.Clone(cands), func(c candidate) bool { return c.agent.SkillLevel(queue) == 0 })
	if len(cands) == 0 {
		return ""
	}
	return slices.MinFunc(cands, func(a, b candidate) int {
		return cmp.Or(cmp.Compare(b.agent.SkillLevel(queue), a.agent.SkillLevel(queue)), leastActiveFirst(a, b))
	}).login
}

// nextInTurn is the first eligible login after last in login order,
// wrapping round: the rotation goes on over whoever is eligible now.
func nextInTurn(cands []candidate, last string) string {
	logins := make([]string, len(cands))
	for i, c := range cands {
		logins[i] = c.login
	}
	slices.Sort(logins)
	for _, l := range logins {
		if l > last {
			return l
		}
	}
	return logins[0]
}

// lastTurn finds where q's rotation stands: the member who got its latest
// round-robin assignment and that assignment's turn number. The turns
// are kept in the agents' stored state (AgentState.Turn), so a restart or
// a reload continues the rotation.
func (r *Router) lastTurn(rd store.Reader, q *config.Queue) (login string, turn uint64, err error) {
	cfg := r.config()
	for i := range cfg.Agent {
		if !cfg.Serves(&cfg.Agent[i], q.Name) {
			continue
		}
		st, err := rd.AgentState(config.Canonical(cfg.Agent[i].Login))
		if err != nil {
			return "", 0, err
		}
		if t := st.Turn[q.Name]; t > turn {
			login, turn = st.Login, t
		}
	}
	return login, turn, nil
}

// takeTurn records, in st of the agent just auto-assigned a session of a
// round-robin queue, that the rotation of q is now theirs.
func (r *Router) takeTurn(tx store.Tx, q *config.Queue, st *store.AgentState) error {
	if q.Strategy != config.StrategyRoundRobin {
		return nil
	}
	_, turn, err := r.lastTurn(tx, q)
	if err != nil {
		return err
	}
	if st.Turn == nil {
		st.Turn = map[string]uint64{}
	}
	st.Turn[q.Name] = turn + 1
	return nil
}
