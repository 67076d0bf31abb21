package imapserver_test

// Auto-assignment and presence (SPEC §6) as agents' IMAP clients live them:
// presence is real imapclient connections, time is an injected clock, and
// the tests call AssignWaiting and RunDue themselves (what router.Run does
// every minute and on kicks), so nothing sleeps.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"mxdesk/imapserver"
	"mxdesk/router"
	"mxdesk/testutil"
)

// The Desk queue's people: three agents and a supervisor.
const (
	ann = "ann@example.test"
	ben = "ben@example.test"
	cid = "cid@example.test"
	sam = "sam@example.test" // supervisor of Desk
)

// desk configures the Desk queue (desk@example.test, auto_assign) and its
// people on top of testutil.Config.
type desk struct {
	queue  string            // more keys of the [[queue]] table, [queue.hours] last
	agents map[string]string // more keys of an [[agent]] table, by login
	more   string            // tables after the agents ([[route]] ...)
}

func (d desk) toml() string {
	var b strings.Builder
	fmt.Fprintf(&b, "[[queue]]\nname = \"Desk\"\naddresses = [\"desk@example.test\"]\nauto_assign = true\n%s\n", d.queue)
	for _, login := range []string{ann, ben, cid, sam} {
		role := "agent"
		if login == sam {
			role = "supervisor"
		}
		fmt.Fprintf(&b, "[[agent]]\nlogin = %q\npassword_hash = %q\nqueues = [\"Desk\"]\nrole = %q\n%s\n",
			login, testutil.PasswordHash(), role, d.agents[login])
	}
	b.WriteString(d.more)
	return b.String()
}

// newDeskHarness is a server with the Desk queue and a fake clock.
func newDeskHarness(t *testing.T, d desk) *harness {
	t.Helper()
	return newHarnessWith(t, harnessConfig{
		extra: d.toml(),
		opts:  imapserver.Options{InsecureAuth: true},
		clock: testutil.NewClock(),
	})
}

// toDesk delivers a new customer message to desk@; id is its Message-ID.
func (h *harness) toDesk(id string) router.Delivered {
	h.t.Helper()
	return h.deliverMail([]string{"desk@example.test"}, mail{
		from: "carla@customer.test", to: "desk@example.test", subject: "About " + id, id: id,
	})
}

// agentOf is the agent session id is assigned to ("" while it waits).
func (h *harness) agentOf(id string) string {
	h.t.Helper()
	return h.report(id).Session.Agent
}

// wantAgent checks who session d went to, and where it was filed.
func (h *harness) wantAgent(d router.Delivered, want string) {
	h.t.Helper()
	folder := "INBOX"
	if want == "" {
		folder = "Queues/Desk"
	}
	if got := h.agentOf(d.Session); got != want || d.Folder != folder {
		h.t.Errorf("session %s (%s): agent %q in %s, want %q in %s", d.Session, d.MessageID, got, d.Folder, want, folder)
	}
}

// assignWaiting runs the catch-up assignment and checks how many it did.
func (h *harness) assignWaiting(want int) {
	h.t.Helper()
	n, err := h.r.AssignWaiting(context.Background())
	if err != nil || n != want {
		h.t.Fatalf("AssignWaiting = %d, %v; want %d", n, err, want)
	}
}

// advance moves the clock by d; each client then sends NOOP, so that it
// stays present (a silent connection goes absent after presence_timeout).
func (h *harness) advance(d time.Duration, clients ...*client) {
	h.t.Helper()
	h.clock.Advance(d)
	for _, c := range clients {
		c.noop()
	}
}

// advanceTo moves the clock forward to t, as advance does.
func (h *harness) advanceTo(t time.Time, clients ...*client) {
	h.t.Helper()
	d := t.Sub(h.clock.Now())
	if d < 0 {
		h.t.Fatalf("clock at %s, can't go back to %s", h.clock.Now(), t)
	}
	h.advance(d, clients...)
}

// events returns the details of session id's events of kind, in order.
func (h *harness) events(id, kind string) []string {
	h.t.Helper()
	var out []string
	for _, e := range h.report(id).Events {
		if e.Kind == kind {
			out = append(out, e.Detail)
		}
	}
	return out
}

// state returns an agent's status as supervisors see it.
func (h *harness) state(login string) router.AgentStatus {
	h.t.Helper()
	all, err := h.r.AgentStatuses()
	if err != nil {
		h.t.Fatal(err)
	}
	for _, a := range all {
		if a.Login == login {
			return a
		}
	}
	h.t.Fatalf("no agent %s in AgentStatuses", login)
	return router.AgentStatus{}
}

// deskWaiting is the Desk entry of WaitingStats.
func (h *harness) deskWaiting() router.QueueWaiting {
	h.t.Helper()
	stats, err := h.r.WaitingStats()
	if err != nil {
		h.t.Fatal(err)
	}
	for _, q := range stats {
		if q.Queue == "Desk" {
			return q
		}
	}
	h.t.Fatal("no Desk in WaitingStats")
	return router.QueueWaiting{}
}

// logout ends c with LOGOUT and waits until the server has closed the
// connection, which it does after ending the connection's presence.
func logout(t *testing.T, c *client) {
	t.Helper()
	if err := c.Logout().Wait(); err != nil {
		t.Fatalf("LOGOUT: %v", err)
	}
	select {
	case <-c.Closed():
	case <-time.After(waitTimeout):
		t.Fatal("the server did not close the connection after LOGOUT")
	}
}

// move moves the message with a Message-ID from the selected mailbox.
func (c *client) move(messageID, dest string) {
	c.t.Helper()
	if _, err := c.Move(imap.UIDSetNum(c.uidOf(messageID)), dest).Wait(); err != nil {
		c.t.Fatalf("MOVE %s to %s: %v", messageID, dest, err)
	}
}

// resolve moves the session of a message in the agent's INBOX to Resolved,
// which takes it off the agent's load.
func (h *harness) resolve(who, messageID string) {
	h.t.Helper()
	c := h.login(who)
	c.selectBox("INBOX")
	c.move(messageID, "Resolved")
	logout(h.t, c)
}

func loginAll(h *harness, who ...string) []*client {
	h.t.Helper()
	var out []*client
	for _, w := range who {
		out = append(out, h.login(w))
	}
	return out
}

// The agent with the fewest active sessions gets the next one; among
// equals, the one whose last assignment is oldest (never assigned counts
// as oldest), not the first in the configuration.
func TestAutoAssignBalancing(t *testing.T) {
	t.Parallel()
	h := newDeskHarness(t, desk{})
	c := h.login(cid)
	h.wantAgent(h.toDesk("b1@customer.test"), cid)
	cs := append(loginAll(h, ann, ben), c)

	for _, step := range []struct {
		id, want, why string
	}{
		{"b2", ann, "0 active each, never assigned: configuration order"},
		{"b3", ben, "fewest active"},
		{"b4", cid, "1 active each: cid's last assignment is the oldest"},
		{"b5", ann, "1 active each after cid: ann's is the oldest"},
		{"b6", ben, "fewest active"},
	} {
		h.advance(time.Minute, cs...)
		d := h.toDesk(step.id + "@customer.test")
		if got := h.agentOf(d.Session); got != step.want {
			t.Fatalf("%s went to %q, want %s (%s)", step.id, got, step.want, step.why)
		}
		if ev := h.events(d.Session, "assigned"); len(ev) != 1 || ev[0] != "auto-assigned to "+step.want+" (new session)" {
			t.Errorf("%s: assigned events %q", step.id, ev)
		}
	}
	// 2 active each; ben resolves one and has the fewest, although his
	// last assignment is the newest.
	h.resolve(ben, "b3@customer.test")
	h.advance(time.Minute, cs...)
	h.wantAgent(h.toDesk("b7@customer.test"), ben)

	for who, n := range map[string]int{ann: 2, ben: 2, cid: 2} {
		if st := h.state(who); st.Active != n || st.State != router.StateAvailable || !st.Present {
			t.Errorf("%s: %+v, want available, present, %d active", who, st, n)
		}
	}
	ib := h.login(ben)
	ib.selectBox("INBOX")
	ib.wantStatus(2, router.StatusUnopened)
}

// logged_in_only: only agents with an IMAP connection get sessions; the
// last connection's LOGOUT ends presence at once; a connection silent
// for longer than presence_timeout (31m) does not count until it speaks.
func TestAssignLoggedInOnly(t *testing.T) {
	t.Parallel()
	h := newDeskHarness(t, desk{})
	a, b1, b2 := h.login(ann), h.login(ben), h.login(ben)
	h.wantAgent(h.toDesk("l1@customer.test"), ann)
	h.wantAgent(h.toDesk("l2@customer.test"), ben)
	h.wantAgent(h.toDesk("l3@customer.test"), ann)
	h.resolve(ben, "l2@customer.test")

	// One of ben's two connections ends: he is still here.
	logout(t, b1)
	if !h.r.Present(ben) {
		t.Fatal("ben absent with one connection left")
	}
	h.wantAgent(h.toDesk("l4@customer.test"), ben)
	h.resolve(ben, "l4@customer.test")
	// His last one ends: absent at once, although he has the fewest.
	logout(t, b2)
	if h.r.Present(ben) || h.state(ben).State != router.StateOffline {
		t.Fatalf("ben after his last LOGOUT: %+v", h.state(ben))
	}
	h.wantAgent(h.toDesk("l5@customer.test"), ann)

	// ann's connection, in IDLE, stays silent for presence_timeout.
	stop := h.idleRunning(ann, a, "l1@customer.test")
	h.clock.Advance(30 * time.Minute)
	if !h.r.Present(ann) {
		t.Fatal("ann absent 30 minutes into IDLE")
	}
	h.clock.Advance(time.Minute)
	if h.r.Present(ann) {
		t.Fatal("ann present after 31 silent minutes")
	}
	d := h.toDesk("l6@customer.test")
	h.wantAgent(d, "") // cid never logged in, ben left, ann is silent
	h.assignWaiting(0)
	stop() // DONE: she speaks again
	a.noop()
	h.assignWaiting(1)
	if got := h.agentOf(d.Session); got != ann {
		t.Errorf("after ann spoke again: %q", got)
	}
	if h.state(cid).Active != 0 {
		t.Errorf("cid, never logged in, has sessions: %+v", h.state(cid))
	}
}

// idleRunning starts IDLE on c, who's connection, and returns once the
// server's Idle runs: it has renewed presence (the library answers
// "+ idling" before it calls Idle, so a clock moved at the continuation
// races the renewal). The proof is a flag that another connection of
// who's sets on messageID in INBOX, which reaches c as a FETCH.
func (h *harness) idleRunning(who string, c *client, messageID string) (stop func()) {
	h.t.Helper()
	c.selectBox("INBOX")
	stop = c.idle()
	other := h.login(who)
	other.selectBox("INBOX")
	if err := other.Store(imap.UIDSetNum(other.uidOf(messageID)), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Close(); err != nil {
		h.t.Fatalf("STORE +FLAGS \\Flagged on %s: %v", messageID, err)
	}
	c.waitFetch()
	logout(h.t, other)
	return stop
}

// A client that polls with NOOP (no IDLE) stays present: NOOP reaches the
// session only through Poll, which must count as the client speaking.
func TestPresenceRenewedByNoop(t *testing.T) {
	t.Parallel()
	h := newDeskHarness(t, desk{})
	a := h.login(ann)
	a.selectBox("INBOX")
	for i := 0; i < 6; i++ {
		h.advance(20*time.Minute, a)
	}
	if !h.r.Present(ann) {
		t.Fatal("a client polling with NOOP every 20 minutes went absent")
	}
	h.wantAgent(h.toDesk("n1@customer.test"), ann)
}

// logged_in_only = false: agents get sessions without a connection.
func TestAssignNotLoggedInOnly(t *testing.T) {
	t.Parallel()
	h := newDeskHarness(t, desk{queue: "logged_in_only = false"})
	h.wantAgent(h.toDesk("x1@customer.test"), ann)
	h.wantAgent(h.toDesk("x2@customer.test"), ben)
	h.wantAgent(h.toDesk("x3@customer.test"), cid)
	if st := h.state(ann); st.State != router.StateOffline || st.Active != 1 {
		t.Errorf("ann: %+v, want offline with 1 active", st)
	}
}

// max_active caps an agent's concurrent sessions; a session nobody can
// take waits and goes to the first who drops below the cap. Claiming
// from the queue ignores the cap.
func TestAssignMaxActive(t *testing.T) {
	t.Parallel()
	h := newDeskHarness(t, desk{agents: map[string]string{ann: "max_active = 1", ben: "max_active = 2"}})
	loginAll(h, ann, ben)
	h.wantAgent(h.toDesk("m1@customer.test"), ann)
	h.wantAgent(h.toDesk("m2@customer.test"), ben)
	h.wantAgent(h.toDesk("m3@customer.test"), ben)
	d := h.toDesk("m4@customer.test")
	h.wantAgent(d, "")
	h.assignWaiting(0)

	h.resolve(ann, "m1@customer.test")
	h.assignWaiting(1)
	if got := h.agentOf(d.Session); got != ann {
		t.Fatalf("m4 after ann resolved m1: %q", got)
	}

	d = h.toDesk("m5@customer.test")
	h.wantAgent(d, "")
	b := h.login(ben)
	b.selectBox("Queues/Desk")
	b.move("m5@customer.test", "INBOX")
	if got := h.agentOf(d.Session); got != ben || h.state(ben).Active != 3 {
		t.Errorf("ben's claim over his max_active: agent %q, %+v", got, h.state(ben))
	}
}

// daily_cap counts auto-assignments per agent per day in the queue's time
// zone: Asia/Tokyo's midnight is 15:00 UTC. Claiming ignores the cap.
func TestAssignDailyCap(t *testing.T) {
	t.Parallel()
	h := newDeskHarness(t, desk{queue: "daily_cap = 2\n[queue.hours]\ntimezone = \"Asia/Tokyo\""})
	a := h.login(ann) // 2026-03-02 09:00 UTC, 18:00 in Tokyo
	h.wantAgent(h.toDesk("c1@customer.test"), ann)
	h.wantAgent(h.toDesk("c2@customer.test"), ann)
	d3 := h.toDesk("c3@customer.test")
	h.wantAgent(d3, "")

	h.advanceTo(time.Date(2026, 3, 2, 14, 59, 0, 0, time.UTC), a) // 23:59 in Tokyo
	h.assignWaiting(0)
	h.advance(time.Minute, a) // midnight in Tokyo
	h.assignWaiting(1)
	if got := h.agentOf(d3.Session); got != ann {
		t.Fatalf("c3 after midnight in Tokyo: %q", got)
	}
	h.wantAgent(h.toDesk("c4@customer.test"), ann)
	d5 := h.toDesk("c5@customer.test")
	h.wantAgent(d5, "")

	a.selectBox("Queues/Desk")
	a.move("c5@customer.test", "INBOX")
	if got := h.agentOf(d5.Session); got != ann {
		t.Errorf("ann's claim over the daily cap: %q", got)
	}
}

// business_hours_only: sessions wait while the queue is closed and are
// assigned when it opens, by the wall clock of Europe/Rome across the
// change to summer time on 2026-03-29 (02:00 CET → 03:00 CEST) and with a
// holiday.
func TestAssignBusinessHours(t *testing.T) {
	t.Parallel()
	h := newDeskHarness(t, desk{queue: `business_hours_only = true
[queue.hours]
timezone = "Europe/Rome"
mon = "09:00-17:00"
tue = "09:00-17:00"
wed = "09:00-17:00"
thu = "09:00-17:00"
fri = "09:00-17:00"
sat = "09:00-17:00"
sun = "02:30-12:00"
holidays = ["2026-03-31"]`})
	a := h.login(ann)
	utc := func(d, hh, mm int) time.Time { return time.Date(2026, 3, d, hh, mm, 0, 0, time.UTC) }
	steps := []struct {
		at   time.Time
		open bool
		what string
	}{
		{utc(2, 9, 0), true, "Mon 10:00 CET"},
		{utc(28, 7, 59), false, "Sat 08:59 CET"},
		{utc(28, 8, 0), true, "Sat 09:00 CET"},
		{utc(28, 15, 59), true, "Sat 16:59 CET"},
		{utc(28, 16, 0), false, "Sat 17:00 CET"},
		{utc(29, 0, 59), false, "Sun 01:59 CET"},
		{utc(29, 1, 0), true, "Sun 03:00 CEST: 02:30 does not exist, the change opens"},
		{utc(30, 6, 59), false, "Mon 08:59 CEST (07:59 at the winter offset)"},
		{utc(30, 7, 0), true, "Mon 09:00 CEST"},
		{utc(30, 14, 59), true, "Mon 16:59 CEST"},
		{utc(30, 15, 0), false, "Mon 17:00 CEST"},
		{utc(31, 7, 0), false, "Tue 09:00 CEST, a holiday"},
		{utc(31, 12, 0), false, "Tue 14:00 CEST, a holiday"},
		{time.Date(2026, 4, 1, 7, 0, 0, 0, time.UTC), true, "Wed 09:00 CEST"},
	}
	waiting := 0
	for i, st := range steps {
		h.advanceTo(st.at, a)
		want := 0
		if st.open {
			want, waiting = waiting, 0
		}
		if n, err := h.r.AssignWaiting(context.Background()); err != nil || n != want {
			t.Fatalf("%s: AssignWaiting = %d, %v; want %d", st.what, n, err, want)
		}
		d := h.toDesk(fmt.Sprintf("h%d@customer.test", i))
		if got := h.agentOf(d.Session); (got == ann) != st.open {
			t.Errorf("%s (%s UTC): new session assigned to %q, want open=%v", st.what, st.at.Format("01-02 15:04"), got, st.open)
		}
		if !st.open {
			waiting++
		}
	}
}

// A session nobody can take waits in Queues/Desk, counted by the KPI
// alarm once older than kpi_wait_alarm; when an agent logs in, the
// waiting sessions go to them, longest waiting first, into their INBOX
// while they watch.
func TestAssignCatchUpOnLogin(t *testing.T) {
	t.Parallel()
	h := newDeskHarness(t, desk{queue: `kpi_wait_alarm = "4h"`, agents: map[string]string{ann: "max_active = 1"}})
	s := h.login(sam)
	s.selectBox("Queues/Desk")
	stopSam := s.idle()
	d1 := h.toDesk("w1@customer.test")
	h.wantAgent(d1, "")
	s.waitExists(1)
	h.clock.Advance(3 * time.Hour)
	d2 := h.toDesk("w2@customer.test")
	s.waitExists(2)
	stopSam()
	h.clock.Advance(2 * time.Hour)

	if got := h.deskWaiting(); got != (router.QueueWaiting{Queue: "Desk", Waiting: 2, Oldest: 5 * time.Hour, Alarms: 1}) {
		t.Errorf("WaitingStats = %+v, want 2 waiting, the oldest 5h, 1 over 4h", got)
	}
	list, err := h.r.ListSessions(router.SessionFilter{Waiting: true})
	if err != nil || len(list) != 2 || list[0].ID != d1.Session || list[1].ID != d2.Session {
		t.Errorf("waiting sessions = %+v, %v; want %s then %s", list, err, d1.Session, d2.Session)
	}

	a := h.login(ann)
	a.selectBox("INBOX")
	stop := a.idle()
	h.assignWaiting(1) // max_active 1: the one that waited longest
	a.waitExists(1)
	stop()
	if h.agentOf(d1.Session) != ann || h.agentOf(d2.Session) != "" {
		t.Fatalf("after ann logged in: w1 to %q, w2 to %q; want w1 to ann", h.agentOf(d1.Session), h.agentOf(d2.Session))
	}
	a.wantStatus(1, router.StatusUnopened)
	if ev := h.events(d1.Session, "assigned"); len(ev) != 1 || !strings.HasPrefix(ev[0], "auto-assigned to "+ann+" (waited since ") {
		t.Errorf("assigned events %q", ev)
	}
	if got := h.deskWaiting(); got.Waiting != 1 || got.Oldest != 2*time.Hour || got.Alarms != 0 {
		t.Errorf("WaitingStats after one assignment = %+v", got)
	}

	stop = a.idle()
	h.resolve(ann, "w1@customer.test")
	a.waitExpunge()
	h.assignWaiting(1)
	a.waitExists(1)
	stop()
	if got := h.deskWaiting(); got != (router.QueueWaiting{Queue: "Desk"}) {
		t.Errorf("WaitingStats with nothing waiting = %+v", got)
	}
}

// An offer not opened within offer_timeout (30m) is taken back and
// offered to the next agent, never the same one twice in a row, each
// step an event; opening it ends the rotation.
func TestOfferTimeoutRotation(t *testing.T) {
	t.Parallel()
	h := newDeskHarness(t, desk{})
	cs := loginAll(h, ann, ben, cid)
	d := h.toDesk("o1@customer.test")
	h.wantAgent(d, ann)

	b := h.login(ben)
	b.selectBox("INBOX")
	stop := b.idle()
	h.advance(29*time.Minute, cs...)
	h.runDue(0)
	h.advance(time.Minute, cs...)
	h.runDue(1)
	b.waitExists(1)
	stop()
	if got := h.agentOf(d.Session); got != ben {
		t.Fatalf("after ann's offer expired: %q, want ben", got)
	}
	h.runDue(0) // once

	h.advance(30*time.Minute, cs...)
	h.runDue(1)
	if got := h.agentOf(d.Session); got != cid {
		t.Fatalf("after ben's offer expired: %q, want cid (ann's last assignment is newer)", got)
	}
	h.advance(30*time.Minute, cs...)
	h.runDue(1)
	if got := h.agentOf(d.Session); got != ann {
		t.Fatalf("after cid's offer expired: %q, want ann", got)
	}
	wantEvents := []string{
		"auto-assigned to " + ann + " (new session)",
		ann + " did not open it within 30m0s",
		"auto-assigned to " + ben + " (offer of " + ann + " expired)",
		ben + " did not open it within 30m0s",
		"auto-assigned to " + cid + " (offer of " + ben + " expired)",
		cid + " did not open it within 30m0s",
		"auto-assigned to " + ann + " (offer of " + cid + " expired)",
	}
	var got []string
	for _, e := range h.report(d.Session).Events {
		if e.Kind == "assigned" || e.Kind == "offer-expired" {
			got = append(got, e.Detail)
		}
	}
	if !slices.Equal(got, wantEvents) {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantEvents, "\n"))
	}

	// ann reads it: opened, no more offers.
	a := cs[0]
	a.selectBox("INBOX")
	store(t, a, imap.UIDSetNum(a.uidOf("o1@customer.test")), imap.StoreFlagsAdd, imap.FlagSeen)
	h.advance(time.Hour, cs...)
	h.runDue(0)
	if rep := h.report(d.Session); rep.Session.Agent != ann || rep.Session.Status != router.StatusActive {
		t.Errorf("opened session: agent %q, %s", rep.Session.Agent, rep.Session.Status)
	}
}

// With nobody else to take it, an expired offer waits in the queue rather
// than going back to the same agent; the agent is in RONA until their
// next command, then takes the sessions behind it; it goes to the next
// agent who logs in.
func TestOfferTimeoutSoleAgent(t *testing.T) {
	t.Parallel()
	h := newDeskHarness(t, desk{})
	a := h.login(ann)
	d := h.toDesk("s1@customer.test")
	h.wantAgent(d, ann)
	h.advance(30*time.Minute, a)
	h.runDue(1)
	if rep := h.report(d.Session); rep.Session.Agent != "" || rep.Session.Status != router.StatusUnopened {
		t.Fatalf("expired with nobody else: agent %q, %s", rep.Session.Agent, rep.Session.Status)
	}
	h.assignWaiting(0)
	d2 := h.toDesk("s2@customer.test")
	h.wantAgent(d2, "") // ann is in RONA
	a.noop()
	h.assignWaiting(1)
	if got := h.agentOf(d2.Session); got != ann {
		t.Fatalf("after ann's NOOP: s2 to %q, want ann", got)
	}

	q := h.login(ann)
	q.selectBox("Queues/Desk")
	if n := len(q.uids()); n != 1 {
		t.Errorf("Queues/Desk has %d messages, want the expired offer", n)
	}
	h.login(ben)
	h.assignWaiting(1)
	if got := h.agentOf(d.Session); got != ben {
		t.Errorf("after ben logged in: %q", got)
	}
}

// Away, set by moving a message into Status/Away (which moves nothing),
// or by SetAway: no auto-assignment. Status/Available brings the agent
// back and wakes router.Run, which gives them what waits.
func TestAway(t *testing.T) {
	t.Parallel()
	h := newDeskHarness(t, desk{})
	a, b := h.login(ann), h.login(ben)
	h.wantAgent(h.toDesk("a1@customer.test"), ann)
	a.selectBox("INBOX")
	before := a.uids()
	a.move("a1@customer.test", "Status/Away")
	if after := a.uids(); !slices.Equal(after, before) {
		t.Errorf("INBOX after the move to Status/Away: %v, was %v", after, before)
	}
	if st := h.state(ann); st.State != router.StateAway || !st.Present {
		t.Fatalf("ann after Status/Away: %+v", st)
	}
	h.wantAgent(h.toDesk("a2@customer.test"), ben)
	h.wantAgent(h.toDesk("a3@customer.test"), ben) // ann has fewer and the older assignment, but is away

	b.selectBox("INBOX")
	b.move("a2@customer.test", "Status/Away")
	d4 := h.toDesk("a4@customer.test")
	h.wantAgent(d4, "")
	h.assignWaiting(0)

	// Back through Status/Available, with router.Run doing the rest.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	w := h.login(ann)
	w.selectBox("INBOX")
	stop := w.idle()
	a.move("a1@customer.test", "Status/Available")
	w.waitExists(2)
	stop()
	cancel()
	<-done
	if got := h.agentOf(d4.Session); got != ann || h.state(ann).State != router.StateAvailable {
		t.Fatalf("after Status/Available: a4 to %q, ann %+v", got, h.state(ann))
	}

	// A supervisor's SetAway does the same.
	if err := h.r.SetAway(context.Background(), ann, true); err != nil {
		t.Fatal(err)
	}
	d5 := h.toDesk("a5@customer.test")
	h.wantAgent(d5, "")
	if err := h.r.SetAway(context.Background(), "ANN@example.test", false); err != nil {
		t.Fatal(err)
	}
	h.assignWaiting(1)
	if got := h.agentOf(d5.Session); got != ann {
		t.Errorf("after SetAway(false): a5 to %q", got)
	}
	if err := h.r.SetAway(context.Background(), "nobody@example.test", true); router.KindOf(err) != router.KindNotFound {
		t.Errorf("SetAway of an unknown agent: %v", err)
	}
}

// Supervisors take auto-assigned sessions only with auto_assign = true
// on their [[agent]].
func TestSupervisorAutoAssign(t *testing.T) {
	t.Parallel()
	h := newDeskHarness(t, desk{})
	h.login(sam)
	h.wantAgent(h.toDesk("v1@customer.test"), "")
	if st := h.state(sam); st.State != router.StateAvailable {
		t.Errorf("sam: %+v", st)
	}

	h = newDeskHarness(t, desk{agents: map[string]string{sam: "auto_assign = true"}})
	h.login(sam)
	h.wantAgent(h.toDesk("v2@customer.test"), sam)
}

// A restart keeps daily caps, away states and open offers: an offer due
// after the restart expires once.
func TestAssignRestart(t *testing.T) {
	t.Parallel()
	h := newDeskHarness(t, desk{queue: "daily_cap = 1"})
	loginAll(h, ann, ben)
	d1 := h.toDesk("r1@customer.test")
	h.wantAgent(d1, ann)
	h.wantAgent(h.toDesk("r2@customer.test"), ben)
	h.resolve(ben, "r2@customer.test")
	if err := h.r.SetAway(context.Background(), cid, true); err != nil {
		t.Fatal(err)
	}

	h.clock.Advance(10 * time.Minute)
	h.restart()
	if h.r.Present(ann) || h.state(cid).State != router.StateAway {
		t.Fatalf("after restart: ann present %v, cid %+v", h.r.Present(ann), h.state(cid))
	}
	cs := loginAll(h, ann, ben)
	// Both used their cap today: ben, with no active session, would get
	// it if the count had been lost.
	d3 := h.toDesk("r3@customer.test")
	h.wantAgent(d3, "")

	h.advance(19*time.Minute, cs...)
	h.runDue(0)
	h.advance(time.Minute, cs...)
	h.runDue(1)
	h.runDue(0)
	if got := h.agentOf(d1.Session); got != "" {
		t.Errorf("r1 after its offer expired with everyone at the cap: %q", got)
	}
	if ev := h.events(d1.Session, "offer-expired"); len(ev) != 1 {
		t.Errorf("offer-expired events: %q, want one", ev)
	}
	if got := h.deskWaiting(); got.Waiting != 2 {
		t.Errorf("waiting after the expiry: %+v", got)
	}
}

// A [[route]] with spam = true files new sessions in Queues/Desk/Spam,
// resolved, which only the queue's supervisors see, and never assigns
// or counts them as waiting.
func TestSpamRoute(t *testing.T) {
	t.Parallel()
	h := newDeskHarness(t, desk{more: "[[route]]\nsubject = \"lottery\"\nspam = true\n"})
	a, s, c := h.login(ann), h.login(sam), h.login(carol)
	d := h.deliverMail([]string{"desk@example.test"}, mail{
		from: "win@spam.test", to: "desk@example.test", subject: "You won the LOTTERY", id: "spam1@spam.test",
	})
	if d.Folder != "Queues/Desk/Spam" {
		t.Fatalf("spam filed in %q", d.Folder)
	}
	rep := h.report(d.Session)
	if rep.Session.Agent != "" || rep.Session.Status != router.StatusResolved || !rep.Session.Spam {
		t.Errorf("spam session: %+v", rep.Session)
	}
	if ev := h.events(d.Session, "assigned"); len(ev) != 0 {
		t.Errorf("spam assigned: %q", ev)
	}
	h.assignWaiting(0)
	if got := h.deskWaiting(); got.Waiting != 0 {
		t.Errorf("spam counted as waiting: %+v", got)
	}
	if list, _ := h.r.ListSessions(router.SessionFilter{Waiting: true}); len(list) != 0 {
		t.Errorf("spam listed as waiting: %+v", list)
	}

	if names := listNames(t, s, "", "Queues/*", nil); !slices.Contains(names, "Queues/Desk/Spam") {
		t.Errorf("sam, supervisor of Desk, does not list Queues/Desk/Spam: %v", names)
	}
	s.selectBox("Queues/Desk/Spam")
	if n := len(s.uids()); n != 1 {
		t.Errorf("sam sees %d messages in Queues/Desk/Spam, want 1", n)
	}
	for who, other := range map[string]*client{ann: a, carol: c} {
		if names := listNames(t, other, "", "Queues/*", nil); slices.Contains(names, "Queues/Desk/Spam") {
			t.Errorf("%s sees Queues/Desk/Spam: %v", who, names)
		}
		if _, err := other.Select("Queues/Desk/Spam", nil).Wait(); err == nil {
			t.Errorf("%s can select Queues/Desk/Spam", who)
		}
	}
	h.wantAgent(h.toDesk("ham@customer.test"), ann)
}

// Customer mail to a session that waits without agent assigns it, like a
// new session, whoever is eligible at that moment.
func TestAssignReplyToWaiting(t *testing.T) {
	t.Parallel()
	h := newDeskHarness(t, desk{})
	d := h.toDesk("p1@customer.test")
	h.wantAgent(d, "")
	h.login(ben) // no catch-up run: the reply does it
	r := h.deliverMail([]string{"desk@example.test"}, mail{
		from: "carla@customer.test", to: "desk@example.test", subject: "Re: About p1", id: "p2@customer.test", inReplyTo: "p1@customer.test",
	})
	if r.Session != d.Session || r.Folder != "INBOX" || h.agentOf(d.Session) != ben {
		t.Fatalf("reply: %+v, agent %q; want session %s in ben's INBOX", r, h.agentOf(d.Session), d.Session)
	}
	if ev := h.events(d.Session, "assigned"); len(ev) != 1 || ev[0] != "auto-assigned to "+ben+" (customer wrote to a waiting session)" {
		t.Errorf("assigned events %q", ev)
	}
	b := h.login(ben)
	b.selectBox("INBOX")
	b.wantStatus(2, router.StatusUnopened)
}
