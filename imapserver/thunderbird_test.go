package imapserver_test

// Thunderbird's own buttons on session messages, sent as Thunderbird sends
// them: its folder discovery, Archive (A), Junk (J, "Spam" in recent
// versions), Delete in both IMAP delete models, and reading read-only
// folders. The commands are those of Thunderbird 153 ESR's IMAP log
// (MOZ_LOG=IMAP:5, under Xvfb against the demo): lower-case commands,
// numeric tags, quoted folder names, "+Flags (...)" for system flags and
// "+FLAGS (...)" for keywords. Its Archive and Junk pick the special-use
// folders because the default "Archives" and "Junk" paths don't exist
// (nsImapIncomingServer::DiscoveryDone), and MessageArchiver files flat
// into an archive folder that can't have subfolders (\Noinferiors).

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"mxdesk/router"
	mstore "mxdesk/store"
)

// thunderbird is a raw connection logged in as who the way Thunderbird
// does it.
func (h *harness) thunderbird(who string) *rawConn {
	h.t.Helper()
	rc := h.raw()
	if _, st := rc.cmd("1", fmt.Sprintf("login %q %q", who, "secret")); !strings.HasPrefix(st, "1 OK") {
		h.t.Fatalf("login %s: %s", who, st)
	}
	return rc
}

// mustOK runs a command and fails the test unless it succeeds.
func (rc *rawConn) mustOK(tag, command string) []string {
	rc.t.Helper()
	lines, st := rc.cmd(tag, command)
	if !strings.HasPrefix(st, tag+" OK") {
		rc.t.Fatalf("%s: %s", command, st)
	}
	return lines
}

// listLine is the LIST response for a folder among lines.
func listLine(lines []string, folder string) string {
	for _, l := range lines {
		if strings.HasPrefix(l, "* LIST ") && (strings.HasSuffix(l, ` "/" `+folder) || strings.HasSuffix(l, ` "/" "`+folder+`"`)) {
			return l
		}
	}
	return ""
}

// Thunderbird finds its Archive and Junk folders through special-use in
// the LIST (SUBSCRIBED) it discovers folders with; Resolved can't have
// subfolders, so Thunderbird archives into it directly instead of into
// Resolved/<year>.
func TestThunderbirdFindsArchiveAndJunk(t *testing.T) {
	h := newSessionHarness(t)
	rc := h.thunderbird(alice)
	lines := rc.mustOK("2", `list (subscribed) "" "*" return (special-use)`)
	for folder, attrs := range map[string][]string{
		"Resolved": {`\Archive`, `\Noinferiors`, `\Subscribed`},
		"Junk":     {`\Junk`, `\Subscribed`},
		"Trash":    {`\Trash`},
		"Sent":     {`\Sent`},
	} {
		l := listLine(lines, folder)
		for _, a := range attrs {
			if !strings.Contains(l, a) {
				t.Errorf("LIST line of %s = %q, lacks %s", folder, l, a)
			}
		}
	}
	if l := listLine(lines, "Resolved"); strings.Contains(l, `Children`) {
		t.Errorf("Resolved is %q: \\Noinferiors says it has no children", l)
	}
	if _, st := rc.cmd("3", `create "Resolved/2026"`); !strings.HasPrefix(st, "3 NO [CANNOT]") {
		t.Errorf("create Resolved/2026: %s", st)
	}
}

// Thunderbird's Archive button (A) on a session's message moves it to the
// \Archive folder: the session is resolved, also one waiting in a queue
// (claimed first).
func TestThunderbirdArchiveResolves(t *testing.T) {
	h := newSessionHarness(t)
	s, ids := h.claimed(alice, "ar", 2)
	waiting := h.toSupport("dan@customer.test", "wait1@customer.test", "")
	a := h.login(alice)
	a.selectBox("INBOX")
	uid := a.uidOf(ids[1])
	a.selectBox("Queues/Support")
	queued := a.uidOf("wait1@customer.test")

	rc := h.thunderbird(alice)
	rc.mustOK("2", `select "INBOX"`)
	rc.mustOK("3", fmt.Sprintf(`uid store %d +Flags (\Seen)`, uid))
	rc.mustOK("4", fmt.Sprintf(`uid move %d "Resolved"`, uid))
	if st := h.report(s).Session; st.Status != router.StatusResolved || st.Agent != alice {
		t.Errorf("archived session: %+v", st)
	}
	rc.mustOK("5", `select "Queues/Support"`)
	rc.mustOK("6", fmt.Sprintf(`uid move %d "Resolved"`, queued))
	if st := h.report(waiting.Session).Session; st.Status != router.StatusResolved || st.Agent != alice {
		t.Errorf("archived waiting session: %+v", st)
	}
	a.selectBox("Resolved")
	if n := len(a.uids()); n != 3 {
		t.Errorf("Resolved holds %d messages, want both sessions' 3", n)
	}
}

// Thunderbird's Junk button only tags the message (Junk keyword) unless
// its "move to the Junk folder" setting is on: the tag changes nothing on
// the desk (Thunderbird's own filter sets it too); the move files the
// session as spam of its queue, for the queue's supervisors.
func TestThunderbirdJunk(t *testing.T) {
	h := newSessionHarness(t)
	s, ids := h.claimed(alice, "junk", 1)
	a := h.login(alice)
	a.selectBox("INBOX")
	uid := a.uidOf(ids[0])

	rc := h.thunderbird(alice)
	rc.mustOK("2", `select "INBOX"`)
	rc.mustOK("3", fmt.Sprintf(`uid store %d +FLAGS (Junk)`, uid))
	rc.mustOK("4", fmt.Sprintf(`uid store %d -FLAGS (NonJunk)`, uid))
	rc.mustOK("5", fmt.Sprintf(`uid store %d +Flags (\Seen)`, uid))
	if st := h.report(s).Session; st.Spam || st.Agent != alice {
		t.Errorf("tagged Junk: %+v", st)
	}

	rc.mustOK("6", fmt.Sprintf(`uid move %d "Junk"`, uid))
	st := h.report(s).Session
	if !st.Spam || st.Agent != "" || st.Status != router.StatusResolved || st.Queue != "Support" {
		t.Errorf("moved to Junk: %+v", st)
	}
	if ev := h.events(s, "spam"); !slices.Equal(ev, []string{"moved to Junk: filed in Queues/Support/Spam"}) {
		t.Errorf("spam events %q", ev)
	}
	a.selectBox("Junk")
	if n := len(a.uids()); n != 0 {
		t.Errorf("alice's Junk holds %d messages; the session belongs to the queue's Spam", n)
	}
	c := h.login(carol)
	c.selectBox("Queues/Support/Spam")
	if got := c.uids(); len(got) != 1 {
		t.Errorf("Queues/Support/Spam: %v", got)
	}

	// Mail outside sessions is kept in Junk as in any mailbox.
	note := appendMsg(t, a, "Drafts", "Subject: win a prize\r\n\r\nx\r\n", nil).UID
	rc.mustOK("7", `select "Drafts"`)
	rc.mustOK("8", fmt.Sprintf(`uid move %d "Junk"`, note))
	a.selectBox("Junk")
	if n := len(a.uids()); n != 1 {
		t.Errorf("Junk after moving a draft: %d messages", n)
	}
}

// Thunderbird's Delete on a session's message: by default a move to Trash,
// with "remove it immediately" a \Deleted flag and UID EXPUNGE. Both are
// refused with a sentence Thunderbird shows in its alert, and the message
// loses its \Deleted flag again.
func TestThunderbirdDeleteSession(t *testing.T) {
	h := newSessionHarness(t)
	s, ids := h.claimed(alice, "del", 1)
	a := h.login(alice)
	a.selectBox("INBOX")
	uid := a.uidOf(ids[0])
	resolveInstead := "a customer conversation is never deleted; resolve it instead (drag it to Resolved, or press A in Thunderbird)"

	rc := h.thunderbird(alice)
	rc.mustOK("2", `select "INBOX"`)
	if _, st := rc.cmd("3", fmt.Sprintf(`uid move %d "Trash"`, uid)); st != "3 NO [CANNOT] session "+s+" can't go to Trash: "+resolveInstead {
		t.Errorf("uid move to Trash: %s", st)
	}
	lines := rc.mustOK("4", fmt.Sprintf(`uid store %d +Flags (\Deleted)`, uid))
	if len(lines) != 1 || !strings.Contains(lines[0], `\Deleted`) {
		t.Errorf("uid store +Flags (\\Deleted): %q", lines)
	}
	if _, st := rc.cmd("5", fmt.Sprintf("uid expunge %d", uid)); st != "5 NO [CANNOT] messages of session "+s+" can't be deleted: "+resolveInstead {
		t.Errorf("uid expunge: %s", st)
	}
	lines = rc.mustOK("6", "noop")
	if len(lines) != 1 || !strings.Contains(lines[0], " FETCH ") || strings.Contains(lines[0], `\Deleted`) {
		t.Errorf("after the refused expunge, noop = %q; want the flags without \\Deleted", lines)
	}
	if st := h.report(s).Session; st.Agent != alice || st.Status == router.StatusResolved {
		t.Errorf("session after refused deletes: %+v", st)
	}
	if got := a.uids(); len(got) != 1 {
		t.Errorf("INBOX after refused deletes: %v", got)
	}
}

// Reading a message makes Thunderbird store \Seen. In Templates (each
// agent's own) the flag is kept, for that agent only; in All/<queue>,
// shared by the queue's supervisors, the STORE succeeds and changes
// nothing, and the FETCH response (even for .SILENT) says so.
func TestThunderbirdReadsReadOnlyFolders(t *testing.T) {
	h := newSessionHarness(t)
	h.toSupport("carla@customer.test", "ro1@customer.test", "")

	rc := h.thunderbird(alice)
	lines := rc.mustOK("2", `select "Templates"`)
	if !slices.ContainsFunc(lines, func(l string) bool {
		return strings.HasPrefix(l, "* OK [PERMANENTFLAGS (") && strings.Contains(l, `\Seen`)
	}) {
		t.Errorf("select Templates: %q", lines)
	}
	lines = rc.mustOK("3", `uid store 1 +Flags (\Seen)`)
	if len(lines) != 1 || !strings.Contains(lines[0], `\Seen`) {
		t.Errorf("uid store +Flags (\\Seen) in Templates: %q", lines)
	}
	rc.mustOK("4", `uid fetch 2 (UID RFC822.SIZE FLAGS BODY[])`)
	a := h.login(alice)
	a.selectBox("Templates")
	for uid, fl := range a.flagsByUID() {
		if !slices.Contains(fl, imap.FlagSeen) {
			t.Errorf("alice's template %d is unread after reading it: %v", uid, fl)
		}
	}
	d := h.login(dave)
	d.selectBox("Templates")
	for uid, fl := range d.flagsByUID() {
		if slices.Contains(fl, imap.FlagSeen) {
			t.Errorf("dave's template %d is read: alice read hers", uid)
		}
		// Thunderbird's spam filter took templates for spam; NonJunk
		// (its "not spam" keyword) keeps it off them.
		if !slices.Contains(fl, "NonJunk") {
			t.Errorf("dave's template %d has flags %v, want NonJunk", uid, fl)
		}
	}

	sup := h.thunderbird(carol)
	sup.mustOK("2", `select "All/Support"`)
	for i, cmd := range []string{`uid store 1 +Flags (\Seen)`, `uid store 1 +FLAGS.SILENT (\Flagged)`} {
		tag := fmt.Sprint(3 + i)
		lines := sup.mustOK(tag, cmd)
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "* 1 FETCH ") || strings.Contains(lines[0], `\Seen`) || strings.Contains(lines[0], `\Flagged`) {
			t.Errorf("%s in All/Support: %q; want OK and the unchanged flags", cmd, lines)
		}
	}
}

// Templates carry the date they were filed (the configuration's load
// time), not 1/1/00, and keep it and their UIDs across a restart.
func TestTemplatesDated(t *testing.T) {
	h := newSessionHarness(t)
	filed := h.clock.Now().Truncate(time.Second)
	dates := func() map[imap.UID][2]time.Time {
		t.Helper()
		c := h.login(alice)
		c.selectBox("Templates")
		out := map[imap.UID][2]time.Time{}
		for _, m := range c.fetchAll(&imap.FetchOptions{UID: true, InternalDate: true, Envelope: true}) {
			out[m.UID] = [2]time.Time{m.InternalDate, m.Envelope.Date}
		}
		return out
	}
	before := dates()
	if len(before) != 2 {
		t.Fatalf("alice's templates: %v", before)
	}
	for uid, d := range before {
		if !d[0].Equal(filed) || !d[1].Equal(filed) {
			t.Errorf("template %d: INTERNALDATE %v, Date %v; want %v", uid, d[0], d[1], filed)
		}
	}
	h.clock.Advance(48 * time.Hour)
	h.restart()
	sameDates := func(a, b [2]time.Time) bool { return a[0].Equal(b[0]) && a[1].Equal(b[1]) }
	if after := dates(); !maps.EqualFunc(after, before, sameDates) {
		t.Errorf("templates after restart %v, before %v", after, before)
	}

	// A template an earlier version filed on 1/1/00 is filed again,
	// dated, at the next start.
	undated := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	err := h.st.Update(context.Background(), mstore.UpdateOptions{}, func(tx mstore.Tx) error {
		mb, err := tx.MailboxByName(alice, "Templates")
		if err != nil {
			return err
		}
		msgs, err := tx.Messages(mb.ID, 0, 0)
		if err != nil {
			return err
		}
		m := msgs[0]
		if _, err := tx.AddMessage(mstore.Message{Mailbox: mb.ID, Blob: m.Blob, Size: m.Size, InternalDate: undated}); err != nil {
			return err
		}
		return tx.RemoveMessage(mb.ID, m.UID)
	})
	if err != nil {
		t.Fatal(err)
	}
	h.restart()
	redated := h.clock.Now().Truncate(time.Second)
	after := dates()
	if len(after) != 2 {
		t.Fatalf("templates after re-dating: %v", after)
	}
	n := 0
	for _, d := range after {
		if d[0].Equal(redated) {
			n++
		} else if !d[0].Equal(filed) {
			t.Errorf("template dated %v, want %v or %v", d[0], filed, redated)
		}
	}
	if n != 1 {
		t.Errorf("templates after re-dating: %v; want one dated %v", after, redated)
	}
}
