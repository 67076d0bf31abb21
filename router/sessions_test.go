package router_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"mxdesk/config"
	"mxdesk/router"
	"mxdesk/store"
	"mxdesk/testutil"
	"mxdesk/testutil/teststore"
)

const day = 24 * time.Hour

// send delivers a message with the given header lines (From, Subject, ...)
// to rcpts.
func send(t *testing.T, r *router.Router, rcpts []string, header string) router.Delivered {
	t.Helper()
	d, err := r.Deliver(ctx, router.Envelope{From: "bounce@customer.test", To: rcpts}, []byte(header+"\r\nbody\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func session(t *testing.T, r *router.Router, id string) store.Session {
	t.Helper()
	var s store.Session
	err := r.View(func(rd store.Reader) (err error) {
		s, err = rd.Session(id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func eventKinds(t *testing.T, r *router.Router, id string) []string {
	t.Helper()
	rep, err := r.Report(id)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range rep.Events {
		kinds = append(kinds, e.Kind)
	}
	return kinds
}

func TestThreadingRules(t *testing.T) {
	r := newRouter(t)
	support := []string{"support@example.test"}
	first := send(t, r, support, "From: Carla <carla@customer.test>\r\nCc: dan@partner.test\r\nMessage-ID: <c1@customer.test>\r\nSubject: Broken printer\r\n")
	s := session(t, r, first.Session)
	if len(s.Token) < 12 || strings.Contains(strings.ToUpper(s.Token), strings.TrimPrefix(s.ID, "S-")) {
		t.Fatalf("token %q of %s", s.Token, s.ID)
	}
	if !slices.Equal(s.Participants, []string{"carla@customer.test", "dan@partner.test"}) {
		t.Errorf("participants = %v", s.Participants)
	}

	// 1. The reply token joins, whatever the subject and headers say.
	tokenAddr := "support+" + s.Token + "@example.test"
	if err := r.CheckRecipient(tokenAddr); err != nil {
		t.Fatalf("token address refused: %v", err)
	}
	for _, bad := range []string{"support+aaaaaaaaaaaaa@example.test", "support+" + strings.ToLower(s.ID) + "@example.test", "nobody+" + s.Token + "@example.test"} {
		if err := r.CheckRecipient(bad); err != router.ErrUnknownRecipient {
			t.Errorf("CheckRecipient(%s) = %v", bad, err)
		}
	}
	if d := send(t, r, []string{strings.ToUpper(tokenAddr)}, "From: someone@else.test\r\nSubject: unrelated\r\n"); d.Session != s.ID {
		t.Errorf("token mail went to %s, want %s", d.Session, s.ID)
	}

	// 2. The subject tag works for participants (a CC included) ...
	tagged := "Subject: Re: [" + s.ID + "] Broken printer\r\n"
	if d := send(t, r, support, "From: Dan <DAN@partner.test>\r\n"+tagged); d.Session != s.ID {
		t.Errorf("participant's tagged mail went to %s", d.Session)
	}
	// ... and not for a stranger, who gets a new session; the tagged
	// session records the attempt.
	hijack := send(t, r, support, "From: mallory@evil.test\r\n"+tagged)
	if hijack.Session == s.ID {
		t.Fatal("a stranger joined a session by copying its subject tag")
	}
	if kinds := eventKinds(t, r, s.ID); !slices.Contains(kinds, "tag-refused") {
		t.Errorf("no tag-refused event on %s: %v", s.ID, kinds)
	}

	// 3. References: a reply-all from someone new joins and becomes a
	// participant, who may then use the tag.
	if d := send(t, r, support, "From: erin@partner.test\r\nSubject: Re: printer\r\nIn-Reply-To: <c1@customer.test>\r\n"); d.Session != s.ID {
		t.Errorf("reply-all went to %s", d.Session)
	}
	if !slices.Contains(session(t, r, s.ID).Participants, "erin@partner.test") {
		t.Error("reply-all sender is not a participant")
	}
	if d := send(t, r, support, "From: erin@partner.test\r\n"+tagged); d.Session != s.ID {
		t.Errorf("new participant's tagged mail went to %s", d.Session)
	}

	// 4. Mail without a Message-ID gets one and threads like any other.
	noID := send(t, r, support, "From: fay@customer.test\r\nSubject: no id\r\n")
	if noID.MessageID == "" {
		t.Fatal("no Message-ID assigned")
	}
	if d := send(t, r, support, "From: fay@customer.test\r\nSubject: Re: no id\r\nReferences: <"+noID.MessageID+">\r\n"); d.Session != noID.Session {
		t.Errorf("reply to assigned Message-ID went to %s, want %s", d.Session, noID.Session)
	}
}

func TestTwoQueuesOneSession(t *testing.T) {
	r := newRouter(t)
	// The envelope names Support first, but the To header names Billing:
	// the queue in To wins, and only one session is made.
	d := send(t, r, []string{"support@example.test", "billing@example.test"},
		"From: carla@customer.test\r\nTo: billing@example.test\r\nCc: support@example.test\r\nSubject: both\r\n")
	s := session(t, r, d.Session)
	if s.Queue != "Billing" || d.Folder != "Queues/Billing" {
		t.Errorf("queue %s, folder %s; want Billing", s.Queue, d.Folder)
	}
	n := 0
	r.View(func(rd store.Reader) error {
		return rd.EachSession(func(store.Session) error { n++; return nil })
	})
	if n != 1 {
		t.Errorf("%d sessions, want 1", n)
	}
	// Our own addresses are never participants.
	if slices.ContainsFunc(s.Participants, func(p string) bool { return strings.HasSuffix(p, "@example.test") }) {
		t.Errorf("participants = %v", s.Participants)
	}
}

// lifecycle is a router with a fake clock and alice's handle on one
// delivered session.
type lifecycle struct {
	r     *router.Router
	clock *testutil.Clock
	alice *router.Agent
	id    string
	dir   string
	stop  func()
}

// openRouter opens a router on the store in dir; stop closes the store
// (tests restart on the same dir).
func openRouter(t *testing.T, cfg *config.Config, dir string, clock *testutil.Clock) (*router.Router, func()) {
	t.Helper()
	st := teststore.Open(t, dir, teststore.Options{})
	r, err := router.New(cfg, st, router.Options{Now: clock.Now})
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() { once.Do(func() { st.Close() }) }
	t.Cleanup(stop)
	return r, stop
}

func newLifecycle(t *testing.T, extra string) *lifecycle {
	t.Helper()
	clock := testutil.NewClock()
	dir := t.TempDir()
	r, stop := openRouter(t, testutil.Config(t, extra), dir, clock)
	l := &lifecycle{r: r, clock: clock, alice: login(t, r, "alice@example.test"), dir: dir, stop: stop}
	l.id = send(t, r, []string{"support@example.test"}, "From: carla@customer.test\r\nMessage-ID: <l1@customer.test>\r\nSubject: lifecycle\r\n").Session
	return l
}

// move moves every message of the session in alice's folder from into to.
func (l *lifecycle) move(t *testing.T, from, to string) error {
	t.Helper()
	f, err := l.r.Folder(l.alice, from)
	if err != nil {
		t.Fatal(err)
	}
	var uids []store.UID
	l.r.View(func(rd store.Reader) error {
		msgs, _ := rd.Messages(f.Mailbox, 0, 0)
		for _, m := range msgs {
			if m.Session == l.id {
				uids = append(uids, m.UID)
			}
		}
		return nil
	})
	if len(uids) == 0 {
		t.Fatalf("no message of %s in %s", l.id, from)
	}
	_, _, _, err = l.r.Move(ctx, l.alice, f.Mailbox, uids[:1], to, nil)
	return err
}

// where lists the folders holding the session's messages, with their
// status keyword, e.g. "All/Support $Active, alice@example.test:INBOX $Active".
func (l *lifecycle) where(t *testing.T) string {
	t.Helper()
	var out []string
	l.r.View(func(rd store.Reader) error {
		msgs, _ := rd.SessionMessages(l.id)
		for _, m := range msgs {
			mb, _ := rd.Mailbox(m.Mailbox)
			name := mb.Name
			if mb.Owner != "" {
				name = strings.TrimSuffix(mb.Owner, "@example.test") + ":" + name
			}
			kw := slices.DeleteFunc(slices.Clone(m.Flags), func(f string) bool { return !router.IsStatusKeyword(f) })
			out = append(out, name+" "+strings.Join(kw, ","))
		}
		return nil
	})
	slices.Sort(out)
	return strings.Join(slices.Compact(out), ", ")
}

func (l *lifecycle) runDue(t *testing.T, want int) {
	t.Helper()
	n, err := l.r.RunDue(ctx)
	if err != nil || n != want {
		t.Fatalf("RunDue = %d, %v; want %d transitions", n, err, want)
	}
}

func (l *lifecycle) status(t *testing.T) string { return session(t, l.r, l.id).Status }

func (l *lifecycle) reply(t *testing.T) router.Delivered {
	t.Helper()
	return send(t, l.r, []string{"support@example.test"}, "From: carla@customer.test\r\nIn-Reply-To: <l1@customer.test>\r\nSubject: Re: lifecycle\r\n")
}

func TestLifecycleMovesAndOpening(t *testing.T) {
	l := newLifecycle(t, "")
	if got := l.where(t); got != "All/Support $Unopened, Queues/Support $Unopened" {
		t.Fatalf("new session: %s", got)
	}
	if err := l.move(t, "Queues/Support", "INBOX"); err != nil {
		t.Fatal(err)
	}
	if got := l.where(t); got != "All/Support $Unopened, alice:INBOX $Unopened" {
		t.Fatalf("claimed: %s", got)
	}
	// Reading the latest inbound message opens the session.
	in, _ := l.r.Folder(l.alice, "INBOX")
	msgs, err := l.r.StoreFlags(ctx, l.alice, in.Mailbox, []store.UID{1}, router.FlagsAdd, []string{`\Seen`, "$Closed"}, nil)
	if err != nil || len(msgs) != 1 || !slices.Contains(msgs[0].Flags, "$Active") || slices.Contains(msgs[0].Flags, "$Closed") {
		t.Fatalf("after reading: %+v, %v", msgs, err)
	}
	if l.status(t) != router.StatusActive {
		t.Fatalf("status %s after reading", l.status(t))
	}
	// A second message: moving one moves the whole session.
	l.reply(t)
	if err := l.move(t, "INBOX", "Resolved"); err != nil {
		t.Fatal(err)
	}
	if got := l.where(t); got != "All/Support $Resolved, alice:Resolved $Resolved" {
		t.Fatalf("resolved: %s", got)
	}
	r := l.r
	res, _ := r.Folder(l.alice, "Resolved")
	r.View(func(rd store.Reader) error {
		if msgs, _ := rd.Messages(res.Mailbox, 0, 0); len(msgs) != 2 {
			t.Errorf("%d messages in Resolved, want 2", len(msgs))
		}
		return nil
	})
	if err := l.move(t, "Resolved", "INBOX"); err != nil || l.status(t) != router.StatusActive {
		t.Fatalf("resume: %v, status %s", err, l.status(t))
	}
	// Refused moves say why and change nothing.
	for dest, want := range map[string]string{
		"Trash":  "never deleted",
		"Later":  "no such folder",
		"Drafts": "stay on the desk",
	} {
		err := l.move(t, "INBOX", dest)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("move to %s: %v, want %q", dest, err, want)
		}
	}
	if got := l.where(t); got != "All/Support $Active, alice:INBOX $Active" {
		t.Errorf("after refused moves: %s", got)
	}
	// Transfer to another queue the agent serves needs carol (both queues).
	carol := login(t, r, "carol@example.test")
	in2, _ := r.Folder(l.alice, "INBOX")
	if _, _, _, err := r.Move(ctx, l.alice, in2.Mailbox, []store.UID{3}, "Queues/Support", nil); err != nil {
		t.Fatal(err)
	}
	qs, _ := r.Folder(carol, "Queues/Support")
	var uid store.UID
	r.View(func(rd store.Reader) error {
		msgs, _ := rd.Messages(qs.Mailbox, 0, 0)
		uid = msgs[0].UID
		return nil
	})
	if _, _, _, err := r.Move(ctx, carol, qs.Mailbox, []store.UID{uid}, "Queues/Billing", nil); err != nil {
		t.Fatal(err)
	}
	// Support keeps the history; Billing has it from now on.
	if got := l.where(t); got != "All/Billing $Unopened, All/Support $Unopened, Queues/Billing $Unopened" {
		t.Errorf("transferred: %s", got)
	}
	if kinds := eventKinds(t, r, l.id); !slices.Contains(kinds, "transferred") || !slices.Contains(kinds, "returned") {
		t.Errorf("events: %v", kinds)
	}
}

func TestTimersAndReopen(t *testing.T) {
	l := newLifecycle(t, "")
	if err := l.move(t, "Queues/Support", "INBOX"); err != nil {
		t.Fatal(err)
	}
	in, _ := l.r.Folder(l.alice, "INBOX")
	l.r.StoreFlags(ctx, l.alice, in.Mailbox, []store.UID{1}, router.FlagsAdd, []string{`\Seen`}, nil)

	l.clock.Advance(29 * day)
	l.runDue(t, 0)
	l.clock.Advance(2 * day)
	l.runDue(t, 1)
	if l.status(t) != router.StatusPaused {
		t.Fatalf("after 31 idle days: %s", l.status(t))
	}
	l.runDue(t, 0) // fires once
	l.clock.Advance(61 * day)
	l.runDue(t, 1)
	if got := l.where(t); got != "All/Support $Closed" {
		t.Fatalf("closed: %s", got)
	}
	// A reply inside the reopen window reopens it in alice's INBOX, the
	// earlier messages read, the new one not.
	l.clock.Advance(10 * day)
	if d := l.reply(t); d.Session != l.id || d.Folder != "INBOX" {
		t.Fatalf("reply in window: %+v", d)
	}
	if got := l.where(t); got != "All/Support $Reopened, alice:INBOX $Reopened" {
		t.Fatalf("reopened: %s", got)
	}
	l.r.View(func(rd store.Reader) error {
		msgs, _ := rd.Messages(in.Mailbox, 0, 0)
		var seen []bool
		for _, m := range msgs {
			seen = append(seen, slices.Contains(m.Flags, `\Seen`))
		}
		if !slices.Equal(seen, []bool{true, false}) {
			t.Errorf("INBOX seen flags after reopen: %v", seen)
		}
		return nil
	})
}

func TestReplyAfterWindowStartsLinkedSession(t *testing.T) {
	l := newLifecycle(t, "[sessions]\nreopen_window_days = 5\nresolved_to_closed_days = 1\n")
	if err := l.move(t, "Queues/Support", "Resolved"); err != nil {
		t.Fatal(err)
	}
	l.clock.Advance(day + time.Minute)
	l.runDue(t, 1)
	l.clock.Advance(6 * day)
	d := l.reply(t)
	if d.Session == l.id {
		t.Fatal("reply after the window reopened the old session")
	}
	s := session(t, l.r, d.Session)
	if s.Previous != l.id || s.Status != router.StatusUnopened || d.Folder != "Queues/Support" {
		t.Errorf("new session %+v in %s", s, d.Folder)
	}
	var raw []byte
	l.r.View(func(rd store.Reader) error {
		msgs, _ := rd.SessionMessages(d.Session)
		raw, _ = rd.Blob(msgs[0].Blob)
		return nil
	})
	if !strings.Contains(string(raw), "X-Mxdesk-Previous-Session: "+l.id+"\r\n") {
		t.Errorf("no link header in\n%s", raw)
	}
	if kinds := eventKinds(t, l.r, l.id); !slices.Contains(kinds, "continued") {
		t.Errorf("old session events: %v", kinds)
	}
}

func TestTimersSurviveRestart(t *testing.T) {
	clock := testutil.NewClock()
	cfg := testutil.Config(t, "[sessions]\nactive_to_paused_days = 0\nresolved_to_closed_days = 3\n")
	dir := t.TempDir()
	var ids []string
	func() {
		r, stop := openRouter(t, cfg, dir, clock)
		alice := login(t, r, "alice@example.test")
		q, _ := r.Folder(alice, "Queues/Support")
		for i := range 3 {
			d := send(t, r, []string{"support@example.test"}, fmt.Sprintf("From: c%d@customer.test\r\nSubject: %d\r\n", i, i))
			ids = append(ids, d.Session)
		}
		if _, _, _, err := r.Move(ctx, alice, q.Mailbox, []store.UID{1, 2, 3}, "Resolved", nil); err != nil {
			t.Fatal(err)
		}
		stop()
	}()
	clock.Advance(4 * day) // the server was down when the timers fell due
	r, stop := openRouter(t, cfg, dir, clock)
	defer stop()
	if n, err := r.RunDue(ctx); err != nil || n != 3 {
		t.Fatalf("after restart RunDue = %d, %v", n, err)
	}
	for _, id := range ids {
		if s := session(t, r, id); s.Status != router.StatusClosed || !s.Due.IsZero() {
			t.Errorf("%s: %s, due %v", id, s.Status, s.Due)
		}
	}
	if n, _ := r.RunDue(ctx); n != 0 {
		t.Errorf("timers fired again: %d", n)
	}
}

func TestConfigThresholdChangeMovesTimer(t *testing.T) {
	l := newLifecycle(t, "[sessions]\nresolved_to_closed_days = 1\n")
	if err := l.move(t, "Queues/Support", "Resolved"); err != nil {
		t.Fatal(err)
	}
	// Reopen the store with a longer threshold: the old due time passes
	// without closing the session.
	l.stop()
	cfg := testutil.Config(t, "[sessions]\nresolved_to_closed_days = 10\n")
	r2, stop := openRouter(t, cfg, l.dir, l.clock)
	defer stop()
	l.clock.Advance(2 * day)
	if n, _ := r2.RunDue(ctx); n != 0 || session(t, r2, l.id).Status != router.StatusResolved {
		t.Fatalf("closed by the old threshold")
	}
	l.clock.Advance(9 * day)
	if n, _ := r2.RunDue(ctx); n != 1 || session(t, r2, l.id).Status != router.StatusClosed {
		t.Fatalf("not closed by the new threshold")
	}
}

func TestShortenedThresholdApplies(t *testing.T) {
	l := newLifecycle(t, "")
	if err := l.move(t, "Queues/Support", "Resolved"); err != nil {
		t.Fatal(err)
	}
	l.stop()
	r2, stop := openRouter(t, testutil.Config(t, "[sessions]\nresolved_to_closed_days = 2\n"), l.dir, l.clock)
	defer stop()
	if n, err := r2.Reschedule(ctx); err != nil || n != 1 {
		t.Fatalf("Reschedule = %d, %v", n, err)
	}
	l.clock.Advance(3 * day)
	if n, _ := r2.RunDue(ctx); n != 1 || session(t, r2, l.id).Status != router.StatusClosed {
		t.Fatal("the shortened threshold did not close the session")
	}
}
