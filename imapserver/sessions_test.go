package imapserver_test

// Sessions as the agents' IMAP clients live them (SPEC §3-§5): threading,
// the desk moves, refusals and their texts, status keywords, timers with an
// injected clock, restart. Every test uses real imapclient connections and
// waits on the server's untagged data, never on sleeps.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-smtp"

	"mxdesk/imapserver"
	"mxdesk/router"
	storepkg "mxdesk/store"
	"mxdesk/testutil"
)

// dave serves Support (like alice), Billing (like bob) and Sales, the one
// queue that allows Later and forbids transfers.
const dave = "dave@example.test"

const day24 = 24 * time.Hour

func sessionsTOML() string {
	return fmt.Sprintf(`
[sessions]
active_to_paused_days = 30
paused_to_closed_days = 60
resolved_to_closed_days = 30
reopen_window_days = 30
[[queue]]
name = "Sales"
addresses = ["sales@example.test"]
allow_personal_queue = true
allow_transfer_to_queue = false
[[agent]]
login = "dave@example.test"
name = "Dave Dahl"
password_hash = %q
queues = ["Support", "Sales", "Billing"]
[[template]]
name = "Greeting"
subject = "Thank you for writing"
body = """Hello,

thank you for your message."""
[[template]]
name = "Refund"
queue = "Billing"
subject = "Your refund"
body = "Your refund is on its way."
[[template]]
name = "Known bug"
queue = "Support"
subject = "A known problem"
body = "We know about it and are on it."
`, testutil.PasswordHash())
}

// newSessionHarness is a server with the sessions configuration, a fake
// clock and the SMTP server.
func newSessionHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessWith(t, harnessConfig{
		extra: sessionsTOML(),
		opts:  imapserver.Options{InsecureAuth: true},
		clock: testutil.NewClock(),
		smtp:  true,
	})
}

// mail is an inbound message.
type mail struct {
	from, to, cc, subject, id, inReplyTo, refs, body string
}

func (m mail) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\n", m.from, m.to)
	if m.cc != "" {
		fmt.Fprintf(&b, "Cc: %s\r\n", m.cc)
	}
	fmt.Fprintf(&b, "Subject: %s\r\nDate: Mon, 02 Mar 2026 09:00:00 +0000\r\nMessage-ID: <%s>\r\n", m.subject, m.id)
	if m.inReplyTo != "" {
		fmt.Fprintf(&b, "In-Reply-To: <%s>\r\n", m.inReplyTo)
	}
	if m.refs != "" {
		var refs []string
		for _, r := range strings.Fields(m.refs) {
			refs = append(refs, "<"+r+">")
		}
		fmt.Fprintf(&b, "References: %s\r\n", strings.Join(refs, " "))
	}
	body := m.body
	if body == "" {
		body = "text of " + m.id
	}
	fmt.Fprintf(&b, "\r\n%s\r\n", body)
	return b.String()
}

// deliverMail hands m to the router as SMTP would for rcpts.
func (h *harness) deliverMail(rcpts []string, m mail) router.Delivered {
	h.t.Helper()
	d, err := h.r.Deliver(context.Background(), router.Envelope{From: "bounce@customer.test", To: rcpts}, []byte(m.String()))
	if err != nil {
		h.t.Fatalf("deliver %s: %v", m.id, err)
	}
	return d
}

// toSupport delivers a customer's message to support@.
func (h *harness) toSupport(from, id, inReplyTo string) router.Delivered {
	h.t.Helper()
	return h.deliverMail([]string{"support@example.test"}, mail{
		from: from, to: "support@example.test", subject: "About " + id, id: id, inReplyTo: inReplyTo, refs: inReplyTo,
	})
}

func (h *harness) report(id string) router.SessionReport {
	h.t.Helper()
	rep, err := h.r.Report(id)
	if err != nil {
		h.t.Fatalf("report %s: %v", id, err)
	}
	return rep
}

func (h *harness) runDue(want int) {
	h.t.Helper()
	n, err := h.r.RunDue(context.Background())
	if err != nil || n != want {
		h.t.Fatalf("RunDue = %d, %v; want %d transitions", n, err, want)
	}
}

// uidOf finds the message with a Message-ID in the selected mailbox.
func (c *client) uidOf(messageID string) imap.UID {
	c.t.Helper()
	d, err := c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Message-ID", Value: messageID}}}, nil).Wait()
	if err != nil {
		c.t.Fatalf("search %s: %v", messageID, err)
	}
	uids := d.AllUIDs()
	if len(uids) != 1 {
		c.t.Fatalf("message %s: UIDs %v in %s", messageID, uids, c.Mailbox().Name)
	}
	return uids[0]
}

// flagsByUID fetches the flags of the selected mailbox's messages.
func (c *client) flagsByUID() map[imap.UID][]imap.Flag {
	c.t.Helper()
	out := map[imap.UID][]imap.Flag{}
	for _, m := range c.fetchAll(&imap.FetchOptions{UID: true, Flags: true}) {
		out[m.UID] = m.Flags
	}
	return out
}

// sessionHeaders maps the Message-ID of each message of the selected
// mailbox to its X-Mxdesk-Session and X-Mxdesk-Previous-Session.
func (c *client) sessionHeaders() (session, previous map[string]string) {
	c.t.Helper()
	sec := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true,
		HeaderFields: []string{"Message-ID", "X-Mxdesk-Session", "X-Mxdesk-Previous-Session"}}
	session, previous = map[string]string{}, map[string]string{}
	for _, m := range c.fetchAll(&imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{sec}}) {
		var id string
		fields := map[string]string{}
		for _, l := range strings.Split(string(m.FindBodySection(sec)), "\r\n") {
			k, v, ok := strings.Cut(l, ":")
			if ok {
				fields[strings.ToLower(k)] = strings.TrimSpace(v)
			}
		}
		id = strings.Trim(fields["message-id"], "<>")
		session[id] = fields["x-mxdesk-session"]
		if p := fields["x-mxdesk-previous-session"]; p != "" {
			previous[id] = p
		}
	}
	return session, previous
}

// statusOf returns the status keywords among flags.
func statusOf(flags []imap.Flag) []string {
	var out []string
	for _, f := range flags {
		if router.IsStatusKeyword(string(f)) {
			out = append(out, string(f))
		}
	}
	return out
}

// wantStatus checks that every message of the selected mailbox has exactly
// the status keyword of status, and returns their flags.
func (c *client) wantStatus(n int, status string) map[imap.UID][]imap.Flag {
	c.t.Helper()
	fl := c.flagsByUID()
	if len(fl) != n {
		c.t.Errorf("%s has %d messages, want %d", c.Mailbox().Name, len(fl), n)
	}
	for uid, f := range fl {
		if got := statusOf(f); !slices.Equal(got, []string{router.StatusKeyword(status)}) {
			c.t.Errorf("%s UID %d: status keywords %v, want $%s (flags %v)", c.Mailbox().Name, uid, got, status, f)
		}
	}
	return fl
}

// waitFetchFlag consumes unilateral FETCH responses until each of uids
// was reported with flag.
func (c *client) waitFetchFlag(flag imap.Flag, uids ...imap.UID) {
	c.t.Helper()
	left := map[imap.UID]bool{}
	for _, u := range uids {
		left[u] = true
	}
	deadline := time.After(waitTimeout)
	for len(left) > 0 {
		select {
		case f := <-c.fetch:
			if slices.Contains(f.Flags, flag) {
				delete(left, f.UID)
			}
		case <-deadline:
			c.t.Fatalf("no unilateral FETCH with %s for UIDs %v", flag, left)
		}
	}
}

// waitExpunges waits for n EXPUNGE responses.
func (c *client) waitExpunges(n int) {
	c.t.Helper()
	for i := 0; i < n; i++ {
		c.waitExpunge()
	}
}

// noop sends NOOP so that queued updates arrive.
func (c *client) noop() {
	c.t.Helper()
	if err := c.Noop().Wait(); err != nil {
		c.t.Fatal(err)
	}
}

// uidCount is the number of UIDs in a COPYUID set (0 when absent).
func uidCount(set imap.NumSet) int {
	uids, ok := set.(imap.UIDSet)
	if !ok {
		return 0
	}
	n, _ := uids.Nums()
	return len(n)
}

// wantRefused checks a NO [CANNOT] whose text contains every part.
func wantRefused(t *testing.T, err error, parts ...string) {
	t.Helper()
	wantCode(t, err, imap.StatusResponseTypeNo, imap.ResponseCodeCannot)
	text := err.(*imap.Error).Text
	for _, p := range parts {
		if !strings.Contains(text, p) {
			t.Errorf("NO %q lacks %q", text, p)
		}
	}
}

// Each threading rule of SPEC §3, over the real SMTP server: the reply
// token, References, a reply-all from someone in CC (who becomes a
// participant), the subject tag of a participant, the subject tag copied
// by a stranger, and mail naming two queues.
func TestSessionThreading(t *testing.T) {
	h := newSessionHarness(t)
	send := func(rcpts []string, m mail) {
		t.Helper()
		h.mustSend("bounce@customer.test", rcpts, m.String())
	}
	support := []string{"support@example.test"}
	send(support, mail{from: "Carla <carla@customer.test>", to: "support@example.test", subject: "Printer on fire", id: "m1@customer.test"})

	sup := h.login(carol)
	sessions := func() map[string]string {
		t.Helper()
		sup.selectBox("All/Support")
		s, _ := sup.sessionHeaders()
		return s
	}
	s1 := sessions()["m1@customer.test"]
	if !strings.HasPrefix(s1, "S-") {
		t.Fatalf("m1 has session %q", s1)
	}

	// References, from the customer, adding a colleague in CC.
	send(support, mail{from: "carla@customer.test", to: "support@example.test", cc: "Quinn <quinn@partner.test>",
		subject: "more details", id: "m2@customer.test", inReplyTo: "m1@customer.test", refs: "m1@customer.test"})
	// The colleague's reply-all joins through References...
	send(support, mail{from: "quinn@partner.test", to: "carla@customer.test", cc: "support@example.test",
		subject: "Re: more details", id: "m3@partner.test", inReplyTo: "m2@customer.test", refs: "m1@customer.test m2@customer.test"})
	// ...and made her a participant: her subject tag alone threads.
	send(support, mail{from: "quinn@partner.test", to: "support@example.test", subject: "[" + s1 + "] one more thing", id: "m4@partner.test"})
	// The reply token in the plus-address, with nothing else to go by.
	token := h.report(s1).Session.Token
	if token == "" || strings.Contains(strings.ToLower(token), strings.ToLower(s1[2:])) {
		t.Fatalf("token %q of %s", token, s1)
	}
	tokenAddr := "support+" + token + "@example.test"
	send([]string{tokenAddr}, mail{from: "carla@customer.test", to: tokenAddr, subject: "a fresh subject", id: "m5@customer.test"})
	// A guessed token is refused at RCPT like any unknown mailbox.
	err := h.send("x@evil.test", []string{"support+" + strings.ToLower(s1) + "@example.test"}, mail{from: "x@evil.test", to: "support@example.test", subject: "x", id: "x@evil.test"}.String())
	var serr *smtp.SMTPError
	if !errors.As(err, &serr) || serr.Code != 550 {
		t.Errorf("RCPT with a guessed token: %v", err)
	}
	// A stranger copying the tag gets a session of their own.
	send(support, mail{from: "mallory@evil.test", to: "support@example.test", subject: "Re: [" + s1 + "] let me in", id: "m6@evil.test"})

	got := sessions()
	for _, id := range []string{"m2@customer.test", "m3@partner.test", "m4@partner.test", "m5@customer.test"} {
		if got[id] != s1 {
			t.Errorf("%s in session %q, want %s", id, got[id], s1)
		}
	}
	if s := got["m6@evil.test"]; s == "" || s == s1 {
		t.Errorf("stranger's mail in session %q", s)
	}
	rep := h.report(s1)
	if !slices.Contains(rep.Session.Participants, "quinn@partner.test") || slices.Contains(rep.Session.Participants, "mallory@evil.test") {
		t.Errorf("participants %v", rep.Session.Participants)
	}
	if !slices.ContainsFunc(rep.Events, func(e storepkg.Event) bool { return e.Kind == "tag-refused" && e.Actor == "mallory@evil.test" }) {
		t.Errorf("no tag-refused event by mallory: %+v", rep.Events)
	}
	if len(rep.Messages) != 5 {
		t.Errorf("%s has %d messages, want 5", s1, len(rep.Messages))
	}

	// Two queues in one mail make one session; the first queue address
	// in To wins over Cc and over the envelope order.
	send([]string{"support@example.test", "billing@example.test"}, mail{from: "dan@customer.test",
		to: "billing@example.test", cc: "support@example.test", subject: "two queues", id: "m7@customer.test"})
	if _, ok := sessions()["m7@customer.test"]; ok {
		t.Error("mail to Billing and Support filed in Support")
	}
	sup.selectBox("All/Billing")
	billing, _ := sup.sessionHeaders()
	if s := billing["m7@customer.test"]; s == "" || h.report(s).Session.Queue != "Billing" {
		t.Errorf("m7 in Billing session %q", s)
	}
	st, err := sup.Status("Queues/Billing", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || *st.NumMessages != 1 {
		t.Errorf("Queues/Billing: %+v, %v", st, err)
	}
}

// A claim (MOVE from the queue to INBOX) moves the whole session, and the
// other agents of the queue see it leave while they idle; the claimer's
// other connection sees it arrive.
func TestClaimSeenLive(t *testing.T) {
	h := newSessionHarness(t)
	h.toSupport("carla@customer.test", "c1@customer.test", "")
	h.toSupport("carla@customer.test", "c2@customer.test", "c1@customer.test")
	h.toSupport("dan@customer.test", "o1@customer.test", "")

	a := h.login(alice)
	if d := a.selectBox("Queues/Support"); d.NumMessages != 3 {
		t.Fatalf("Queues/Support has %d messages", d.NumMessages)
	}
	c2 := a.uidOf("c2@customer.test")
	other, sup, inbox := h.login(dave), h.login(carol), h.login(alice)
	other.selectBox("Queues/Support")
	sup.selectBox("Queues/Support")
	inbox.selectBox("INBOX")
	stops := []func(){other.idle(), sup.idle(), inbox.idle()}

	md, err := a.Move(imap.UIDSetNum(c2), "INBOX").Wait()
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	if md.SourceUIDs.String() != fmt.Sprint(c2) || uidCount(md.DestUIDs) != 1 {
		t.Errorf("COPYUID of the claim = %+v", md)
	}
	a.waitExpunges(2)
	other.waitExpunges(2)
	sup.waitExpunges(2)
	inbox.waitExists(2)
	for _, stop := range stops {
		stop()
	}
	for _, cl := range []*client{a, other, sup} {
		if got := cl.uids(); len(got) != 1 {
			t.Errorf("Queues/Support after the claim: UIDs %v", got)
		}
	}
	// Claimed unread, it is Unopened in INBOX.
	for uid, fl := range inbox.wantStatus(2, router.StatusUnopened) {
		if slices.Contains(fl, imap.FlagSeen) {
			t.Errorf("INBOX UID %d is \\Seen", uid)
		}
	}

	// Dave reads the other session in the queue, then claims it: it is
	// opened (Active) at once.
	other.selectBox("Queues/Support")
	if _, err := other.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{}}}).Collect(); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Move(imap.SeqSetNum(1), "INBOX").Wait(); err != nil {
		t.Fatal(err)
	}
	other.selectBox("INBOX")
	for uid, fl := range other.wantStatus(1, router.StatusActive) {
		if !slices.Contains(fl, imap.FlagSeen) {
			t.Errorf("dave's INBOX UID %d lost \\Seen", uid)
		}
	}
	// Nothing waits in the queue any more.
	if st, err := a.Status("Queues/Support", &imap.StatusOptions{NumMessages: true}).Wait(); err != nil || *st.NumMessages != 0 {
		t.Errorf("Queues/Support: %+v, %v", st, err)
	}
}

// claimed delivers a new session of n messages to Support and has who
// claim it without reading; it returns the session ID and the Message-IDs.
func (h *harness) claimed(who, prefix string, n int) (string, []string) {
	h.t.Helper()
	var ids []string
	var d router.Delivered
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("%s%d@customer.test", prefix, i+1)
		prev := ""
		if i > 0 {
			prev = ids[i-1]
		}
		d = h.toSupport("carla@customer.test", id, prev)
		ids = append(ids, id)
		if i == 0 {
			c := h.login(who)
			c.selectBox("Queues/Support")
			if _, err := c.Move(imap.UIDSetNum(c.uidOf(id)), "INBOX").Wait(); err != nil {
				h.t.Fatalf("claim: %v", err)
			}
			c.Logout().Wait()
		}
	}
	return d.Session, ids
}

// Moving one message moves its whole session, in both directions, with
// the status keyword following on every copy (INBOX, Resolved, All/).
func TestWholeSessionMoves(t *testing.T) {
	h := newSessionHarness(t)
	_, ids := h.claimed(alice, "w", 3)
	a := h.login(alice)
	a.selectBox("INBOX")
	a.wantStatus(3, router.StatusUnopened)
	middle := a.uidOf(ids[1])
	res := h.login(alice)
	res.selectBox("Resolved")
	stop := res.idle()

	md, err := a.Move(imap.UIDSetNum(middle), "Resolved").Wait()
	if err != nil {
		t.Fatalf("MOVE to Resolved: %v", err)
	}
	if md.SourceUIDs.String() != fmt.Sprint(middle) || uidCount(md.DestUIDs) != 1 {
		t.Errorf("COPYUID = %+v", md)
	}
	a.waitExpunges(3)
	res.waitExists(3)
	stop()
	if got := a.uids(); len(got) != 0 {
		t.Errorf("INBOX after resolving: %v", got)
	}
	res.wantStatus(3, router.StatusResolved)
	sup := h.login(carol)
	sup.selectBox("All/Support")
	sup.wantStatus(3, router.StatusResolved)

	// Back to INBOX: resumed, Active.
	stop = a.idle()
	if _, err := res.Move(imap.UIDSetNum(res.uidOf(ids[2])), "INBOX").Wait(); err != nil {
		t.Fatalf("MOVE back to INBOX: %v", err)
	}
	a.waitExists(3)
	stop()
	res.waitExpunges(3)
	a.wantStatus(3, router.StatusActive)
	sup.noop()
	sup.wantStatus(3, router.StatusActive)

	// Resolved again, then the customer writes: the session is Active
	// and back in INBOX with the new message.
	if _, err := a.Move(imap.UIDSetNum(a.uidOf(ids[0])), "Resolved").Wait(); err != nil {
		t.Fatal(err)
	}
	a.waitExpunges(3)
	res.noop()
	res.wantStatus(3, router.StatusResolved)
	stop, stopRes := a.idle(), res.idle()
	h.toSupport("carla@customer.test", "w4@customer.test", ids[2])
	a.waitExists(4)
	res.waitExpunges(3)
	stop()
	stopRes()
	a.wantStatus(4, router.StatusActive)
}

// A transfer to another queue is seen by that queue's members; a
// supervisor's MOVE or COPY into Agents/<login> lands, unread, in that
// agent's INBOX while they watch.
func TestTransferAndAssign(t *testing.T) {
	h := newSessionHarness(t)
	s, ids := h.claimed(dave, "t", 1)
	a := h.login(dave)
	a.selectBox("INBOX")
	b := h.login(bob)
	b.selectBox("Queues/Billing")
	stop := b.idle()
	md, err := a.Move(imap.SeqSetNum(1), "Queues/Billing").Wait()
	if err != nil {
		t.Fatalf("transfer: %v", err)
	}
	if uidCount(md.DestUIDs) != 1 {
		t.Errorf("COPYUID of the transfer = %+v", md)
	}
	b.waitExists(1)
	stop()
	b.wantStatus(1, router.StatusUnopened)
	a.waitExpunge()
	if q := h.report(s).Session.Queue; q != "Billing" {
		t.Errorf("queue after transfer %q", q)
	}

	// Carol reads it in the queue and assigns it to Bob.
	bi := h.login(bob)
	bi.selectBox("INBOX")
	stop = bi.idle()
	sup := h.login(carol)
	sup.selectBox("Queues/Billing")
	if _, err := sup.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{}}}).Collect(); err != nil {
		t.Fatal(err)
	}
	md, err = sup.Move(imap.SeqSetNum(1), "Agents/"+bob).Wait()
	if err != nil {
		t.Fatalf("assign: %v", err)
	}
	if uidCount(md.DestUIDs) != 0 {
		t.Errorf("MOVE to Agents/ reported COPYUID %+v: nothing lands there", md)
	}
	bi.waitExists(1)
	stop()
	for _, fl := range bi.wantStatus(1, router.StatusUnopened) {
		if slices.Contains(fl, imap.FlagSeen) {
			t.Errorf("assigned message is \\Seen: %v", fl)
		}
	}
	if bi.uidOf(ids[0]) == 0 {
		t.Error("assigned message missing")
	}
	b.noop()
	if got := b.uids(); len(got) != 0 {
		t.Errorf("Queues/Billing after assignment: %v", got)
	}
	if st, err := sup.Status("Agents/"+bob, &imap.StatusOptions{NumMessages: true}).Wait(); err != nil || *st.NumMessages != 0 {
		t.Errorf("Agents/bob: %+v, %v", st, err)
	}

	// COPY from the archive assigns too.
	d := h.toSupport("erin@customer.test", "t9@customer.test", "")
	di := h.login(dave)
	di.selectBox("INBOX")
	stop = di.idle()
	sup.selectBox("All/Support")
	uid := sup.uidOf("t9@customer.test")
	if _, err := sup.Copy(imap.UIDSetNum(uid), "Agents/"+dave).Wait(); err != nil {
		t.Fatalf("COPY to Agents/dave: %v", err)
	}
	di.waitExists(1)
	stop()
	di.wantStatus(1, router.StatusUnopened)
	if got := h.report(d.Session).Session.Agent; got != dave {
		t.Errorf("session assigned to %q", got)
	}
	// Nobody gets a session of a queue they don't serve.
	_, err = sup.Copy(imap.UIDSetNum(uid), "Agents/"+bob).Wait()
	wantRefused(t, err, bob, "does not serve queue Support")
	// Agents can't assign: they have no Agents/ folders.
	h.toSupport("erin@customer.test", "t10@customer.test", "")
	al := h.login(alice)
	al.selectBox("Queues/Support")
	_, err = al.Move(imap.SeqSetNum(1), "Agents/"+dave).Wait()
	wantCode(t, err, imap.StatusResponseTypeNo, imap.ResponseCodeTryCreate)
}

// Desk rules refuse with a NO [CANNOT] whose text says why.
func TestRefusedMoves(t *testing.T) {
	h := newSessionHarness(t)
	s, ids := h.claimed(alice, "r", 2)
	a := h.login(alice)
	a.selectBox("INBOX")
	first := a.uidOf(ids[0])

	_, err := a.Move(imap.UIDSetNum(first), "Trash").Wait()
	wantRefused(t, err, "session "+s+" can't go to Trash")
	if err := a.Create("Personal", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	_, err = a.Move(imap.UIDSetNum(first), "Personal").Wait()
	wantRefused(t, err, "messages of session "+s+" stay on the desk")
	// Copying to a personal folder is fine: a copy outside the session,
	// without status keyword.
	if _, err := a.Copy(imap.UIDSetNum(first), "Personal").Wait(); err != nil {
		t.Fatalf("COPY to Personal: %v", err)
	}
	p := h.login(alice)
	p.selectBox("Personal")
	for uid, fl := range p.flagsByUID() {
		if len(statusOf(fl)) != 0 {
			t.Errorf("personal copy %d has %v", uid, fl)
		}
	}
	// Alice has no Later: none of her queues allows it.
	_, err = a.Move(imap.UIDSetNum(first), "Later").Wait()
	wantCode(t, err, imap.StatusResponseTypeNo, imap.ResponseCodeTryCreate)

	// A session's message can't be expunged; nothing else goes with it,
	// and it loses its \Deleted flag (the client shows it as it is).
	personal := appendMsg(t, a, "INBOX", "Subject: note to self\r\n\r\nx\r\n", nil).UID
	a.noop()
	store(t, a, imap.UIDSetNum(first, personal), imap.StoreFlagsAdd, imap.FlagDeleted)
	_, err = a.Expunge().Collect()
	wantRefused(t, err, "messages of session "+s+" can't be deleted")
	if fl := a.flagsByUID(); slices.Contains(fl[first], imap.FlagDeleted) || !slices.Contains(fl[personal], imap.FlagDeleted) {
		t.Errorf("flags after refused EXPUNGE: %v", fl)
	}
	store(t, a, imap.UIDSetNum(first), imap.StoreFlagsAdd, imap.FlagDeleted)
	err = a.UIDExpunge(imap.UIDSetNum(first)).Close()
	wantRefused(t, err, "can't be deleted")
	if got := a.uids(); len(got) != 3 {
		t.Errorf("INBOX after refused EXPUNGE: %v", got)
	}
	// CLOSE can't refuse: it removes the personal message only.
	if err := a.UnselectAndExpunge().Wait(); err != nil {
		t.Fatalf("CLOSE: %v", err)
	}
	a.selectBox("INBOX")
	if got := a.uids(); len(got) != 2 || slices.Contains(got, personal) {
		t.Errorf("INBOX after CLOSE: %v", got)
	}

	// Status keywords are mxdesk's: STORE keeps them, APPEND drops them.
	got := store(t, a, imap.UIDSetNum(first), imap.StoreFlagsAdd, "$Resolved", imap.FlagFlagged)
	if len(got) != 1 || !slices.Equal(statusOf(got[0].Flags), []string{"$Unopened"}) || !slices.Contains(got[0].Flags, imap.FlagFlagged) {
		t.Errorf("STORE +FLAGS ($Resolved \\Flagged) = %+v", got)
	}
	got = store(t, a, imap.UIDSetNum(first), imap.StoreFlagsSet, imap.FlagDeleted)
	if len(got) != 1 || !slices.Equal(statusOf(got[0].Flags), []string{"$Unopened"}) {
		t.Errorf("STORE FLAGS (\\Deleted) = %+v", got)
	}
	got = store(t, a, imap.UIDSetNum(first), imap.StoreFlagsDel, "$Unopened", imap.FlagDeleted)
	if len(got) != 1 || !slices.Equal(statusOf(got[0].Flags), []string{"$Unopened"}) {
		t.Errorf("STORE -FLAGS ($Unopened) = %+v", got)
	}
	d := appendMsg(t, a, "Drafts", "Subject: d\r\n\r\nx\r\n", &imap.AppendOptions{Flags: []imap.Flag{"$Active", "$resolved", "$Todo"}})
	p.selectBox("Drafts")
	fl := slices.DeleteFunc(p.flagsByUID()[d.UID], func(f imap.Flag) bool { return f == `\Recent` })
	if !slices.Equal(fl, []imap.Flag{"$Todo"}) {
		t.Errorf("APPEND with status keywords stored %v", fl)
	}

	// Later and transfers, per queue: Dave's Support session can't be
	// parked, his Sales session can't leave Sales but can be parked.
	h.claimed(dave, "l", 1)
	sales := h.deliverMail([]string{"sales@example.test"}, mail{from: "erin@customer.test", to: "sales@example.test", subject: "quote", id: "sales1@customer.test"})
	dv := h.login(dave)
	dv.selectBox("Queues/Sales")
	if _, err := dv.Move(imap.SeqSetNum(1), "INBOX").Wait(); err != nil {
		t.Fatal(err)
	}
	dv.selectBox("INBOX")
	_, err = dv.Move(imap.UIDSetNum(dv.uidOf("l1@customer.test")), "Later").Wait()
	wantRefused(t, err, "queue Support does not allow parking sessions in Later")
	_, err = dv.Move(imap.UIDSetNum(dv.uidOf("sales1@customer.test")), "Queues/Support").Wait()
	wantRefused(t, err, "queue Sales does not allow transfers to other queues")
	if _, err := dv.Move(imap.UIDSetNum(dv.uidOf("sales1@customer.test")), "Later").Wait(); err != nil {
		t.Fatalf("park in Later: %v", err)
	}
	if st := h.report(sales.Session).Session; !st.Parked || st.Status != router.StatusPaused {
		t.Errorf("parked session: %+v", st)
	}
	dv.selectBox("Later")
	dv.wantStatus(1, router.StatusPaused)
	if _, err := dv.Move(imap.SeqSetNum(1), "INBOX").Wait(); err != nil {
		t.Fatalf("resume from Later: %v", err)
	}
	dv.selectBox("INBOX")
	if st := h.report(sales.Session).Session.Status; st != router.StatusActive {
		t.Errorf("resumed session is %s", st)
	}

	// A queue the agent does not serve is not there to move into.
	_, err = a.Move(imap.UIDSetNum(first), "Queues/Billing").Wait()
	wantCode(t, err, imap.StatusResponseTypeNo, imap.ResponseCodeTryCreate)
}

// All/<queue> is read-only whatever the command: PERMANENTFLAGS is empty
// and changes are refused with the router's reason (STORE succeeds and
// changes nothing: TestThunderbirdReadsReadOnlyFolders).
func TestArchiveReadOnly(t *testing.T) {
	h := newSessionHarness(t)
	h.toSupport("carla@customer.test", "ro1@customer.test", "")
	rc := h.raw()
	rc.cmd("a", "LOGIN carol@example.test secret")
	lines, st := rc.cmd("b", "SELECT All/Support")
	for _, want := range []string{
		"* 1 EXISTS",
		"* 0 RECENT",
		`* FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Active $Closed $Paused $Reopened $Resolved $Unopened)`,
		`* OK [PERMANENTFLAGS ()] Permanent flags`,
	} {
		if !slices.Contains(lines, want) {
			t.Errorf("SELECT All/Support lacks %q: %q", want, lines)
		}
	}
	// go-imap writes [READ-WRITE] for any SELECT (docs/knownissues.md).
	if !strings.HasPrefix(st, "b OK") {
		t.Errorf("SELECT: %s", st)
	}
	for _, tc := range []struct{ cmd, want string }{
		{"MOVE 1 INBOX", "NO [CANNOT] All/Support is read-only: copy instead"},
		{"EXPUNGE", "NO [CANNOT] All/Support is read-only"},
		{"COPY 1 All/Billing", "NO [CANNOT] All/Billing is read-only"},
		{"FETCH 1 (BODY[] FLAGS)", "OK"},
		{"STATUS All/Support (RECENT MESSAGES)", "OK"},
	} {
		lines, st := rc.cmd("c", tc.cmd)
		if !strings.HasPrefix(st, "c "+tc.want) {
			t.Errorf("%s = %s", tc.cmd, st)
		}
		for _, l := range lines {
			if strings.Contains(l, `\Seen`) && strings.HasPrefix(tc.cmd, "FETCH") {
				t.Errorf("reading the archive set \\Seen: %s", l)
			}
			if strings.HasPrefix(l, "* STATUS") && !strings.Contains(l, "RECENT 0") {
				t.Errorf("archive messages are recent: %s", l)
			}
		}
	}
	// CLOSE succeeds and removes nothing.
	if _, st := rc.cmd("d", "CLOSE"); !strings.HasPrefix(st, "d OK") {
		t.Errorf("CLOSE: %s", st)
	}
	// EXAMINE keeps its own refusal.
	rc.cmd("e", "EXAMINE Queues/Support")
	if _, st := rc.cmd("f", "STORE 1 +FLAGS (\\Flagged)"); !strings.HasPrefix(st, "f NO [CANNOT]") || !strings.Contains(st, "EXAMINE") {
		t.Errorf("STORE after EXAMINE: %s", st)
	}
}

// Reading the latest inbound message of an Unopened session assigned to
// me opens it: $Active on every copy, seen by every client at once.
func TestReadingOpensSession(t *testing.T) {
	h := newSessionHarness(t)
	_, ids := h.claimed(alice, "o", 2)
	a, a2, sup := h.login(alice), h.login(alice), h.login(carol)
	a.selectBox("INBOX")
	a2.selectBox("INBOX")
	sup.Select("All/Support", &imap.SelectOptions{ReadOnly: true}).Wait()
	older, latest := a.uidOf(ids[0]), a.uidOf(ids[1])
	archived := []imap.UID{sup.uidOf(ids[0]), sup.uidOf(ids[1])}
	stops := []func(){a2.idle(), sup.idle()}

	body := &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{}}}
	// Reading an older message does not open the session.
	m, err := a.Fetch(imap.UIDSetNum(older), body).Collect()
	if err != nil || len(m) != 1 || !slices.Contains(m[0].Flags, imap.FlagSeen) || !slices.Equal(statusOf(m[0].Flags), []string{"$Unopened"}) {
		t.Fatalf("FETCH BODY[] of the older message = %+v, %v", m, err)
	}
	a2.waitFetchFlag(imap.FlagSeen, older)
	// The latest one does.
	m, err = a.Fetch(imap.UIDSetNum(latest), body).Collect()
	if err != nil || len(m) != 1 || !slices.Contains(m[0].Flags, imap.FlagSeen) || !slices.Equal(statusOf(m[0].Flags), []string{"$Active"}) {
		t.Fatalf("FETCH BODY[] of the latest message = %+v, %v", m, err)
	}
	// The reader learns of the sibling's new status unasked.
	a.waitFetchFlag("$Active", older)
	a2.waitFetchFlag("$Active", older, latest)
	sup.waitFetchFlag("$Active", archived...)
	for _, stop := range stops {
		stop()
	}
	a.wantStatus(2, router.StatusActive)

	// STORE .SILENT \Seen opens too, and the status change is reported
	// although the client asked for silence.
	_, ids = h.claimed(alice, "q", 1)
	a.noop()
	uid := a.uidOf(ids[0])
	got, err := a.Store(imap.UIDSetNum(uid), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagSeen}}, nil).Collect()
	if err != nil || len(got) != 1 || !slices.Equal(statusOf(got[0].Flags), []string{"$Active"}) {
		t.Errorf("STORE +FLAGS.SILENT (\\Seen) = %+v, %v", got, err)
	}
	// Reading in the queue (not assigned to me) does not open.
	h.toSupport("dan@customer.test", "u1@customer.test", "")
	a.selectBox("Queues/Support")
	if m := store(t, a, imap.SeqSetNum(1), imap.StoreFlagsAdd, imap.FlagSeen); len(m) != 1 || !slices.Equal(statusOf(m[0].Flags), []string{"$Unopened"}) {
		t.Errorf("STORE \\Seen in the queue = %+v", m)
	}
}

// The automatic transitions with an injected clock: Active → Paused →
// Closed (out of INBOX, still in All/), a reply within the window reopens,
// a reply after it starts a new session that links to the old one.
func TestSessionTimers(t *testing.T) {
	h := newSessionHarness(t)
	s, ids := h.claimed(alice, "k", 1)
	a := h.login(alice)
	a.selectBox("INBOX")
	store(t, a, imap.SeqSetNum(1), imap.StoreFlagsAdd, imap.FlagSeen)
	a.wantStatus(1, router.StatusActive)
	uid := a.uidOf(ids[0])
	sup := h.login(carol)
	sup.Select("All/Support", &imap.SelectOptions{ReadOnly: true}).Wait()
	archived := sup.uidOf(ids[0])
	stopA, stopSup := a.idle(), sup.idle()

	h.clock.Advance(29 * day24)
	h.runDue(0)
	h.clock.Advance(2 * day24)
	h.runDue(1)
	a.waitFetchFlag("$Paused", uid)
	sup.waitFetchFlag("$Paused", archived)
	h.runDue(0) // once

	h.clock.Advance(61 * day24)
	h.runDue(1)
	a.waitExpunge()
	stopA()
	stopSup()
	if got := a.uids(); len(got) != 0 {
		t.Errorf("INBOX of a closed session: %v", got)
	}
	sup.wantStatus(1, router.StatusClosed)
	// A closed session can't be moved around.
	_, err := sup.Copy(imap.SeqSetNum(1), "Agents/"+dave).Wait()
	wantRefused(t, err, "session "+s+" is closed")

	// A reply within the window reopens it: back in INBOX, the old
	// message read, the reply not.
	h.clock.Advance(10 * day24)
	stopA = a.idle()
	d := h.toSupport("carla@customer.test", "k2@customer.test", ids[0])
	a.waitExists(2)
	stopA()
	if d.Session != s {
		t.Fatalf("reply within the window went to %s, want %s", d.Session, s)
	}
	fl := a.wantStatus(2, router.StatusReopened)
	if old, reply := fl[a.uidOf(ids[0])], fl[a.uidOf("k2@customer.test")]; !slices.Contains(old, imap.FlagSeen) || slices.Contains(reply, imap.FlagSeen) {
		t.Errorf("reopened: old %v, reply %v", old, reply)
	}

	// Another session, resolved then closed; a reply 31 days after
	// closing starts a new session that names the old one.
	s2, ids2 := h.claimed(alice, "z", 1)
	a.noop()
	if _, err := a.Move(imap.UIDSetNum(a.uidOf(ids2[0])), "Resolved").Wait(); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(31 * day24)
	h.runDue(1)
	if st := h.report(s2).Session.Status; st != router.StatusClosed {
		t.Fatalf("resolved session after 31 days: %s", st)
	}
	h.clock.Advance(31 * day24)
	d = h.toSupport("carla@customer.test", "z2@customer.test", ids2[0])
	if d.Session == s2 {
		t.Fatal("reply after the window reopened the session")
	}
	q := h.login(dave)
	q.selectBox("Queues/Support")
	sessions, previous := q.sessionHeaders()
	if sessions["z2@customer.test"] != d.Session || previous["z2@customer.test"] != s2 {
		t.Errorf("new session %q, X-Mxdesk-Previous-Session %q; want %s, %s", sessions["z2@customer.test"], previous["z2@customer.test"], d.Session, s2)
	}
	q.wantStatus(1, router.StatusUnopened)
}

// Restart between a claim and a timer run: UIDs, flags and statuses are
// kept, and the timer that fell due while the server was down fires once.
func TestRestartMidSession(t *testing.T) {
	h := newSessionHarness(t)
	s, ids := h.claimed(alice, "x", 2)
	h.toSupport("dan@customer.test", "y1@customer.test", "")
	a := h.login(alice)
	a.selectBox("INBOX")
	if _, err := a.Fetch(imap.UIDSetNum(a.uidOf(ids[1])), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{}}}).Collect(); err != nil {
		t.Fatal(err)
	}
	folders := []string{"INBOX", "Queues/Support"}
	before := map[string]folderState{}
	for _, f := range folders {
		before[f] = snapshot(t, a, f)
	}
	h.clock.Advance(31 * day24) // due while down

	h.restart()
	a = h.login(alice)
	for _, f := range folders {
		after := snapshot(t, a, f)
		if after.UIDValidity != before[f].UIDValidity || after.UIDNext != before[f].UIDNext || !slices.Equal(after.Flags, before[f].Flags) || len(after.Messages) != len(before[f].Messages) {
			t.Errorf("%s after restart:\n%+v\nbefore:\n%+v", f, after, before[f])
		}
		for uid, fl := range before[f].Messages {
			if !slices.Equal(after.Messages[uid], fl) {
				t.Errorf("%s UID %d after restart: %v, before %v", f, uid, after.Messages[uid], fl)
			}
		}
	}
	if st := h.report(s).Session; st.Status != router.StatusActive || st.Agent != alice {
		t.Errorf("session after restart: %+v", st)
	}
	a.selectBox("INBOX")
	stop := a.idle()
	h.runDue(1)
	var inbox []imap.UID
	for uid := range before["INBOX"].Messages {
		inbox = append(inbox, uid)
	}
	a.waitFetchFlag("$Paused", inbox...)
	stop()
	h.runDue(0)
	a.wantStatus(2, router.StatusPaused)
	// The queue's waiting session can still be claimed; UIDs go on.
	a.selectBox("Queues/Support")
	md, err := a.Move(imap.SeqSetNum(1), "INBOX").Wait()
	if err != nil {
		t.Fatal(err)
	}
	if next := before["INBOX"].UIDNext; md.DestUIDs.String() != fmt.Sprint(next) {
		t.Errorf("claim after restart got UID %v, want %d", md.DestUIDs, next)
	}
}

// Templates holds the canned responses of the agent's queues: nothing
// goes in or out but copies into Drafts; flags are the agent's own
// (TestThunderbirdReadsReadOnlyFolders).
func TestTemplatesFolder(t *testing.T) {
	h := newSessionHarness(t)
	subjects := func(c *client) []string {
		t.Helper()
		d := c.selectBox("Templates")
		var out []string
		for _, m := range c.fetchAll(&imap.FetchOptions{Envelope: true}) {
			out = append(out, m.Envelope.Subject)
		}
		if len(out) != int(d.NumMessages) || !slices.Contains(d.PermanentFlags, imap.FlagSeen) {
			t.Errorf("SELECT Templates = %+v", d)
		}
		slices.Sort(out)
		return out
	}
	a, b := h.login(alice), h.login(bob)
	if got := subjects(a); !slices.Equal(got, []string{"A known problem", "Thank you for writing"}) {
		t.Errorf("alice's templates %q", got)
	}
	if got := subjects(b); !slices.Equal(got, []string{"Thank you for writing", "Your refund"}) {
		t.Errorf("bob's templates %q", got)
	}
	m := a.fetchAll(&imap.FetchOptions{Flags: true, BodySection: []*imap.FetchItemBodySection{{Specifier: imap.PartSpecifierText}}})
	if len(m) != 2 || !slices.Contains(m[0].Flags, imap.FlagSeen) {
		t.Errorf("reading a template: %+v", m)
	}
	if _, err := a.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Collect(); err != nil {
		t.Errorf("flagging a template: %v", err)
	}
	_, err := a.Move(imap.SeqSetNum(1), "Drafts").Wait()
	wantRefused(t, err, "Templates is read-only")
	_, err = a.Move(imap.SeqSetNum(1), "Trash").Wait()
	wantRefused(t, err, "Templates is read-only")
	store(t, a, imap.SeqSetNum(1), imap.StoreFlagsAdd, imap.FlagDeleted)
	_, err = a.Expunge().Collect()
	wantRefused(t, err, "Templates is read-only")
	_, err = appendErr(a, "Templates", "Subject: mine\r\n\r\nx\r\n")
	wantRefused(t, err, "Templates")
	if _, err := a.Copy(imap.SeqSetNum(1), "Drafts").Wait(); err != nil {
		t.Errorf("COPY a template to Drafts: %v", err)
	}
	if st, err := a.Status("Drafts", &imap.StatusOptions{NumMessages: true}).Wait(); err != nil || *st.NumMessages != 1 {
		t.Errorf("Drafts: %+v, %v", st, err)
	}
}

// Who sees which desk folders.
func TestSessionFolders(t *testing.T) {
	h := newSessionHarness(t)
	want := map[string][]string{
		alice: {"Drafts", "INBOX", "Junk", "Queues", "Queues/Support", "Queues/Support/Transfers", "Resolved", "Sent", "Status", "Status/Available", "Status/Away", "Templates", "Trash"},
		dave:  {"Drafts", "INBOX", "Junk", "Later", "Queues", "Queues/Billing", "Queues/Billing/Transfers", "Queues/Sales", "Queues/Sales/Transfers", "Queues/Support", "Queues/Support/Transfers", "Resolved", "Sent", "Status", "Status/Available", "Status/Away", "Templates", "Trash"},
		carol: {"Agents", "Agents/" + alice, "Agents/" + bob, "Agents/" + carol, "Agents/" + dave, "All", "All/Billing", "All/Sales", "All/Support",
			"Drafts", "INBOX", "Junk", "Queues", "Queues/Billing", "Queues/Billing/Spam", "Queues/Billing/Transfers", "Queues/Support", "Queues/Support/Spam", "Queues/Support/Transfers", "Resolved", "Sent", "Status", "Status/Available", "Status/Away", "Templates", "Trash"},
	}
	for who, w := range want {
		if got := listNames(t, h.login(who), "", "*", nil); !slices.Equal(got, w) {
			t.Errorf("%s sees %q, want %q", who, got, w)
		}
	}
	a := h.login(alice)
	_, err := a.Select("All/Support", nil).Wait()
	wantCode(t, err, imap.StatusResponseTypeNo, imap.ResponseCodeNonExistent)
	// Session folders announce the status keywords; PERMANENTFLAGS does
	// not offer them but keeps \*.
	d := a.selectBox("INBOX")
	for _, s := range router.Statuses {
		kw := imap.Flag(router.StatusKeyword(s))
		if !slices.Contains(d.Flags, kw) || slices.Contains(d.PermanentFlags, kw) {
			t.Errorf("INBOX FLAGS %v PERMANENTFLAGS %v: %s", d.Flags, d.PermanentFlags, kw)
		}
	}
	if !slices.Contains(d.PermanentFlags, imap.FlagWildcard) {
		t.Errorf("INBOX PERMANENTFLAGS %v lack \\*", d.PermanentFlags)
	}
}
