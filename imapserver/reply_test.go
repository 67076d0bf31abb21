package imapserver_test

// Agents' replies as Thunderbird and mutt send them, through the real
// submission server, seen in the outbox (what leaves, to whom, with which
// headers) and over IMAP: stale replies held and sent anyway, the
// subject rules, Cc and Bcc, replies to closed sessions, the signature
// and attachment limits of SPEC §7.

import (
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

// erin serves Support (like alice), Sales, whose replies carry the
// session tag and a signature naming the company, and Press, whose
// agents write their own subjects.
const erin = "erin@example.test"

func replyTOML() string {
	return fmt.Sprintf(`
[sessions]
resolved_to_closed_days = 30
reopen_window_days = 30
[policy]
max_attachment_bytes = 4096
[[queue]]
name = "Sales"
addresses = ["sales@example.test"]
subject_session_id = true
signature = "@{agent}, @{company}"
[[queue]]
name = "Press"
addresses = ["press@example.test"]
allow_subject_edit = true
[[agent]]
login = "erin@example.test"
name = "Erin Sand"
password_hash = %q
queues = ["Support", "Sales", "Press"]
`, testutil.PasswordHash())
}

// newReplyHarness runs IMAP, the MX and submission on one router with a
// fake clock, in the Oslo time zone (UTC+1 in March).
func newReplyHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessWith(t, harnessConfig{
		top:        "company = \"Example Corp\"\ntimezone = \"Europe/Oslo\"\n",
		extra:      replyTOML(),
		opts:       imapserver.Options{InsecureAuth: true},
		clock:      testutil.NewClock(),
		smtp:       true,
		submission: true,
	})
}

// draft is what an agent writes; thunderbird and mutt give the bytes each
// client sends for it.
type draft struct {
	from, to, cc, subject, inReplyTo string
	refs                             []string
	text                             string // the agent's own words, "\n" between lines
}

// thunderbird is the draft as Thunderbird sends an HTML reply:
// multipart/alternative with a new boundary, Message-ID and Date on each
// send (n), the quote in <blockquote type="cite"> under a moz-cite-prefix
// line, the signature in a moz-signature block.
func (d draft) thunderbird(n int) string {
	boundary := fmt.Sprintf("------------%024d", n*7919)
	lines := strings.Split(d.text, "\n")
	var b strings.Builder
	fmt.Fprintf(&b, "Content-Type: multipart/alternative;\r\n boundary=\"%s\"\r\n", boundary)
	fmt.Fprintf(&b, "Message-ID: <%s>\r\n", tbMessageID(n))
	fmt.Fprintf(&b, "Date: Mon, 2 Mar 2026 10:%02d:%02d +0100\r\nMIME-Version: 1.0\r\nUser-Agent: Mozilla Thunderbird\r\n", 40+n, n)
	fmt.Fprintf(&b, "Subject: %s\r\nContent-Language: en-US\r\nTo: %s\r\n", d.subject, d.to)
	if d.cc != "" {
		fmt.Fprintf(&b, "Cc: %s\r\n", d.cc)
	}
	d.threading(&b)
	fmt.Fprintf(&b, "From: %s\r\n\r\nThis is a multi-part message in MIME format.\r\n", d.from)
	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain; charset=UTF-8; format=flowed\r\nContent-Transfer-Encoding: 7bit\r\n\r\n", boundary)
	fmt.Fprintf(&b, "%s\r\n\r\nOn 3/2/26 10:00, Carla wrote:\r\n> Where is my order?\r\n\r\n-- \r\n%s\r\n\r\n", strings.Join(lines, "\r\n"), d.signature())
	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n", boundary)
	b.WriteString("<!DOCTYPE html>\r\n<html>\r\n  <head>\r\n    <meta http-equiv=\"content-type\" content=\"text/html; charset=UTF-8\">\r\n  </head>\r\n  <body>\r\n")
	for _, l := range lines {
		if l != "" {
			fmt.Fprintf(&b, "    <p>%s</p>\r\n", l)
		}
	}
	b.WriteString("    <div class=\"moz-cite-prefix\">On 3/2/26 10:00, Carla wrote:<br>\r\n    </div>\r\n")
	b.WriteString("    <blockquote type=\"cite\" cite=\"mid:o1@customer.test\">\r\n      <pre class=\"moz-quote-pre\" wrap=\"\">Where is my order?</pre>\r\n    </blockquote>\r\n")
	fmt.Fprintf(&b, "    <pre class=\"moz-signature\" cols=\"72\">-- \r\n%s</pre>\r\n  </body>\r\n</html>\r\n", d.signature())
	fmt.Fprintf(&b, "\r\n--%s--\r\n", boundary)
	return b.String()
}

// tbMessageID is the Message-ID Thunderbird gives send n (a UUID).
func tbMessageID(n int) string {
	return fmt.Sprintf("%08x-5c3e-4d2a-9b1f-%012x@example.test", n*104729, n)
}

// mutt is the draft as mutt sends a reply: plain text, its attribution
// line and "> " quote, the "-- " signature.
func (d draft) mutt(n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Date: Mon, 2 Mar 2026 10:%02d:00 +0100\r\nFrom: %s\r\nTo: %s\r\n", 40+n, d.from, d.to)
	if d.cc != "" {
		fmt.Fprintf(&b, "Cc: %s\r\n", d.cc)
	}
	fmt.Fprintf(&b, "Subject: %s\r\nMessage-ID: <20260302094%d.GA%d@laptop>\r\n", d.subject, n, 1000+n)
	d.threading(&b)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\nContent-Disposition: inline\r\nUser-Agent: Mutt/2.2.12 (2023-09-09)\r\n\r\n")
	fmt.Fprintf(&b, "%s\r\n\r\nOn Mon, Mar 02, 2026 at 10:00:00AM +0100, Carla wrote:\r\n> Where is my order?\r\n\r\n-- \r\n%s\r\n", strings.ReplaceAll(d.text, "\n", "\r\n"), d.signature())
	return b.String()
}

// signature is the agent's own signature: the name in From.
func (d draft) signature() string {
	name, _, _ := strings.Cut(d.from, " <")
	return name
}

func (d draft) threading(b *strings.Builder) {
	if len(d.refs) > 0 {
		var refs []string
		for _, r := range d.refs {
			refs = append(refs, "<"+r+">")
		}
		fmt.Fprintf(b, "References: %s\r\n", strings.Join(refs, " "))
	}
	if d.inReplyTo != "" {
		fmt.Fprintf(b, "In-Reply-To: <%s>\r\n", d.inReplyTo)
	}
}

// sessionOf is the session of the message with messageID.
func (h *harness) sessionOf(messageID string) storepkg.Session {
	h.t.Helper()
	var s storepkg.Session
	err := h.r.View(func(rd storepkg.Reader) error {
		id, err := rd.SessionByMessageID(messageID)
		if err == nil {
			s, err = rd.Session(id)
		}
		return err
	})
	if err != nil {
		h.t.Fatalf("session of %s: %v", messageID, err)
	}
	return s
}

// customer sends m from its sender through the MX to rcpt.
func (h *harness) customer(rcpt string, m mail) storepkg.Session {
	h.t.Helper()
	h.mustSend("bounce@customer.test", []string{rcpt}, m.String())
	return h.sessionOf(m.id)
}

// wantQueued submits raw as who and expects it queued in session (""
// for any), returning the session the 250 names.
func (h *harness) wantQueued(who string, rcpts []string, raw, session string) string {
	h.t.Helper()
	text, err := h.submit(who, rcpts, raw)
	text = strings.TrimPrefix(text, "2.0.0 ")
	if err != nil || !strings.HasPrefix(text, "queued as S-") {
		h.t.Fatalf("submit: %q, %v; want 250 queued as …", text, err)
	}
	got := strings.TrimPrefix(text, "queued as ")
	if session != "" && got != session {
		h.t.Fatalf("queued in %s, want %s", got, session)
	}
	return got
}

// wantSMTPError checks a refusal's code, enhanced code and text.
func wantSMTPError(t *testing.T, err error, code int, enh smtp.EnhancedCode, text string) {
	t.Helper()
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != code || se.EnhancedCode != enh || se.Message != text {
		t.Fatalf("reply %v, want %d %v %q", err, code, enh, text)
	}
}

// lastQueued is the newest message of the outbox.
func (h *harness) lastQueued(want int) *testutil.Queued {
	h.t.Helper()
	q := testutil.Outbox(h.t, h.r)
	if len(q) != want {
		h.t.Fatalf("%d messages queued, want %d", len(q), want)
	}
	return &q[len(q)-1]
}

// eventKinds lists the kinds of a session's events.
func (h *harness) eventKinds(id string) []string {
	h.t.Helper()
	var kinds []string
	for _, e := range h.report(id).Events {
		kinds = append(kinds, e.Kind)
	}
	return kinds
}

// lastHeader selects folder and returns the header fields of its newest
// message, as the agent's client reads them.
func (c *client) lastHeader(folder string, fields ...string) string {
	c.t.Helper()
	n := c.selectBox(folder).NumMessages
	sec := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: fields, Peek: true}
	msgs, err := c.Fetch(imap.SeqSetNum(n), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{sec}}).Collect()
	if err != nil || len(msgs) != 1 {
		c.t.Fatalf("fetch the newest of %s: %v", folder, err)
	}
	return string(msgs[0].FindBodySection(sec))
}

// count selects folder and returns how many messages it holds.
func (c *client) count(folder string) uint32 {
	c.t.Helper()
	return c.selectBox(folder).NumMessages
}

// A Thunderbird HTML reply to an older message than the customer's
// latest is refused with a text the client shows, stored nowhere, sent
// nowhere; sent again with the same words (new boundary, Date and
// Message-ID, as Thunderbird's Send does from the compose window that
// stayed open) within 10 minutes, it goes out.
func TestHeldStaleReplyIsRefusedThenSent(t *testing.T) {
	h := newReplyHarness(t)
	h.customer("support@example.test", mail{from: "Carla <carla@customer.test>", to: "support@example.test", subject: "Where is my order", id: "o1@customer.test"})
	h.clock.Advance(42 * time.Minute) // 10:42 in Oslo
	s := h.customer("support@example.test", mail{from: "Carla <carla@customer.test>", to: "support@example.test", subject: "Re: Where is my order",
		id: "o2@customer.test", inReplyTo: "o1@customer.test", refs: "o1@customer.test", body: "Never mind, cancel it."})
	reply := draft{from: "Alice Rossi <alice@example.test>", to: "Carla <carla@customer.test>", subject: "Re: Where is my order",
		inReplyTo: "o1@customer.test", refs: []string{"o1@customer.test"}, text: "Hello Carla,\n\nthe parcel left today."}
	carla := []string{"carla@customer.test"}
	heldText := "not sent: the customer wrote again at 10:42 (" + s.ID + ") - read their new message, then send again unchanged within 10 minutes to send it anyway"

	_, err := h.submit(alice, carla, reply.thunderbird(1))
	wantSMTPError(t, err, 550, smtp.EnhancedCode{5, 7, 0}, heldText)
	a := h.login(alice)
	if n := a.count("Sent"); n != 0 || len(testutil.Outbox(t, h.r)) != 0 {
		t.Fatalf("held reply: %d in Sent, %d queued", n, len(testutil.Outbox(t, h.r)))
	}
	if rep := h.report(s.ID); len(rep.Messages) != 2 || !slices.Contains(h.eventKinds(s.ID), "held") {
		t.Errorf("held reply: %d messages in the session (want the customer's 2, no notice), events %v", len(rep.Messages), h.eventKinds(s.ID))
	}

	h.clock.Advance(3 * time.Minute)
	h.wantQueued(alice, carla, reply.thunderbird(2), s.ID)
	out := h.lastQueued(1)
	if !slices.Equal(out.To, carla) || out.Header.Get("Message-Id") != "<"+tbMessageID(2)+">" {
		t.Errorf("sent anyway: to %v, Message-ID %s", out.To, out.Header.Get("Message-Id"))
	}
	if n := a.count("Sent"); n != 1 || !slices.Contains(h.eventKinds(s.ID), "stale-sent") {
		t.Errorf("sent anyway: %d in Sent, events %v", n, h.eventKinds(s.ID))
	}

	// Other words are held again; the same words 11 minutes later too
	// (the window is over) and again within the new window they go.
	other := reply
	other.text = "Hello Carla,\n\nwe refund you."
	for _, wait := range []time.Duration{0, 11 * time.Minute} {
		h.clock.Advance(wait)
		_, err = h.submit(alice, carla, other.mutt(3))
		wantSMTPError(t, err, 550, smtp.EnhancedCode{5, 7, 0}, heldText)
	}
	h.wantQueued(alice, carla, other.mutt(4), s.ID)
	h.lastQueued(2)
}

// The stale check takes In-Reply-To as the message answered, else the
// last of References: a reply whose References end in the latest
// message is not held.
func TestStaleCheckAnswersTheNewest(t *testing.T) {
	h := newReplyHarness(t)
	h.customer("support@example.test", mail{from: "carla@customer.test", to: "support@example.test", subject: "Order", id: "o1@customer.test"})
	h.clock.Advance(time.Minute)
	s := h.customer("support@example.test", mail{from: "carla@customer.test", to: "support@example.test", subject: "Re: Order",
		id: "o2@customer.test", inReplyTo: "o1@customer.test", refs: "o1@customer.test"})
	carla := []string{"carla@customer.test"}
	newest := []string{"o1@customer.test", "o2@customer.test"}
	for i, d := range []draft{
		{from: alice, to: "carla@customer.test", subject: "Re: Order", refs: newest, inReplyTo: "o2@customer.test", text: "one"},
		{from: alice, to: "carla@customer.test", subject: "Re: Order", refs: newest, text: "two"},
	} {
		h.wantQueued(alice, carla, d.mutt(i), s.ID)
	}
	old := draft{from: alice, to: "carla@customer.test", subject: "Re: Order", refs: []string{"o1@customer.test"}, text: "three"}
	if _, err := h.submit(alice, carla, old.mutt(3)); err == nil {
		t.Error("a reply whose References end in the older message was sent")
	}
}

// SPEC §7 subjects: with subject_session_id the agent can't change the
// subject ("Re: <session subject> [S-XXXXX]"); with allow_subject_edit
// their subject is kept and the session goes on; with neither the
// subject is as typed. A stranger's copy of a tag starts a session whose
// subject doesn't carry it.
func TestReplySubject(t *testing.T) {
	h := newReplyHarness(t)
	sales := h.customer("sales@example.test", mail{from: "Carla <carla@customer.test>", to: "sales@example.test", subject: "Fwd: Quote please", id: "q1@customer.test"})
	carla := []string{"carla@customer.test"}
	for i, typed := range []string{"Re: Fwd: Quote please", "something else entirely", "Re: Re: Quote please [" + sales.ID + "]"} {
		h.wantQueued(erin, carla, draft{from: erin, to: "carla@customer.test", subject: typed, inReplyTo: "q1@customer.test", text: "offer"}.thunderbird(i), sales.ID)
		if got, want := h.lastQueued(i+1).Header.Get("Subject"), "Re: Quote please ["+sales.ID+"]"; got != want {
			t.Errorf("Sales reply typed %q: subject %q, want %q", typed, got, want)
		}
	}
	// The agent's Sent shows the subject that went out.
	if got, want := h.login(erin).lastHeader("Sent", "Subject"), "Subject: Re: Quote please ["+sales.ID+"]\r\n\r\n"; got != want {
		t.Errorf("Sent copy: %q, want %q", got, want)
	}
	// The signature names the company (@{company}).
	if body := h.lastQueued(3).Raw; !strings.Contains(body, "--=20\r\nErin Sand, Example Corp\r\n") {
		t.Errorf("signature without the company:\n%s", body)
	}

	stranger := h.customer("sales@example.test", mail{from: "mallory@elsewhere.test", to: "sales@example.test", subject: "Re: Quote please [" + sales.ID + "]", id: "x1@elsewhere.test"})
	if stranger.ID == sales.ID || stranger.Subject != "Re: Quote please" {
		t.Fatalf("stranger's session %s, subject %q", stranger.ID, stranger.Subject)
	}
	h.wantQueued(erin, []string{"mallory@elsewhere.test"}, draft{from: erin, to: "mallory@elsewhere.test", subject: "Re: Re: Quote please [" + sales.ID + "]", inReplyTo: "x1@elsewhere.test", text: "who are you?"}.mutt(4), stranger.ID)
	if got, want := h.lastQueued(4).Header.Get("Subject"), "Re: Quote please ["+stranger.ID+"]"; got != want {
		t.Errorf("reply to the stranger: subject %q, want %q", got, want)
	}

	press := h.customer("press@example.test", mail{from: "Carla <carla@customer.test>", to: "press@example.test", subject: "Interview request", id: "p1@customer.test"})
	h.wantQueued(erin, carla, draft{from: erin, to: "carla@customer.test", subject: "Interview on Friday?", inReplyTo: "p1@customer.test", text: "Friday?"}.thunderbird(5), press.ID)
	out := h.lastQueued(5)
	if got := out.Header.Get("Subject"); got != "Interview on Friday?" {
		t.Errorf("Press reply subject %q, want the agent's", got)
	}
	back := h.customer(out.Header.Get("Reply-To"), mail{from: "carla@customer.test", to: out.Header.Get("Reply-To"), subject: "Re: Interview on Friday?", id: "p2@customer.test"})
	if back.ID != press.ID {
		t.Errorf("the answer to an edited subject went to %s, want %s", back.ID, press.ID)
	}

	// A message the agent writes first has its subject, tagged, no Re:.
	first := h.wantQueued(erin, []string{"new@customer.test"}, draft{from: "sales@example.test", to: "new@customer.test", subject: "Our offer", text: "hello"}.mutt(7), "")
	if got, want := h.lastQueued(6).Header.Get("Subject"), "Our offer ["+first+"]"; got != want {
		t.Errorf("first message's subject %q, want %q", got, want)
	}

	support := h.customer("support@example.test", mail{from: "carla@customer.test", to: "support@example.test", subject: "Where is my order", id: "w1@customer.test"})
	h.wantQueued(alice, carla, draft{from: alice, to: "carla@customer.test", subject: "Re: Where is it?", inReplyTo: "w1@customer.test", text: "here"}.mutt(6), support.ID)
	if got := h.lastQueued(7).Header.Get("Subject"); got != "Re: Where is it?" {
		t.Errorf("Support reply subject %q, want it as typed", got)
	}
}

// SPEC §7 copies: the session keeps the Cc of the latest inbound message
// with its display names; a Cc the agent writes replaces it (only our
// own addresses: none), a reply without Cc goes to it. Envelope
// recipients outside To and Cc are the agent's Bcc, remembered likewise
// and never named in a header.
func TestReplyCopies(t *testing.T) {
	h := newReplyHarness(t)
	s := h.customer("support@example.test", mail{from: "Carla <carla@customer.test>", to: "support@example.test",
		cc: "Dan Partner <dan@partner.test>, support@example.test", subject: "Invoice", id: "c1@customer.test"})
	if want := []string{`"Dan Partner" <dan@partner.test>`}; !slices.Equal(s.Cc, want) {
		t.Fatalf("session Cc %q, want %q", s.Cc, want)
	}
	own := "support+" + s.Token + "@example.test"
	step := 0
	send := func(d draft, envelope ...string) *testutil.Queued {
		t.Helper()
		step++
		d.from, d.subject, d.inReplyTo = "Alice Rossi <alice@example.test>", "Re: Invoice", "c1@customer.test"
		if d.to == "" {
			d.to = "Carla <carla@customer.test>"
		}
		h.wantQueued(alice, append([]string{"carla@customer.test"}, envelope...), d.mutt(step), s.ID)
		return h.lastQueued(step)
	}
	check := func(what string, out *testutil.Queued, to []string, cc string) {
		t.Helper()
		if !slices.Equal(out.To, to) || out.Header.Get("Cc") != cc {
			t.Errorf("%s: envelope %v, Cc %q; want %v, %q", what, out.To, out.Header.Get("Cc"), to, cc)
		}
		if out.Header.Has("Bcc") || strings.Contains(out.Raw, "boss@") {
			t.Errorf("%s: the Bcc is named in the message:\n%s", what, out.Raw)
		}
	}

	out := send(draft{text: "plain reply"})
	check("plain reply", out, []string{"carla@customer.test", "dan@partner.test"}, `"Dan Partner" <dan@partner.test>`)
	out = send(draft{text: "with Gus", cc: `"Gus" <gus@partner.test>`}, "gus@partner.test")
	check("Cc replaced", out, []string{"carla@customer.test", "gus@partner.test"}, `"Gus" <gus@partner.test>`)
	out = send(draft{text: "boss in Bcc"}, "boss@example.org")
	check("Bcc", out, []string{"carla@customer.test", "boss@example.org", "gus@partner.test"}, `"Gus" <gus@partner.test>`)
	out = send(draft{text: "remembered Bcc"})
	check("remembered Bcc", out, []string{"carla@customer.test", "gus@partner.test", "boss@example.org"}, `"Gus" <gus@partner.test>`)
	// The copy in the agent's Sent is what the customer got.
	if got := h.login(alice).lastHeader("Sent", "Cc", "Bcc"); got != "Cc: \"Gus\" <gus@partner.test>\r\n\r\n" {
		t.Errorf("Sent copy's Cc and Bcc: %q", got)
	}

	// A later customer message's Cc replaces the session's; the Bcc stays.
	later := h.customer(own, mail{from: "carla@customer.test", to: own, cc: "Eve <eve@partner.test>", subject: "Re: Invoice", id: "c2@customer.test", inReplyTo: "c1@customer.test"})
	if later.ID != s.ID || !slices.Equal(later.Cc, []string{`"Eve" <eve@partner.test>`}) || !slices.Equal(later.Bcc, []string{"boss@example.org"}) {
		t.Fatalf("after the customer's Cc: session %s Cc %q Bcc %q", later.ID, later.Cc, later.Bcc)
	}
	out = send(draft{text: "after Eve"})
	check("inbound Cc", out, []string{"carla@customer.test", "eve@partner.test", "boss@example.org"}, `"Eve" <eve@partner.test>`)

	// Reply All puts the queue's address in Cc (the customer wrote to
	// it); deleting the colleague and leaving only it there empties the
	// Cc. The same for the session's own address, which Reply All copies
	// when answering the customer's reply. Our own address as the only
	// Bcc clears the Bcc.
	out = send(draft{text: "only the queue in Cc", cc: "support@example.test"}, "support@example.test")
	check("Cc of the queue's address", out, []string{"carla@customer.test", "boss@example.org"}, "")
	h.customer(own, mail{from: "carla@customer.test", to: own, cc: "Eve <eve@partner.test>", subject: "Re: Invoice", id: "c3@customer.test", inReplyTo: "c2@customer.test"})
	out = send(draft{text: "only us in Cc", cc: own}, own)
	check("Cc of our own address", out, []string{"carla@customer.test", "boss@example.org"}, "")
	out = send(draft{text: "only us in Bcc"}, own)
	check("Bcc of our own address", out, []string{"carla@customer.test"}, "")
	out = send(draft{text: "nobody else"})
	check("cleared", out, []string{"carla@customer.test"}, "")
}

// A reply to a closed session inside the reopen window reopens it, Active
// and assigned to the agent, its messages back in their INBOX; after the
// window it starts a new session that continues the old one, with the
// reply as its first message and the old one's customer and copies.
func TestReplyToClosedSession(t *testing.T) {
	h := newReplyHarness(t)
	s := h.customer("support@example.test", mail{from: "Carla <carla@customer.test>", to: "support@example.test", cc: "dan@partner.test", subject: "Broken", id: "k1@customer.test"})
	carla := []string{"carla@customer.test"}
	reply := func(n int) string {
		return draft{from: alice, to: "carla@customer.test", subject: "Re: Broken", inReplyTo: "k1@customer.test", text: fmt.Sprintf("answer %d", n)}.thunderbird(n)
	}
	h.wantQueued(alice, carla, reply(1), s.ID)
	a := h.login(alice)
	closeSession := func() {
		t.Helper()
		a.selectBox("INBOX")
		if _, err := a.Move(imap.SeqSetNum(1), "Resolved").Wait(); err != nil {
			t.Fatal(err)
		}
		h.clock.Advance(31 * day24)
		h.runDue(1)
		if n := a.count("INBOX"); n != 0 || h.report(s.ID).Session.Status != router.StatusClosed {
			t.Fatalf("closing: %d in INBOX, status %s", n, h.report(s.ID).Session.Status)
		}
	}
	closeSession()

	h.clock.Advance(10 * day24)
	h.wantQueued(alice, carla, reply(2), s.ID)
	if got := h.report(s.ID).Session; got.Status != router.StatusActive || got.Agent != alice {
		t.Errorf("reply within the window: status %s, agent %q", got.Status, got.Agent)
	}
	a.selectBox("INBOX")
	a.wantStatus(3, router.StatusActive)
	if ev := h.report(s.ID).Events; ev[len(ev)-1].Kind != "replied" || !slices.Contains(h.eventKinds(s.ID), "assigned") {
		t.Errorf("events %v", h.eventKinds(s.ID))
	}
	if out := h.lastQueued(2); out.Header.Get("X-Mxdesk-Session") != s.ID {
		t.Errorf("reopened reply stamped %q", out.Header.Get("X-Mxdesk-Session"))
	}

	closeSession()
	h.clock.Advance(31 * day24) // past the 30-day window
	next := h.wantQueued(alice, carla, reply(3), "")
	if next == s.ID {
		t.Fatal("a reply after the window reopened the old session")
	}
	ns := h.report(next).Session
	if ns.Previous != s.ID || ns.Agent != alice || ns.Status != router.StatusActive || ns.Customer != "carla@customer.test" ||
		!slices.Equal(ns.Cc, []string{"dan@partner.test"}) || !slices.Contains(ns.Participants, "dan@partner.test") {
		t.Errorf("new session %+v", ns)
	}
	if old := h.report(s.ID); old.Session.Status != router.StatusClosed || !slices.Contains(h.eventKinds(s.ID), "continued") {
		t.Errorf("old session %s, events %v", old.Session.Status, h.eventKinds(s.ID))
	}
	a.selectBox("INBOX")
	sessions, previous := a.sessionHeaders()
	if len(sessions) != 1 || sessions[tbMessageID(3)] != next || previous[tbMessageID(3)] != s.ID {
		t.Errorf("INBOX: sessions %v, previous %v; want the reply in %s after %s", sessions, previous, next, s.ID)
	}
	out := h.lastQueued(3)
	if out.Header.Get("X-Mxdesk-Session") != next || out.Header.Get("X-Mxdesk-Previous-Session") != s.ID ||
		!slices.Equal(out.To, []string{"carla@customer.test", "dan@partner.test"}) {
		t.Errorf("queued: session %q previous %q to %v", out.Header.Get("X-Mxdesk-Session"), out.Header.Get("X-Mxdesk-Previous-Session"), out.To)
	}
	// The customer's answer follows the new session.
	back := h.customer(out.Header.Get("Reply-To"), mail{from: "carla@customer.test", to: out.Header.Get("Reply-To"), subject: "Re: Broken", id: "k9@customer.test"})
	if back.ID != next {
		t.Errorf("the customer's answer went to %s, want %s", back.ID, next)
	}
}

// policy.max_attachment_bytes bounds all attachments of an agent's
// message together, not each one.
func TestOutboundAttachmentBytes(t *testing.T) {
	h := newReplyHarness(t)
	s := h.customer("support@example.test", mail{from: "carla@customer.test", to: "support@example.test", subject: "Files", id: "f1@customer.test"})
	withFiles := func(n int) string {
		var b strings.Builder
		b.WriteString("From: alice@example.test\r\nTo: carla@customer.test\r\nSubject: Re: Files\r\nIn-Reply-To: <f1@customer.test>\r\nMIME-Version: 1.0\r\n")
		b.WriteString("Content-Type: multipart/mixed; boundary=\"------------m\"\r\n\r\n--------------m\r\nContent-Type: text/plain\r\n\r\nsee the files\r\n")
		for i := range n {
			fmt.Fprintf(&b, "--------------m\r\nContent-Type: application/pdf; name=\"f%d.pdf\"\r\nContent-Disposition: attachment; filename=\"f%d.pdf\"\r\n\r\n%%PDF-1.4\r\n%s\r\n", i, i, strings.Repeat("x", 2500))
		}
		b.WriteString("--------------m--\r\n")
		return b.String()
	}
	_, err := h.submit(alice, []string{"carla@customer.test"}, withFiles(2))
	wantSMTPError(t, err, 552, smtp.EnhancedCode{5, 3, 4}, "attachments larger than 4096 bytes in total (policy.max_attachment_bytes)")
	if n := len(testutil.Outbox(t, h.r)); n != 0 {
		t.Fatalf("%d queued after the refusal", n)
	}
	h.wantQueued(alice, []string{"carla@customer.test"}, withFiles(1), s.ID)
}
