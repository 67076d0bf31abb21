package imapserver_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// Two agents idle on the shared queue folder; a third connection changes
// it. Both see every change as it happens.
func TestIdleTwoAgents(t *testing.T) {
	h := newHarness(t)
	h.deliver("carla@customer.test", "first", "x")
	a, c := h.login(alice), h.login(carol)
	a.selectBox("Queues/Support")
	c.selectBox("Queues/Support")
	stopA, stopC := a.idle(), c.idle()

	h.deliver("dan@customer.test", "second", "x")
	a.waitExists(2)
	c.waitExists(2)

	x := h.login(alice)
	x.selectBox("Queues/Support")
	store(t, x, imap.UIDSetNum(2), imap.StoreFlagsAdd, imap.FlagFlagged)
	for _, cl := range []*client{a, c} {
		f := cl.waitFetch()
		if f.SeqNum != 2 || f.UID != 2 || !slices.Contains(f.Flags, imap.FlagFlagged) {
			t.Errorf("unilateral FETCH = %+v", f)
		}
	}

	// A new keyword (a Thunderbird tag) first extends FLAGS.
	store(t, x, imap.UIDSetNum(1), imap.StoreFlagsAdd, "$label2")
	for _, cl := range []*client{a, c} {
		if fl := cl.waitFlags(); !slices.Contains(fl, "$label2") || !slices.Contains(fl, imap.FlagSeen) {
			t.Errorf("FLAGS = %v", fl)
		}
		if f := cl.waitFetch(); f.SeqNum != 1 || !slices.Contains(f.Flags, "$label2") {
			t.Errorf("FETCH after new keyword = %+v", f)
		}
	}
	if err := x.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	select {
	case f := <-x.fetch:
		t.Errorf("the storing connection got its own change echoed: %+v", f)
	default:
	}

	// Claiming the first message expunges it everywhere.
	if _, err := x.Move(imap.UIDSetNum(1), "INBOX").Wait(); err != nil {
		t.Fatal(err)
	}
	for _, cl := range []*client{a, c, x} {
		if seq := cl.waitExpunge(); seq != 1 {
			t.Errorf("EXPUNGE %d, want 1", seq)
		}
	}
	stopA()
	stopC()
	for _, cl := range []*client{a, c, x} {
		if got := cl.uids(); !slices.Equal(got, []imap.UID{2}) {
			t.Errorf("UIDs = %v", got)
		}
	}
	// The move came through the claimer's own tracker exactly once.
	select {
	case seq := <-x.expunge:
		t.Errorf("second EXPUNGE %d", seq)
	default:
	}
}

// Expunges made by one connection reach the other with sequence numbers
// that match its own view, and nothing is reported twice.
func TestExpungeTwoConnections(t *testing.T) {
	h := newHarness(t)
	a, b := h.login(alice), h.login(alice)
	for i := 0; i < 5; i++ {
		appendMsg(t, a, "INBOX", "Subject: m\r\n\r\nx\r\n", nil)
	}
	a.selectBox("INBOX")
	b.selectBox("INBOX")
	store(t, a, imap.UIDSetNum(2, 4), imap.StoreFlagsAdd, imap.FlagDeleted)
	exp, err := a.Expunge().Collect()
	if err != nil || !slices.Equal(exp, []uint32{2, 3}) {
		t.Fatalf("EXPUNGE = %v, %v", exp, err)
	}
	if err := a.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	if len(a.expunge) != 0 {
		t.Errorf("expunging connection got %d more EXPUNGE", len(a.expunge))
	}

	// b has not been told yet: FETCH can't send EXPUNGE (RFC 3501 7.4.1),
	// so its sequence numbers stay as they were.
	m, err := b.Fetch(imap.SeqSetNum(3, 5), &imap.FetchOptions{UID: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 2 || m[0].SeqNum != 3 || m[0].UID != 3 || m[1].SeqNum != 5 || m[1].UID != 5 {
		t.Errorf("FETCH before NOOP = %+v", m)
	}
	if err := b.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	if s1, s2 := b.waitExpunge(), b.waitExpunge(); s1 != 2 || s2 != 3 {
		t.Errorf("b got EXPUNGE %d, %d", s1, s2)
	}
	for _, cl := range []*client{a, b} {
		if got := cl.uids(); !slices.Equal(got, []imap.UID{1, 3, 5}) {
			t.Errorf("UIDs = %v", got)
		}
	}
}

// \Recent (RFC 3501 2.3.2): recent for the first session that learns of a
// message; EXAMINE shows but doesn't take.
func TestRecent(t *testing.T) {
	h := newHarness(t)
	h.deliver("carla@customer.test", "one", "x")
	h.deliver("carla@customer.test", "two", "x")

	rc := h.raw()
	rc.cmd("a", "LOGIN carol@example.test secret")
	lines, _ := rc.cmd("b", "EXAMINE Queues/Support")
	if !slices.Contains(lines, "* 2 RECENT") {
		t.Errorf("EXAMINE = %q", lines)
	}
	rc.cmd("c", "CLOSE")

	a := h.login(alice)
	a.selectBox("Queues/Support")
	if got := recentUIDs(t, a); !slices.Equal(got, []imap.UID{1, 2}) {
		t.Errorf("alice's recent = %v", got)
	}
	c := h.login(carol)
	c.selectBox("Queues/Support")
	if got := recentUIDs(t, c); len(got) != 0 {
		t.Errorf("carol's recent = %v", got)
	}

	// A new message is recent for whoever hears of it first.
	h.deliver("carla@customer.test", "three", "x")
	if err := c.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	if err := a.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	if got := recentUIDs(t, c); !slices.Equal(got, []imap.UID{3}) {
		t.Errorf("carol's recent = %v", got)
	}
	if got := recentUIDs(t, a); !slices.Equal(got, []imap.UID{1, 2}) {
		t.Errorf("alice's recent = %v", got)
	}
	s, err := a.Search(&imap.SearchCriteria{Flag: []imap.Flag{`\Recent`}}, nil).Wait()
	if err != nil || !slices.Equal(s.AllSeqNums(), []uint32{1, 2}) {
		t.Errorf("SEARCH RECENT = %v, %v", s, err)
	}
	lines, _ = rc.cmd("d", "STATUS Queues/Support (RECENT)")
	if !slices.Equal(lines, []string{`* STATUS "Queues/Support" (RECENT 0)`}) {
		t.Errorf("STATUS = %q", lines)
	}
	// Logged out and back: nothing is recent any more.
	a.Logout().Wait()
	c.Logout().Wait()
	lines, _ = rc.cmd("e", "SELECT Queues/Support")
	if !slices.Contains(lines, "* 0 RECENT") {
		t.Errorf("SELECT after everyone left = %q", lines)
	}
}

func recentUIDs(t *testing.T, c *client) []imap.UID {
	t.Helper()
	var out []imap.UID
	for _, m := range c.fetchAll(&imap.FetchOptions{UID: true, Flags: true}) {
		if slices.Contains(m.Flags, `\Recent`) {
			out = append(out, m.UID)
		}
	}
	return out
}

// SELECT reports what clients rely on (RFC 3501 6.3.1).
func TestSelectResponses(t *testing.T) {
	h := newHarness(t)
	h.deliver("carla@customer.test", "one", "x")
	h.deliver("carla@customer.test", "two", "x")
	a := h.login(alice)
	a.selectBox("Queues/Support")
	store(t, a, imap.SeqSetNum(1), imap.StoreFlagsAdd, imap.FlagSeen, "Urgent")

	rc := h.raw()
	rc.cmd("a", "LOGIN carol@example.test secret")
	lines, st := rc.cmd("b", "SELECT Queues/Support")
	for _, want := range []string{
		"* 2 EXISTS",
		"* 0 RECENT",
		"* OK [UNSEEN 2] First unseen message",
		"* OK [UIDNEXT 3] Predicted next UID",
		// The status keywords are listed, but clients can't set them.
		`* FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Active $Closed $Paused $Reopened $Resolved $Unopened Urgent)`,
		`* OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft Urgent \*)] Permanent flags`,
	} {
		if !slices.Contains(lines, want) {
			t.Errorf("SELECT lacks %q: %q", want, lines)
		}
	}
	if !strings.HasPrefix(st, "b OK [READ-WRITE]") {
		t.Errorf("SELECT: %s", st)
	}
	lines, st = rc.cmd("c", "EXAMINE Queues/Support")
	if !slices.Contains(lines, `* OK [PERMANENTFLAGS ()] Permanent flags`) || !strings.HasPrefix(st, "c OK [READ-ONLY]") {
		t.Errorf("EXAMINE = %q %s", lines, st)
	}
	_, st = rc.cmd("d", "SELECT Queues")
	if !strings.HasPrefix(st, "d NO") {
		t.Errorf("SELECT of \\Noselect Queues: %s", st)
	}
}

// Deliveries, flag changes and moves race with two idling agents; in the
// end every connection's view (kept by imapclient from EXISTS and EXPUNGE
// alone) matches the folder.
func TestConcurrentUpdates(t *testing.T) {
	h := newHarness(t)
	a, c, mover := h.login(alice), h.login(carol), h.login(carol)
	a.selectBox("Queues/Support")
	c.selectBox("Queues/Support")
	mover.selectBox("Queues/Support")
	stopA, stopC := a.idle(), c.idle()

	const n = 40
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < n; i++ {
			h.deliver("carla@customer.test", "m", "x")
		}
	}()
	moved := 0
	for moved < n/2 {
		if err := mover.Noop().Wait(); err != nil {
			t.Fatal(err)
		}
		if mover.Mailbox().NumMessages == 0 {
			continue
		}
		if _, err := mover.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagSeen}}, nil).Collect(); err != nil {
			t.Fatal(err)
		}
		if _, err := mover.Move(imap.SeqSetNum(1), "INBOX").Wait(); err != nil {
			t.Fatal(err)
		}
		moved++
	}
	<-done
	stopA()
	stopC()
	want := []imap.UID{}
	st, err := h.login(alice).Status("Queues/Support", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || *st.NumMessages != n-n/2 {
		t.Fatalf("STATUS = %+v, %v", st, err)
	}
	for _, cl := range []*client{a, c, mover} {
		if err := cl.Noop().Wait(); err != nil {
			t.Fatal(err)
		}
		got := cl.uids()
		if len(want) == 0 {
			want = got
		}
		if !slices.Equal(got, want) || uint32(len(got)) != cl.Mailbox().NumMessages || len(got) != n-n/2 {
			t.Errorf("UIDs %v (client counts %d), want %v", got, cl.Mailbox().NumMessages, want)
		}
	}
}
