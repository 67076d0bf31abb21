package config

import (
	"slices"
	"strings"
	"testing"
)

// teams adds a [[team]] of alice and carla's Billing queue taking it.
const teams = "\n[[team]]\nname = \"Tier2\"\nmembers = [\"Alice@Example.test\"]\n"

func TestRoutingValidation(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		key  string
		line int
		msg  string
	}{
		{"unknown team", edit(t, `addresses = ["billing@example.test"]`, "addresses = [\"billing@example.test\"]\nteams = [\"Tier3\"]") + teams,
			"queue[1].teams[0]", 24, `unknown team "Tier3"`},
		{"unknown member", base + strings.Replace(teams, "Alice@", "zed@", 1),
			"team[0].members[0]", 42, `unknown agent "zed@example.test"`},
		{"team name twice", base + teams + strings.Replace(teams, "Tier2", "TIER2", 1),
			"team[1].name", 45, "defined twice"},
		{"unknown strategy", edit(t, `auto_assign = true`, "auto_assign = true\nstrategy = \"random\""),
			"queue[0].strategy", 20, `"random": want "least_active", "round_robin", "longest_idle", "skills"`},
		{"skill of an unknown queue", edit(t, `queues = ["Support"]`, "queues = [\"Support\"]\nskills = { Sales = 3 }"),
			"agent[0].skills.Sales", 30, `unknown queue "Sales"`},
		{"skill of a queue not served", edit(t, `queues = ["Support"]`, "queues = [\"Support\"]\nskills = { Billing = 3 }"),
			"agent[0].skills.Billing", 30, `does not serve queue "Billing"`},
		{"postmaster in a disabled queue", edit(t, `auto_assign = true`, "auto_assign = true\nenabled = false"),
			"queue[0].enabled", 20, `queue "Support" takes postmaster mail (support@example.test)`},
		{"postmaster in a replies-only queue", edit(t, `company =`, "postmaster = \"billing@example.test\"\ncompany =", `addresses = ["billing@example.test"]`, "addresses = [\"billing@example.test\"]\nreceive = false"),
			"queue[1].receive", 25, "must be accepted (RFC 5321 4.5.1)"},
		{"skill level too high", edit(t, `queues = ["Support"]`, "queues = [\"Support\"]\nskills = { support = 11 }"),
			"agent[0].skills.support", 30, "level 11: want 0 (never auto-assigned) to 10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := parse(t, tt.doc)
			if len(errs) != 1 || errs[0].Key != tt.key || errs[0].Line != tt.line || !strings.Contains(errs[0].Msg, tt.msg) {
				t.Errorf("got %v\nwant one error %s at line %d containing %q", errs, tt.key, tt.line, tt.msg)
			}
		})
	}
}

// A team's members serve the queues that take the team, and only those;
// names and logins are resolved without regard to case.
func TestTeamMembership(t *testing.T) {
	doc := edit(t, `addresses = ["billing@example.test"]`, "addresses = [\"billing@example.test\"]\nteams = [\"tier2\"]\nstrategy = \"skills\"",
		`queues = ["Support"]`, "queues = [\"Support\"]\nskills = { billing = 7 }") + teams
	c, errs := parse(t, doc)
	if errs != nil {
		t.Fatal(errs)
	}
	alice, _ := c.AgentByLogin("alice@example.test")
	bob, _ := c.AgentByLogin("bob@example.test")
	if got := c.AgentQueues(alice); !slices.Equal(got, []string{"Support", "Billing"}) {
		t.Errorf("alice serves %v, want [Support Billing]", got)
	}
	if got := c.AgentQueues(bob); !slices.Equal(got, []string{"Billing", "Support"}) {
		t.Errorf("bob serves %v, want [Billing Support] (no team)", got)
	}
	if !slices.Equal(alice.Queues, []string{"Support"}) {
		t.Errorf("alice's own queues = %v: the file's list must stay as written", alice.Queues)
	}
	if q := c.QueueByName("Billing"); q.Teams[0] != "Tier2" || q.Strategy != StrategySkills {
		t.Errorf("Billing teams %v strategy %q, want [Tier2] skills", q.Teams, q.Strategy)
	}
	if l := alice.SkillLevel("Billing"); l != 7 {
		t.Errorf("alice's Billing level %d, want 7", l)
	}
	if l := alice.SkillLevel("Support"); l != DefaultSkill {
		t.Errorf("alice's Support level %d, want the default %d", l, DefaultSkill)
	}
}

func TestRoutingDefaults(t *testing.T) {
	c, errs := parse(t, edit(t, `company =`, "postmaster = \"billing@example.test\"\ncompany =",
		`auto_assign = true`, "auto_assign = true\nenabled = false\nreceive = false\nstrategy = \"round_robin\""))
	if errs != nil {
		t.Fatal(errs)
	}
	s, b := c.QueueByName("Support"), c.QueueByName("Billing")
	if s.Enabled || s.Receive || s.Strategy != StrategyRoundRobin {
		t.Errorf("Support: enabled %v receive %v strategy %q, want false false round_robin", s.Enabled, s.Receive, s.Strategy)
	}
	if !b.Enabled || !b.Receive || b.Strategy != StrategyLeastActive {
		t.Errorf("Billing defaults: enabled %v receive %v strategy %q, want true true least_active", b.Enabled, b.Receive, b.Strategy)
	}
}
