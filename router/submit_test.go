package router_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"mxdesk/router"
	"mxdesk/store"
	"mxdesk/testutil"
)

// salesTOML adds a queue with every reply option and its agent, erin.
const salesTOML = `
[[queue]]
name = "Sales"
addresses = ["sales@example.test"]
subject_session_id = true
allow_transfer_to_agent = true
signature = """
@{agent}@{company}
write to @{alias}"""

[[agent]]
login = "erin@example.test"
name = "Erin Sand"
password_hash = "` + "HASH" + `"
queues = ["Sales"]

[[agent]]
login = "finn@example.test"
name = "Finn Berg"
password_hash = "` + "HASH" + `"
queues = ["Sales"]
`

type desk struct {
	r     *router.Router
	clock *testutil.Clock
}

func newDesk(t *testing.T) *desk { return newDeskWith(t, "") }

// newDeskWith adds sales queue options (TOML lines) to salesTOML.
func newDeskWith(t *testing.T, salesOptions string) *desk {
	t.Helper()
	clock := testutil.NewClock()
	toml := strings.Replace(salesTOML, "subject_session_id = true\n", "subject_session_id = true\n"+salesOptions, 1)
	cfg := testutil.Config(t, strings.ReplaceAll(toml, "HASH", testutil.PasswordHash()))
	r, _ := openRouter(t, cfg, t.TempDir(), clock)
	return &desk{r: r, clock: clock}
}

// customer sends a message to sales and returns its session.
func (d *desk) customer(t *testing.T, header string) router.Delivered {
	t.Helper()
	return send(t, d.r, []string{"sales@example.test"}, header)
}

func (d *desk) submit(t *testing.T, who string, rcpts []string, raw string) (router.Submitted, error) {
	t.Helper()
	a := login(t, d.r, who)
	return d.r.Submit(ctx, a, router.Envelope{From: who, To: rcpts}, []byte(raw))
}

// outbox returns the queued messages, parsed.
func (d *desk) outbox(t *testing.T) []testutil.Queued {
	t.Helper()
	return testutil.Outbox(t, d.r)
}

func TestReplyIsRewritten(t *testing.T) {
	d := newDesk(t)
	in := d.customer(t, "From: Carla <carla@customer.test>\r\nCc: dan@partner.test, sales@example.test\r\nMessage-ID: <q1@customer.test>\r\nSubject: Quote please\r\n")
	s := session(t, d.r, in.Session)
	got, err := d.submit(t, "erin@example.test", []string{"carla@customer.test"},
		"Received: from laptop ([192.0.2.7]) (authenticated as erin@example.test) by mx with ESMTPSA\r\nFrom: Erin <erin@example.test>\r\nTo: carla@customer.test\r\nBcc: boss@example.org\r\nIn-Reply-To: <q1@customer.test>\r\nReferences: <q1@customer.test>\r\nMessage-ID: <r1@desk.test>\r\nSubject: Re: Quote please\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\nHere it is, caf\xe9.\r\n")
	if err != nil || got.Session != s.ID || got.Action != "reply" || got.Queued != 2 {
		t.Fatalf("Submit = %+v, %v", got, err)
	}
	q := d.outbox(t)
	if len(q) != 1 {
		t.Fatalf("%d queued", len(q))
	}
	m := q[0]
	checks := map[string]string{
		"From":        `"Erin Sand via Sales" <sales@example.test>`,
		"Reply-To":    "sales+" + s.Token + "@example.test",
		"Subject":     "Re: Quote please [" + s.ID + "]",
		"Cc":          "dan@partner.test",
		"In-Reply-To": "<q1@customer.test>",
		"Bcc":         "",
		"Received":    "",
		"Message-Id":  "<r1@desk.test>",
	}
	for k, want := range checks {
		if got := m.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if !slices.Equal(m.Outbound.To, []string{"carla@customer.test", "dan@partner.test"}) || m.Outbound.From != "sales+"+s.Token+"@example.test" {
		t.Errorf("envelope %s -> %v", m.Outbound.From, m.Outbound.To)
	}
	if !strings.Contains(m.Raw, "charset=utf-8") || !strings.Contains(m.Raw, "caf=C3=A9") ||
		!strings.Contains(m.Raw, "--=20\r\nErin Sand\r\nwrite to erin@example.test") {
		t.Errorf("body with signature:\n%s", m.Raw)
	}
	// Answering the waiting session claimed it.
	if s := session(t, d.r, s.ID); s.Agent != "erin@example.test" || s.Status != router.StatusActive {
		t.Errorf("after the reply: agent %q, status %s", s.Agent, s.Status)
	}
	// Stored in the session (INBOX, All) and in Sent; a client's own
	// APPEND of it to Sent is the same message.
	erin := login(t, d.r, "erin@example.test")
	rep, _ := d.r.Report(s.ID)
	last := rep.Messages[len(rep.Messages)-1]
	if last.MessageID != "r1@desk.test" || len(last.Folders) != 3 {
		t.Errorf("stored reply: %+v", last)
	}
	mb, uid, err := d.r.Append(ctx, erin, "Sent", []byte("Message-ID: <r1@desk.test>\r\nSubject: Re: Quote please\r\n\r\nHere it is\r\n"), []string{`\Seen`}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	d.r.View(func(rd store.Reader) error {
		msgs, _ := rd.Messages(mb.ID, 0, 0)
		if len(msgs) != 1 || msgs[0].UID != uid {
			t.Errorf("Sent holds %d messages after the client's APPEND (uid %d)", len(msgs), uid)
		}
		return nil
	})
	// The agent's explicit Cc wins and is remembered.
	if _, err := d.submit(t, "erin@example.test", []string{"carla@customer.test", "gus@partner.test"},
		"To: carla@customer.test\r\nCc: gus@partner.test\r\nIn-Reply-To: <q1@customer.test>\r\nSubject: Re: Quote please ["+s.ID+"]\r\n\r\nsecond\r\n"); err != nil {
		t.Fatal(err)
	}
	if cc := session(t, d.r, s.ID).Cc; !slices.Equal(cc, []string{"gus@partner.test"}) {
		t.Errorf("session Cc = %v", cc)
	}
	if subj := d.outbox(t)[1].Header.Get("Subject"); strings.Count(subj, s.ID) != 1 {
		t.Errorf("tag added twice: %q", subj)
	}
}

func TestHTMLSignatureAndAttachmentLimit(t *testing.T) {
	d := newDesk(t)
	in := d.customer(t, "From: carla@customer.test\r\nMessage-ID: <h1@customer.test>\r\nSubject: html\r\n")
	alt := "MIME-Version: 1.0\r\nIn-Reply-To: <h1@customer.test>\r\nSubject: Re: html\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\nplain text\r\n--b\r\nContent-Type: text/html\r\n\r\n<html><body><p>rich <b>text</b></p></body></html>\r\n--b--\r\n"
	if _, err := d.submit(t, "erin@example.test", []string{"carla@customer.test"}, alt); err != nil {
		t.Fatal(err)
	}
	raw := d.outbox(t)[0].Raw
	if !strings.Contains(raw, `class=3D"mxdesk-signature"`) || !strings.Contains(raw, "Erin Sand<br>") || strings.Count(raw, "--=20\r\nErin Sand") != 1 {
		t.Errorf("signature missing in a part:\n%s", raw)
	}
	var parts strings.Builder
	parts.WriteString("MIME-Version: 1.0\r\nIn-Reply-To: <h1@customer.test>\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\nContent-Type: text/plain\r\n\r\nsee files\r\n")
	for range 11 {
		parts.WriteString("--m\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=a.pdf\r\n\r\n%PDF-1.4\r\n")
	}
	parts.WriteString("--m--\r\n")
	_, err := d.submit(t, "erin@example.test", []string{"carla@customer.test"}, parts.String())
	if router.KindOf(err) != router.KindTooBig || !strings.Contains(err.Error(), "policy.max_attachments") {
		t.Errorf("11 attachments: %v", err)
	}
	if len(d.outbox(t)) != 1 || len(mustReport(t, d.r, in.Session).Messages) != 2 {
		t.Error("a refused message left traces")
	}
}

func mustReport(t *testing.T, r *router.Router, id string) router.SessionReport {
	t.Helper()
	rep, err := r.Report(id)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestNewOutboundSession(t *testing.T) {
	d := newDesk(t)
	got, err := d.submit(t, "erin@example.test", []string{"new@customer.test"}, "From: erin@example.test\r\nTo: new@customer.test\r\nSubject: Our offer\r\n\r\nhello\r\n")
	if err != nil || got.Action != "new" {
		t.Fatalf("Submit = %+v, %v", got, err)
	}
	s := session(t, d.r, got.Session)
	if s.Queue != "Sales" || s.Agent != "erin@example.test" || s.Status != router.StatusActive || s.Customer != "new@customer.test" {
		t.Errorf("session %+v", s)
	}
	// The customer's answer to the reply address joins it.
	back := send(t, d.r, []string{"sales+" + s.Token + "@example.test"}, "From: new@customer.test\r\nSubject: Re: Our offer\r\n")
	if back.Session != s.ID || back.Folder != "INBOX" {
		t.Errorf("answer went to %+v", back)
	}
	// Alice serves no queue of erin's session: she can't answer it.
	if _, err := d.submit(t, "alice@example.test", []string{"new@customer.test"}, "Subject: Re: Our offer ["+s.ID+"]\r\n\r\nx\r\n"); router.KindOf(err) != router.KindForbidden {
		t.Errorf("alice answering a Sales session: %v", err)
	}
	// Local addresses that are nobody are refused.
	if err := d.r.CheckSubmitRecipient("nobody@example.test"); router.KindOf(err) != router.KindNotFound {
		t.Errorf("nobody@: %v", err)
	}
	for _, ok := range []string{"x@elsewhere.test", "bob@example.test", "sales+note-" + s.Token + "@example.test"} {
		if err := d.r.CheckSubmitRecipient(ok); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
}

func TestNotesAndTransfers(t *testing.T) {
	d := newDesk(t)
	in := d.customer(t, "From: carla@customer.test\r\nMessage-ID: <t1@customer.test>\r\nSubject: transfer me\r\n")
	s := session(t, d.r, in.Session)
	got, err := d.submit(t, "erin@example.test", []string{"sales+note-" + s.Token + "@example.test"}, "Subject: remember\r\n\r\ncall her back\r\n")
	if err != nil || got.Action != "note" || len(d.outbox(t)) != 0 {
		t.Fatalf("note: %+v, %v", got, err)
	}
	// Forward to another agent of the queue: a transfer with a note.
	fwd := "Subject: Fwd: transfer me\r\nReferences: <t1@customer.test>\r\n\r\nFinn, you know this customer.\r\n"
	if got, err := d.submit(t, "erin@example.test", []string{"finn@example.test"}, fwd); err != nil || got.Action != "transfer" {
		t.Fatalf("forward to finn: %+v, %v", got, err)
	}
	if s := session(t, d.r, s.ID); s.Agent != "finn@example.test" || s.Status != router.StatusUnopened {
		t.Errorf("after forward to finn: %s %s", s.Agent, s.Status)
	}
	// Forward to another queue's address: the session moves there.
	if _, err := d.submit(t, "finn@example.test", []string{"billing@example.test"}, fwd); err != nil {
		t.Fatal(err)
	}
	s = session(t, d.r, s.ID)
	if s.Queue != "Billing" || s.Agent != "" {
		t.Errorf("after forward to Billing: %s %q", s.Queue, s.Agent)
	}
	if len(d.outbox(t)) != 0 {
		t.Error("a transfer sent mail")
	}
	rep := mustReport(t, d.r, s.ID)
	internal := 0
	for _, m := range rep.Messages {
		if strings.HasPrefix(m.Subject, "[Internal] ") {
			internal++
		}
	}
	if internal != 3 {
		t.Errorf("%d internal messages in the session, want 3", internal)
	}
	// Mixing a transfer with a customer is refused.
	if _, err := d.submit(t, "carol@example.test", []string{"support@example.test", "carla@customer.test"}, fwd); router.KindOf(err) != router.KindForbidden {
		t.Errorf("transfer plus customer: %v", err)
	}
}

func TestStaleReplyHeldThenSent(t *testing.T) {
	d := newDesk(t)
	d.customer(t, "From: carla@customer.test\r\nMessage-ID: <s1@customer.test>\r\nSubject: first\r\n")
	d.clock.Advance(time.Minute)
	newer := d.customer(t, "From: carla@customer.test\r\nMessage-ID: <s2@customer.test>\r\nReferences: <s1@customer.test>\r\nSubject: never mind\r\n")
	reply := "In-Reply-To: <s1@customer.test>\r\nSubject: Re: first\r\n\r\nanswer to the first\r\n"
	got, err := d.submit(t, "erin@example.test", []string{"carla@customer.test"}, reply)
	if err != nil || got.Action != "held" || len(d.outbox(t)) != 0 {
		t.Fatalf("stale reply: %+v, %v, %d queued", got, err, len(d.outbox(t)))
	}
	if !strings.HasPrefix(got.Held, "not sent: the customer wrote again at 09:01 ("+newer.Session+")") {
		t.Errorf("held text %q", got.Held)
	}
	rep := mustReport(t, d.r, newer.Session)
	if last := rep.Messages[len(rep.Messages)-1]; last.MessageID != "s2@customer.test" {
		t.Errorf("a held reply filed %+v in the session: the refusal is the notice", last)
	}
	// Sent again unchanged within 10 minutes: it goes.
	d.clock.Advance(5 * time.Minute)
	got, err = d.submit(t, "erin@example.test", []string{"carla@customer.test"}, "Message-ID: <again@desk>\r\n"+reply)
	if err != nil || got.Action != "reply" || len(d.outbox(t)) != 1 {
		t.Fatalf("re-sent: %+v, %v", got, err)
	}
	// Answering the newest message is never stale.
	if got, _ := d.submit(t, "erin@example.test", []string{"carla@customer.test"}, "In-Reply-To: <s2@customer.test>\r\nSubject: Re\r\n\r\nok\r\n"); got.Action != "reply" {
		t.Errorf("reply to the latest: %+v", got)
	}
	// A day later, the refusal names the day the customer wrote.
	d.clock.Advance(24 * time.Hour)
	got, err = d.submit(t, "erin@example.test", []string{"carla@customer.test"}, "In-Reply-To: <s1@customer.test>\r\nSubject: Re: first\r\n\r\nlate answer\r\n")
	if err != nil || !strings.HasPrefix(got.Held, "not sent: the customer wrote again on Mar 2 at 09:01 ("+newer.Session+")") {
		t.Errorf("held a day later: %q, %v", got.Held, err)
	}
}

func TestBounceReachesTheAgent(t *testing.T) {
	d := newDesk(t)
	in := d.customer(t, "From: carla@customer.test\r\nMessage-ID: <b1@customer.test>\r\nSubject: bounce\r\n")
	if _, err := d.submit(t, "erin@example.test", []string{"carla@customer.test"}, "In-Reply-To: <b1@customer.test>\r\nSubject: Re: bounce\r\n\r\nx\r\n"); err != nil {
		t.Fatal(err)
	}
	// The reply claimed the session: the bounce lands in erin's INBOX.
	ob := d.outbox(t)[0].Outbound
	dsn := "From: Mail Delivery System <postmaster@mx.example.test>\r\nSubject: Undelivered: Re: bounce\r\nMessage-ID: <dsn1@mx>\r\n\r\nfailed\r\n"
	queued, err := d.r.Bounce(ctx, ob, []byte(dsn), []string{"carla@customer.test"}, "550 no such user")
	if err != nil || queued {
		t.Fatalf("Bounce = %v, %v; want the message off the queue", queued, err)
	}
	if n := len(d.outbox(t)); n != 0 {
		t.Errorf("%d messages still queued after the bounce", n)
	}
	rep := mustReport(t, d.r, in.Session)
	last, ev := rep.Messages[len(rep.Messages)-1], rep.Events[len(rep.Events)-1]
	if last.MessageID != "dsn1@mx" || ev.Kind != "bounced" || !strings.Contains(ev.Detail, "550 no such user") {
		t.Errorf("bounce not filed: %+v / %+v", last, ev)
	}
}

func TestStaleReplyWarnAndOff(t *testing.T) {
	for mode, notices := range map[string]int{"warn": 1, "off": 0} {
		t.Run(mode, func(t *testing.T) {
			d := newDeskWith(t, "stale_reply = \""+mode+"\"\n")
			d.customer(t, "From: carla@customer.test\r\nMessage-ID: <w1@customer.test>\r\nSubject: first\r\n")
			d.clock.Advance(time.Minute)
			newer := d.customer(t, "From: carla@customer.test\r\nMessage-ID: <w2@customer.test>\r\nReferences: <w1@customer.test>\r\nSubject: more\r\n")
			got, err := d.submit(t, "erin@example.test", []string{"carla@customer.test"}, "In-Reply-To: <w1@customer.test>\r\nSubject: Re: first\r\n\r\nold answer\r\n")
			if err != nil || got.Action != "reply" || len(d.outbox(t)) != 1 {
				t.Fatalf("%s: %+v, %v", mode, got, err)
			}
			n := 0
			for _, m := range mustReport(t, d.r, newer.Session).Messages {
				if strings.Contains(m.Subject, "the customer wrote again") {
					n++
				}
			}
			if n != notices {
				t.Errorf("%s: %d notices, want %d", mode, n, notices)
			}
		})
	}
}
