package router_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"mxdesk/router"
	"mxdesk/testutil"
)

// strategyDesk is a Desk queue with strategy %[1]s and ann, ben and cid,
// plus a Solo queue only ann serves: it gives her sessions of her own
// before Desk's start, so that strategies that weigh load and those that
// don't pick differently. agentKeys[i] goes into the i-th agent's table.
func strategyDesk(strategy string, agentKeys [3]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `
[[queue]]
name = "Desk"
addresses = ["desk@example.test"]
auto_assign = true
logged_in_only = false
strategy = %q
[[queue]]
name = "Solo"
addresses = ["solo@example.test"]
auto_assign = true
logged_in_only = false
`, strategy)
	for i, who := range []string{"ann", "ben", "cid"} {
		queues := `["Desk"]`
		if who == "ann" {
			queues = `["Desk", "Solo"]`
		}
		fmt.Fprintf(&b, "[[agent]]\nlogin = \"%s@example.test\"\npassword_hash = %q\nqueues = %s\n%s\n", who, testutil.PasswordHash(), queues, agentKeys[i])
	}
	return b.String()
}

// strategyRun is a router of strategyDesk on a clock the test moves.
type strategyRun struct {
	t     *testing.T
	r     *router.Router
	clock *testutil.Clock
	dir   string
	stop  func()
	n     int // messages sent so far
}

func newStrategyRun(t *testing.T, strategy string, agentKeys [3]string) *strategyRun {
	s := &strategyRun{t: t, clock: testutil.NewClock(), dir: t.TempDir()}
	s.open(strategy, agentKeys)
	// Ann gets three sessions of Solo, a minute apart: she carries load
	// and her last assignment is recent, ben and cid never had one.
	for range 3 {
		s.send("solo@example.test")
	}
	return s
}

func (s *strategyRun) open(strategy string, agentKeys [3]string) {
	s.r, s.stop = openRouter(s.t, testutil.Config(s.t, strategyDesk(strategy, agentKeys)), s.dir, s.clock)
}

// send delivers a new customer message to addr a minute after the last
// and returns who it went to ("-" for nobody), as a short name.
func (s *strategyRun) send(addr string) string {
	s.t.Helper()
	s.n++
	s.clock.Advance(time.Minute)
	d := send(s.t, s.r, []string{addr}, fmt.Sprintf("From: c%d@customer.test\r\nMessage-ID: <st-%d@customer.test>\r\nSubject: case %d\r\n", s.n, s.n, s.n))
	who := strings.TrimSuffix(session(s.t, s.r, d.Session).Agent, "@example.test")
	if who == "" {
		return "-"
	}
	return who
}

// desk sends n messages to Desk and returns who got each, in order.
func (s *strategyRun) desk(n int) string {
	s.t.Helper()
	got := make([]string, n)
	for i := range got {
		got[i] = s.send("desk@example.test")
	}
	return strings.Join(got, " ")
}

// repeat is pattern written n times, space-separated.
func repeat(pattern string, n int) string {
	return strings.TrimSpace(strings.Repeat(pattern+" ", n))
}

// least_active: fewest active first; ann, three ahead, waits until ben
// and cid have caught up, then the three take turns.
func TestStrategyLeastActive(t *testing.T) {
	s := newStrategyRun(t, "least_active", [3]string{})
	want := repeat("ben cid", 3) + " " + repeat("ann ben cid", 8)
	if got := s.desk(30); got != want {
		t.Errorf("least_active order:\n got %s\nwant %s", got, want)
	}
}

// round_robin: each in turn by login, whatever their load, and the
// rotation goes on after a restart where it stood.
func TestStrategyRoundRobin(t *testing.T) {
	s := newStrategyRun(t, "round_robin", [3]string{})
	want := repeat("ann ben cid", 3) + " ann"
	if got := s.desk(10); got != want {
		t.Fatalf("round_robin order:\n got %s\nwant %s", got, want)
	}
	s.stop()
	s.open("round_robin", [3]string{})
	want = repeat("ben cid ann", 6) + " ben cid"
	if got := s.desk(20); got != want {
		t.Errorf("round_robin order after a restart:\n got %s\nwant %s", got, want)
	}
}

// round_robin skips who is not eligible and goes on with the others: cid
// capped at two active sessions drops out of the rotation.
func TestStrategyRoundRobinSkipsIneligible(t *testing.T) {
	s := newStrategyRun(t, "round_robin", [3]string{"", "", "max_active = 2"})
	want := repeat("ann ben cid", 2) + " " + repeat("ann ben", 12)
	if got := s.desk(30); got != want {
		t.Errorf("round_robin order with cid capped:\n got %s\nwant %s", got, want)
	}
}

// longest_idle: longest since the last assignment in any queue, load
// aside: ben and cid, never assigned, then ann, whose Solo sessions came
// last; from then on each waits as long as the others.
func TestStrategyLongestIdle(t *testing.T) {
	s := newStrategyRun(t, "longest_idle", [3]string{})
	if got, want := s.desk(30), repeat("ben cid ann", 10); got != want {
		t.Errorf("longest_idle order:\n got %s\nwant %s", got, want)
	}
	// Ben takes Desk's next, then ann a Solo session: her idle time
	// starts again, so Desk goes to cid, then ben, and only then to her.
	if got := s.desk(1); got != "ben" {
		t.Fatalf("Desk's 31st went to %s, want ben", got)
	}
	if got := s.send("solo@example.test"); got != "ann" {
		t.Fatalf("Solo went to %s, want ann", got)
	}
	if got, want := s.desk(3), "cid ben ann"; got != want {
		t.Errorf("longest_idle after ann got a Solo session: got %s, want %s", got, want)
	}
}

// skills: the highest level first, ties by least_active; level 0 never
// auto-assigned. Ann (9) takes everything up to her max_active, then ben
// (8); cid (0) gets none.
func TestStrategySkills(t *testing.T) {
	s := newStrategyRun(t, "skills", [3]string{"max_active = 10\nskills = { Desk = 9 }", "skills = { desk = 8 }", "skills = { Desk = 0 }"})
	want := repeat("ann", 7) + " " + repeat("ben", 23)
	if got := s.desk(30); got != want {
		t.Errorf("skills order:\n got %s\nwant %s", got, want)
	}
}

// skills with equal levels falls back to least_active, and a queue whose
// members are all level 0 leaves its sessions waiting.
func TestStrategySkillsTiesAndZero(t *testing.T) {
	s := newStrategyRun(t, "skills", [3]string{"skills = { Desk = 5 }", "skills = { Desk = 5 }", ""})
	// cid has no entry: level 1, below the others.
	want := repeat("ben", 3) + " " + repeat("ann ben", 5)
	if got := s.desk(13); got != want {
		t.Errorf("skills with a tie:\n got %s\nwant %s", got, want)
	}
	z := newStrategyRun(t, "skills", [3]string{"skills = { Desk = 0 }", "skills = { Desk = 0 }", "skills = { Desk = 0 }"})
	if got := z.desk(3); got != "- - -" {
		t.Errorf("every member at level 0: sessions went to %s, want them all waiting", got)
	}
}

// A disabled queue assigns nothing, also when someone becomes eligible
// (AssignWaiting, what Run calls on kicks and every minute); enabled
// again by a reload, its waiting sessions go.
func TestDisabledQueueAssignsNothing(t *testing.T) {
	s := &strategyRun{t: t, clock: testutil.NewClock(), dir: t.TempDir()}
	nobody := [3]string{"auto_assign = false", "auto_assign = false", "auto_assign = false"}
	s.open("least_active", nobody)
	if got := s.desk(2); got != "- -" {
		t.Fatalf("with nobody eligible sessions went to %s", got)
	}
	reload := func(enabled string) {
		t.Helper()
		cfg := testutil.Config(t, strings.Replace(strategyDesk("least_active", [3]string{}), "strategy =", enabled+"\nstrategy =", 1))
		if err := s.r.Reload(ctx, cfg); err != nil {
			t.Fatal(err)
		}
	}
	reload("enabled = false")
	if n, err := s.r.AssignWaiting(ctx); err != nil || n != 0 {
		t.Errorf("AssignWaiting in a disabled queue = %d, %v; want 0", n, err)
	}
	reload("enabled = true")
	if n, err := s.r.AssignWaiting(ctx); err != nil || n != 2 {
		t.Errorf("AssignWaiting once enabled = %d, %v; want 2", n, err)
	}
}

// A reload changes a queue's strategy for the next assignment.
func TestStrategyChangedByReload(t *testing.T) {
	s := newStrategyRun(t, "least_active", [3]string{})
	if got, want := s.desk(6), repeat("ben cid", 3); got != want {
		t.Fatalf("least_active before the reload: got %s, want %s", got, want)
	}
	skills := [3]string{"", "", "skills = { Desk = 9 }"}
	if err := s.r.Reload(ctx, testutil.Config(t, strategyDesk("skills", skills))); err != nil {
		t.Fatal(err)
	}
	if got, want := s.desk(3), "cid cid cid"; got != want {
		t.Errorf("skills after the reload: got %s, want %s", got, want)
	}
}
