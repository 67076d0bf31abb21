package config

import (
	"fmt"
	"slices"
	"strings"
)

// Team is a named group of agents (issue 19): a queue that lists the team
// in its teams is served by every member, as if each had the queue in
// their own queues.
type Team struct {
	Name    string   `toml:"name"`
	Members []string `toml:"members"` // agent logins, Canonical after Parse
}

// Routing strategies of a queue's auto-assignment (queue.strategy).
const (
	StrategyLeastActive = "least_active" // fewest active sessions, then least recently assigned
	StrategyRoundRobin  = "round_robin"  // each eligible agent in turn, by login
	StrategyLongestIdle = "longest_idle" // longest since their last assignment in any queue
	StrategySkills      = "skills"       // highest skill level for the queue, then least_active
)

var strategies = []string{StrategyLeastActive, StrategyRoundRobin, StrategyLongestIdle, StrategySkills}

// Skill levels (agent.skills).
const (
	// MaxSkill is the highest level.
	MaxSkill = 10
	// DefaultSkill is the level of a member with no entry for the queue:
	// the lowest that is still auto-assigned, so that a listed skill
	// always ranks first.
	DefaultSkill = 1
)

// AgentQueues is the one list of the queues agent a serves: its own
// queues, in their order, then the queues that take a team a belongs to,
// in file order. Everything that asks which queues an agent serves asks
// here, never Agent.Queues, so that teams count everywhere.
func (c *Config) AgentQueues(a *Agent) []string {
	out := slices.Clone(a.Queues)
	for i := range c.Queue {
		q := &c.Queue[i]
		if !slices.Contains(out, q.Name) && c.teamsInclude(q.Teams, a.Login) {
			out = append(out, q.Name)
		}
	}
	return out
}

// Serves reports whether agent a serves the queue named queue (by its
// queues or a team), the name compared without regard to case.
func (c *Config) Serves(a *Agent, queue string) bool {
	return slices.ContainsFunc(c.AgentQueues(a), func(q string) bool { return strings.EqualFold(q, queue) })
}

// teamsInclude reports whether one of the named teams has login.
func (c *Config) teamsInclude(teams []string, login string) bool {
	for _, name := range teams {
		if t := c.TeamByName(name); t != nil && slices.ContainsFunc(t.Members, func(m string) bool { return SameAddress(m, login) }) {
			return true
		}
	}
	return false
}

// TeamByName finds a team by name, compared without regard to case, or
// returns nil.
func (c *Config) TeamByName(name string) *Team {
	for i := range c.Team {
		if strings.EqualFold(c.Team[i].Name, name) {
			return &c.Team[i]
		}
	}
	return nil
}

// SkillLevel is a's level for queue (agent.skills): DefaultSkill when a
// has no entry for it.
func (a *Agent) SkillLevel(queue string) int {
	for name, level := range a.Skills {
		if strings.EqualFold(name, queue) {
			return level
		}
	}
	return DefaultSkill
}

// defaultRouting fills the routing keys of the queues absent from the
// file: least_active, enabled, receiving.
func (p *parser) defaultRouting() {
	for i := range p.cfg.Queue {
		q := &p.cfg.Queue[i]
		if !p.tableHasKey("queue", i, "strategy") {
			q.Strategy = StrategyLeastActive
		}
		if !p.tableHasKey("queue", i, "enabled") {
			q.Enabled = true
		}
		if !p.tableHasKey("queue", i, "receive") {
			q.Receive = true
		}
	}
	for i := range p.cfg.Team {
		for j, m := range p.cfg.Team[i].Members {
			p.cfg.Team[i].Members[j] = Canonical(m)
		}
	}
}

// checkRouting validates [[team]], the queues' teams and strategy, and
// the agents' skills.
func (p *parser) checkRouting() {
	p.checkTeams()
	for i := range p.cfg.Queue {
		q := &p.cfg.Queue[i]
		key := fmt.Sprintf("queue[%d]", i)
		if !slices.Contains(strategies, q.Strategy) {
			p.errorf(key+".strategy", "%q: want \"%s\"", q.Strategy, strings.Join(strategies, "\", \""))
		}
		p.checkQueueTeams(key+".teams", q)
	}
	for i := range p.cfg.Agent {
		p.checkSkills(fmt.Sprintf("agent[%d].skills", i), &p.cfg.Agent[i])
	}
	p.checkPostmasterTakesMail()
}

// checkPostmasterTakesMail refuses a postmaster address whose queue is
// switched off: RFC 5321 4.5.1 wants postmaster mail accepted.
func (p *parser) checkPostmasterTakesMail() {
	q, ok := p.cfg.QueueByAddress(p.cfg.Postmaster)
	if !ok || (q.Enabled && q.Receive) {
		return
	}
	i := slices.IndexFunc(p.cfg.Queue, func(x Queue) bool { return x.Name == q.Name })
	key := fmt.Sprintf("queue[%d].enabled", i)
	if q.Enabled {
		key = fmt.Sprintf("queue[%d].receive", i)
	}
	p.errorf(key, "queue %q takes postmaster mail (%s), which must be accepted (RFC 5321 4.5.1): set postmaster to an address of a queue that receives mail", q.Name, p.cfg.Postmaster)
}

func (p *parser) checkTeams() {
	names := map[string]bool{}
	for i := range p.cfg.Team {
		t := &p.cfg.Team[i]
		key := fmt.Sprintf("team[%d]", i)
		if err := checkTeamName(t.Name); err != nil {
			p.errorf(key+".name", "%v", err)
		} else if names[strings.ToLower(t.Name)] {
			p.errorf(key+".name", "team %q is defined twice (names are case-insensitive)", t.Name)
		}
		names[strings.ToLower(t.Name)] = true
		seen := map[string]bool{}
		for j, m := range t.Members {
			mkey := fmt.Sprintf("%s.members[%d]", key, j)
			switch _, ok := p.cfg.AgentByLogin(m); {
			case !ok:
				p.errorf(mkey, "unknown agent %q: members are logins of [[agent]] tables", m)
			case seen[m]:
				p.errorf(mkey, "agent %q is listed twice", m)
			}
			seen[m] = true
		}
	}
}

func checkTeamName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return fmt.Errorf("required: every team needs a name")
	case strings.TrimSpace(name) != name:
		return fmt.Errorf("%q has leading or trailing spaces", name)
	case strings.ContainsFunc(name, isControl):
		return fmt.Errorf("%q contains a control character", name)
	}
	return nil
}

// checkQueueTeams resolves the queue's team names case-insensitively and
// rewrites them to the team's own spelling.
func (p *parser) checkQueueTeams(key string, q *Queue) {
	seen := map[string]bool{}
	for j, name := range q.Teams {
		jkey := fmt.Sprintf("%s[%d]", key, j)
		t := p.cfg.TeamByName(name)
		switch {
		case t == nil:
			p.errorf(jkey, "unknown team %q: name one of the [[team]] tables", name)
		case seen[t.Name]:
			p.errorf(jkey, "team %q is listed twice", name)
		default:
			q.Teams[j] = t.Name
			seen[t.Name] = true
		}
	}
}

// checkSkills checks that every skill names a queue the agent serves
// (rewritten to the queue's spelling) with a level from 0 to MaxSkill.
func (p *parser) checkSkills(key string, a *Agent) {
	names := make([]string, 0, len(a.Skills))
	for name := range a.Skills {
		names = append(names, name)
	}
	slices.Sort(names) // errors in a stable order
	for _, name := range names {
		level := a.Skills[name]
		nkey := key + "." + name
		q := p.cfg.QueueByName(name)
		switch {
		case q == nil:
			p.errorf(nkey, "unknown queue %q", name)
			continue
		case !p.cfg.Serves(a, q.Name):
			p.errorf(nkey, "agent %q does not serve queue %q (neither in queues nor by a team)", a.Login, q.Name)
		case level < 0 || level > MaxSkill:
			p.errorf(nkey, "level %d: want 0 (never auto-assigned) to %d", level, MaxSkill)
		}
		if name != q.Name {
			delete(a.Skills, name)
			a.Skills[q.Name] = level
		}
	}
}
