package router_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"

	"mxdesk/config"
	"mxdesk/router"
	"mxdesk/store"
	"mxdesk/testutil"
	"mxdesk/testutil/clamdtest"
	"mxdesk/testutil/teststore"
)

// autoTOML adds the Sales queue, with an auto-reply, and its agent erin.
// AUTO is replaced by more [queue.auto_reply] keys, EXTRA by more TOML.
const autoTOML = `
[[queue]]
name = "Sales"
addresses = ["sales@example.test", "ventas@example.test"]
[queue.hours]
timezone = "Europe/Rome"
mon = "09:00-17:00"
tue = "09:00-17:00"
wed = "09:00-17:00"
thu = "09:00-17:00"
fri = "09:00-17:00"
holidays = ["2026-03-09"]
[queue.auto_reply]
enabled = true
BODY
AUTO
[[agent]]
login = "erin@example.test"
name = "Erin Sand"
password_hash = "HASH"
queues = ["Sales"]
EXTRA
`

const autoBody = `body = """
Hello @{consumer},
ticket @{ticket_id} in @{queue} of @{company}, @{date} @{time}.
Agent: [@{agent}]. We answer by @{next_working_date}."""`

// autoDesk is a router with autoTOML on a store it can reopen.
type autoDesk struct {
	r     *router.Router
	cfg   *config.Config
	clock *testutil.Clock
	dir   string
	stop  func()

	mu       sync.Mutex
	outcomes []string // "sent" or the skip reason, from OnAutoReply
}

func newAutoDesk(t *testing.T, auto, extra string) *autoDesk {
	t.Helper()
	toml := strings.NewReplacer("BODY", autoBody, "AUTO", auto, "EXTRA", extra, "HASH", testutil.PasswordHash()).Replace(autoTOML)
	cfg := testutil.Config(t, toml)
	cfg.Company = "Example Inc." // a top-level key, which Config's extra can't set
	d := &autoDesk{cfg: cfg, clock: testutil.NewClock(), dir: t.TempDir()}
	d.open(t)
	return d
}

func (d *autoDesk) open(t *testing.T) {
	t.Helper()
	st := teststore.Open(t, d.dir, teststore.Options{})
	r, err := router.New(d.cfg, st, router.Options{Now: d.clock.Now, OnAutoReply: func(queue string, sent bool, reason string) {
		d.mu.Lock()
		defer d.mu.Unlock()
		if sent {
			reason = "sent"
		}
		d.outcomes = append(d.outcomes, queue+": "+reason)
	}})
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	var once sync.Once
	d.r, d.stop = r, func() { once.Do(func() { st.Close() }) }
	t.Cleanup(d.stop)
}

// restart closes the store and opens it again, as a restart of mxdesk.
func (d *autoDesk) restart(t *testing.T) {
	t.Helper()
	d.stop()
	d.open(t)
}

func (d *autoDesk) lastOutcome() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.outcomes) == 0 {
		return ""
	}
	return d.outcomes[len(d.outcomes)-1]
}

// mail delivers a customer message to sales@ from envelope sender from
// (the header From is Carla's unless header sets one).
func (d *autoDesk) mail(t *testing.T, env router.Envelope, header string) router.Delivered {
	t.Helper()
	if env.To == nil {
		env.To = []string{"sales@example.test"}
	}
	if !strings.Contains(header, "From:") {
		header = "From: Carla Rossi <carla@customer.test>\r\n" + header
	}
	if !strings.Contains(header, "Subject:") {
		header += "Subject: Broken printer\r\n"
	}
	dl, err := d.r.Deliver(ctx, env, []byte(header+"\r\nhello\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	return dl
}

var carla = router.Envelope{From: "carla@customer.test"}

// autoReplies returns the queued automatic messages (no agent), parsed.
func (d *autoDesk) autoReplies(t *testing.T) (out []testutil.Queued) {
	t.Helper()
	d.r.View(func(rd store.Reader) error {
		obs, err := rd.DueOutbound(d.clock.Now().Add(1000*day), 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range obs {
			if o.Agent != "" {
				continue
			}
			raw, _ := rd.Blob(o.Blob)
			h, _ := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(raw)))
			out = append(out, testutil.Queued{Outbound: o, Header: h, Raw: string(raw)})
		}
		return nil
	})
	return out
}

// lastEvent is the newest auto-reply event of a session ("" when none).
func lastAutoEvent(t *testing.T, r *router.Router, id string) string {
	t.Helper()
	rep, err := r.Report(id)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(rep.Events) - 1; i >= 0; i-- {
		if e := rep.Events[i]; strings.HasPrefix(e.Kind, "auto-repl") {
			return e.Kind + ": " + e.Detail
		}
	}
	return ""
}

func TestAutoReplyToNewSession(t *testing.T) {
	d := newAutoDesk(t, "", "")
	dl := d.mail(t, carla, "Message-ID: <c1@customer.test>\r\nReferences: <old@customer.test>\r\n")
	s := session(t, d.r, dl.Session)
	q := d.autoReplies(t)
	if len(q) != 1 {
		t.Fatalf("%d auto-replies queued, want 1", len(q))
	}
	m := q[0]
	for k, want := range map[string]string{
		"From":             `"Sales" <sales@example.test>`,
		"To":               "<carla@customer.test>",
		"Reply-To":         "sales+" + s.Token + "@example.test",
		"Subject":          "RE: Broken printer",
		"Auto-Submitted":   "auto-replied",
		"In-Reply-To":      "<c1@customer.test>",
		"References":       "<old@customer.test> <c1@customer.test>",
		"X-Mxdesk-Session": s.ID,
	} {
		if got := m.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if m.Outbound.From != "sales@example.test" || !slices.Equal(m.Outbound.To, []string{"carla@customer.test"}) || m.Outbound.Session != s.ID {
		t.Errorf("envelope %s -> %v (session %s)", m.Outbound.From, m.Outbound.To, m.Outbound.Session)
	}
	text := bodyText(t, m.Raw)
	want := "Hello Carla,\r\nticket " + s.ID + " in Sales of Example Inc., Monday 2 March 2026 10:00.\r\nAgent: []. We answer by Monday 2 March 2026."
	if text != want {
		t.Errorf("body:\n%q\nwant\n%q", text, want)
	}
	// Filed in the session after the customer's message, read.
	rep, _ := d.r.Report(s.ID)
	if len(rep.Messages) != 2 || rep.Messages[1].Subject != "RE: Broken printer" || !slices.Contains(rep.Messages[1].Folders, "Queues/Sales") {
		t.Fatalf("session messages: %+v", rep.Messages)
	}
	d.r.View(func(rd store.Reader) error {
		msgs, _ := rd.SessionMessages(s.ID)
		for _, msg := range msgs {
			if msg.Blob == m.Outbound.Blob && !slices.Contains(msg.Flags, `\Seen`) {
				t.Errorf("auto-reply not \\Seen: %v", msg.Flags)
			}
		}
		return nil
	})
	if got := lastAutoEvent(t, d.r, s.ID); got != "auto-replied: to carla@customer.test (new session)" {
		t.Errorf("event %q", got)
	}
	if got := d.lastOutcome(); got != "Sales: sent" {
		t.Errorf("OnAutoReply: %q", got)
	}
	// The customer's answer to the auto-reply threads into the session
	// and, being a reply to an Unopened session, gets none.
	again := d.mail(t, router.Envelope{From: "carla@customer.test", To: []string{m.Header.Get("Reply-To")}}, "In-Reply-To: "+m.Header.Get("Message-Id")+"\r\n")
	if again.Session != s.ID || len(d.autoReplies(t)) != 1 {
		t.Errorf("answer to the auto-reply: session %s, %d auto-replies", again.Session, len(d.autoReplies(t)))
	}
}

// bodyText decodes the text/plain part of a message.
func bodyText(t *testing.T, raw string) string {
	t.Helper()
	e, err := message.Read(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var text string
	e.Walk(func(_ []int, p *message.Entity, _ error) error {
		if mt, _, _ := p.Header.ContentType(); mt == "text/plain" && text == "" {
			b, _ := io.ReadAll(p.Body)
			text = string(b)
		}
		return nil
	})
	return text
}

// reply makes erin answer the session, which makes it Active.
func (d *autoDesk) reply(t *testing.T, s store.Session) {
	t.Helper()
	a := login(t, d.r, "erin@example.test")
	_, err := d.r.Submit(ctx, a, router.Envelope{From: a.Login, To: []string{"carla@customer.test"}},
		[]byte("From: erin@example.test\r\nTo: carla@customer.test\r\nSubject: Re: Broken printer\r\nIn-Reply-To: <"+s.LastInboundID+">\r\n\r\non it\r\n"))
	if err != nil {
		t.Fatal(err)
	}
}

func TestAutoReplyTriggers(t *testing.T) {
	tests := []struct {
		name    string
		sw      string        // the trigger's switch
		prepare time.Duration // idle time after erin's reply, with RunDue
		status  string        // status before the customer writes again
		detail  string
	}{
		{"paused", "on_paused", 31 * day, router.StatusPaused, "reply to a paused session"},
		{"reopen closed", "on_reopen", 31*day + 61*day, router.StatusClosed, "reopened"},
		{"idle active", "on_idle", 16 * day, router.StatusActive, "reply to an idle session"},
	}
	for _, tt := range tests {
		for _, on := range []bool{true, false} {
			name := tt.name
			auto := ""
			if !on {
				name += " off"
				auto = tt.sw + " = false"
			}
			t.Run(name, func(t *testing.T) {
				d := newAutoDesk(t, auto, "")
				s := session(t, d.r, d.mail(t, carla, "Message-ID: <c1@customer.test>\r\n").Session)
				d.reply(t, s)
				if tt.status == router.StatusClosed {
					d.clock.Advance(31 * day)
					d.r.RunDue(ctx)
					d.clock.Advance(61 * day)
				} else {
					d.clock.Advance(tt.prepare)
				}
				d.r.RunDue(ctx)
				if got := session(t, d.r, s.ID).Status; got != tt.status {
					t.Fatalf("status %s, want %s", got, tt.status)
				}
				d.mail(t, carla, "Message-ID: <c2@customer.test>\r\nIn-Reply-To: <c1@customer.test>\r\n")
				n := len(d.autoReplies(t))
				got := lastAutoEvent(t, d.r, s.ID)
				if on && (n != 2 || got != "auto-replied: to carla@customer.test ("+tt.detail+")") {
					t.Errorf("%d auto-replies, last event %q", n, got)
				}
				if !on && (n != 1 || got != "auto-reply-skipped: trigger off ("+tt.detail+")") {
					t.Errorf("%d auto-replies, last event %q", n, got)
				}
			})
		}
	}
	t.Run("new off", func(t *testing.T) {
		d := newAutoDesk(t, "on_new = false", "")
		dl := d.mail(t, carla, "")
		if n := len(d.autoReplies(t)); n != 0 || lastAutoEvent(t, d.r, dl.Session) != "auto-reply-skipped: trigger off (new session)" || d.lastOutcome() != "Sales: trigger off" {
			t.Errorf("%d auto-replies, %q, %q", n, lastAutoEvent(t, d.r, dl.Session), d.lastOutcome())
		}
	})
	t.Run("active, not idle", func(t *testing.T) {
		d := newAutoDesk(t, "", "")
		s := session(t, d.r, d.mail(t, carla, "Message-ID: <c1@customer.test>\r\n").Session)
		d.reply(t, s)
		d.clock.Advance(14 * day)
		d.mail(t, carla, "In-Reply-To: <c1@customer.test>\r\n")
		if n := len(d.autoReplies(t)); n != 1 {
			t.Errorf("%d auto-replies, want only the first", n)
		}
	})
	t.Run("disabled queue", func(t *testing.T) {
		d := newAutoDesk(t, "", "")
		d.mail(t, router.Envelope{From: "carla@customer.test", To: []string{"support@example.test"}}, "")
		if n := len(d.autoReplies(t)); n != 0 || d.lastOutcome() != "" {
			t.Errorf("%d auto-replies from a queue without auto_reply (%q)", n, d.lastOutcome())
		}
	})
}

func TestAutoReplyLoopGuards(t *testing.T) {
	tests := []struct {
		name   string
		env    router.Envelope
		header string
		reason string
	}{
		{"auto-submitted auto-replied", carla, "Auto-Submitted: auto-replied\r\n", router.SkipAutoSubmitted},
		{"auto-submitted auto-generated", carla, "Auto-Submitted: Auto-Generated; type=x\r\n", router.SkipAutoSubmitted},
		{"x-auto-response-suppress", carla, "X-Auto-Response-Suppress: OOF, AutoReply\r\n", router.SkipAutoSubmitted},
		{"precedence bulk", carla, "Precedence: bulk\r\n", router.SkipPrecedence},
		{"precedence list", carla, "Precedence: List\r\n", router.SkipPrecedence},
		{"precedence junk", carla, "Precedence: junk\r\n", router.SkipPrecedence},
		{"list-id", carla, "List-Id: <news.customer.test>\r\n", router.SkipList},
		{"list-unsubscribe", carla, "List-Unsubscribe: <mailto:u@customer.test>\r\n", router.SkipList},
		{"null sender", router.Envelope{From: ""}, "", router.SkipNullSender},
		{"mailer-daemon", router.Envelope{From: "MAILER-DAEMON@customer.test"}, "From: Mail Delivery System <MAILER-DAEMON@customer.test>\r\n", router.SkipDaemon},
		{"postmaster", router.Envelope{From: "postmaster@customer.test"}, "From: postmaster@customer.test\r\n", router.SkipDaemon},
		{"noreply", router.Envelope{From: "noreply@shop.test"}, "From: Shop <noreply@shop.test>\r\n", router.SkipDaemon},
		{"no-reply", router.Envelope{From: "bounces+x@shop.test"}, "From: Shop <no-reply@shop.test>\r\n", router.SkipDaemon},
		{"do-not-reply", carla, "From: Shop <do_not_reply@shop.test>\r\n", router.SkipDaemon},
		{"our queue", router.Envelope{From: "billing@example.test"}, "From: billing@example.test\r\n", router.SkipOurs},
		{"our send-only", router.Envelope{From: "noreply@example.test"}, "From: x <noreply@example.test>\r\n", router.SkipDaemon},
		{"our agent", router.Envelope{From: "alice@example.test"}, "From: Alice <alice@example.test>\r\n", router.SkipOurs},
		{"our token address", router.Envelope{From: "sales+abc@example.test"}, "From: sales+abc@example.test\r\n", router.SkipOurs},
		{"dmarc fail", router.Envelope{From: "carla@customer.test", DMARCFail: true}, "", router.SkipDMARC},
		{"spam", router.Envelope{From: "carla@customer.test", Spam: true, DMARCFail: true}, "", router.SkipSpam},
		{"spam by route", carla, "Subject: casino bonus\r\n", router.SkipSpam},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newAutoDesk(t, "", "[[route]]\nsubject = 'casino'\nspam = true\n")
			dl := d.mail(t, tt.env, tt.header)
			if n := len(d.autoReplies(t)); n != 0 {
				t.Errorf("%d auto-replies", n)
			}
			if got, want := lastAutoEvent(t, d.r, dl.Session), "auto-reply-skipped: "+tt.reason+" (new session)"; got != want {
				t.Errorf("event %q, want %q", got, want)
			}
			if got := d.lastOutcome(); got != "Sales: "+tt.reason {
				t.Errorf("OnAutoReply: %q", got)
			}
		})
	}
	t.Run("auto-submitted no", func(t *testing.T) {
		d := newAutoDesk(t, "", "")
		d.mail(t, carla, "Auto-Submitted: no\r\n")
		if n := len(d.autoReplies(t)); n != 1 {
			t.Errorf("%d auto-replies to Auto-Submitted: no", n)
		}
	})
}

// The interval holds per sender and queue, and across a restart.
func TestAutoReplyInterval(t *testing.T) {
	d := newAutoDesk(t, `min_interval = "24h"`, "")
	d.mail(t, carla, "Subject: one\r\n")
	second := d.mail(t, carla, "Subject: two\r\n")
	if got := lastAutoEvent(t, d.r, second.Session); got != "auto-reply-skipped: interval (new session)" {
		t.Errorf("second message: %q", got)
	}
	// Another sender is not held back by Carla's interval.
	d.mail(t, router.Envelope{From: "dan@partner.test"}, "From: Dan <dan@partner.test>\r\n")
	if n := len(d.autoReplies(t)); n != 2 {
		t.Errorf("%d auto-replies, want Carla's and Dan's", n)
	}
	d.restart(t)
	d.clock.Advance(23 * time.Hour)
	third := d.mail(t, carla, "Subject: three\r\n")
	if got := lastAutoEvent(t, d.r, third.Session); got != "auto-reply-skipped: interval (new session)" {
		t.Errorf("after a restart, within the interval: %q", got)
	}
	d.clock.Advance(time.Hour)
	fourth := d.mail(t, carla, "Subject: four\r\n")
	if got := lastAutoEvent(t, d.r, fourth.Session); !strings.HasPrefix(got, "auto-replied") {
		t.Errorf("after the interval: %q", got)
	}
}

func TestAutoReplyDailyCap(t *testing.T) {
	d := newAutoDesk(t, `min_interval = "1m"`, "[limits]\nauto_mail_per_address_per_day = 3\n")
	var last router.Delivered
	for range 4 {
		last = d.mail(t, carla, "")
		d.clock.Advance(2 * time.Minute)
	}
	if n := len(d.autoReplies(t)); n != 3 {
		t.Errorf("%d auto-replies, want the cap of 3", n)
	}
	if got := lastAutoEvent(t, d.r, last.Session); got != "auto-reply-skipped: daily cap (new session)" {
		t.Errorf("fourth: %q", got)
	}
	d.restart(t)
	d.clock.Advance(day) // the next day (UTC): the count starts again
	next := d.mail(t, carla, "")
	if got := lastAutoEvent(t, d.r, next.Session); !strings.HasPrefix(got, "auto-replied") {
		t.Errorf("next day: %q", got)
	}
}

// A permanent bounce pauses automatic mail to the address; the bounce of
// an auto-reply is not filed for anyone to answer.
func TestAutoReplyBounce(t *testing.T) {
	d := newAutoDesk(t, "", "")
	first := d.mail(t, carla, "")
	ob := d.autoReplies(t)[0].Outbound
	before, _ := d.r.Report(first.Session)
	queued, err := d.r.Bounce(ctx, ob, []byte("Subject: Undelivered\r\n\r\nno\r\n"), []string{"carla@customer.test"}, "550 5.1.1 no such user")
	if err != nil || queued {
		t.Fatalf("Bounce = %v, %v", queued, err)
	}
	after, _ := d.r.Report(first.Session)
	if len(after.Messages) != len(before.Messages) || after.Session.Status != before.Session.Status {
		t.Errorf("the bounce of an auto-reply was filed: %d -> %d messages, %s -> %s", len(before.Messages), len(after.Messages), before.Session.Status, after.Session.Status)
	}
	if got := lastAutoEvent(t, d.r, first.Session); got != "auto-reply-bounced: to carla@customer.test: 550 5.1.1 no such user" {
		t.Errorf("event %q", got)
	}
	if n := len(d.autoReplies(t)); n != 0 {
		t.Errorf("%d still queued", n)
	}
	d.clock.Advance(29 * day)
	held := d.mail(t, carla, "")
	if got := lastAutoEvent(t, d.r, held.Session); got != "auto-reply-skipped: bounced (new session)" {
		t.Errorf("within 30 days of the bounce: %q", got)
	}
	d.clock.Advance(day + time.Minute)
	again := d.mail(t, carla, "")
	if got := lastAutoEvent(t, d.r, again.Session); !strings.HasPrefix(got, "auto-replied") {
		t.Errorf("after 30 days: %q", got)
	}

	// The bounce of an agent's reply pauses automatic mail too, and is
	// filed for the agent as before.
	s := session(t, d.r, again.Session)
	d.reply(t, s)
	var agentOb store.Outbound
	d.r.View(func(rd store.Reader) error {
		obs, _ := rd.DueOutbound(d.clock.Now().Add(day), 100)
		for _, o := range obs {
			if o.Agent != "" {
				agentOb = o
			}
		}
		return nil
	})
	if _, err := d.r.Bounce(ctx, agentOb, []byte("Subject: Undelivered\r\nMessage-ID: <dsn1@mx>\r\n\r\nno\r\n"), []string{"carla@customer.test"}, "550 gone"); err != nil {
		t.Fatal(err)
	}
	if k := eventKinds(t, d.r, s.ID); k[len(k)-1] != "bounced" {
		t.Errorf("agent's bounce events: %v", k)
	}
	d.clock.Advance(2 * day)
	paused := d.mail(t, carla, "")
	if got := lastAutoEvent(t, d.r, paused.Session); got != "auto-reply-skipped: bounced (new session)" {
		t.Errorf("after an agent's reply bounced: %q", got)
	}
}

func TestAutoReplyTags(t *testing.T) {
	d := newAutoDesk(t, "on_idle = true", "")
	// Friday 6 March 2026, 18:00 UTC = 19:00 in Rome: closed until
	// Monday, which is a holiday: Tuesday.
	d.clock.Advance(4*day + 9*time.Hour)
	dl := d.mail(t, router.Envelope{From: "carla.rossi+shop@customer.test"}, "From: carla.rossi+shop@customer.test\r\n")
	text := bodyText(t, d.autoReplies(t)[0].Raw)
	want := "Hello carla.rossi,\r\nticket " + dl.Session + " in Sales of Example Inc., Friday 6 March 2026 19:00.\r\nAgent: []. We answer by Tuesday 10 March 2026."
	if text != want {
		t.Errorf("body:\n%q\nwant\n%q", text, want)
	}
	// Saturday: the next working date is Tuesday too; the agent is named.
	s := session(t, d.r, dl.Session)
	d.reply(t, s)
	d.clock.Advance(16 * day) // idle: Sunday 22 March, open Monday 23
	d.mail(t, router.Envelope{From: "carla.rossi@customer.test"}, "From: \"Rossi, Carla\" <carla.rossi+shop@customer.test>\r\nIn-Reply-To: <"+s.LastInboundID+">\r\n")
	q := d.autoReplies(t)
	text = bodyText(t, q[len(q)-1].Raw)
	if !strings.Contains(text, "Hello Carla,") || !strings.Contains(text, "Agent: [Erin]") || !strings.Contains(text, "Sunday 22 March 2026 19:00") || !strings.Contains(text, "by Monday 23 March 2026") {
		t.Errorf("body:\n%s", text)
	}
}

func TestAutoReplyHTMLAndFiles(t *testing.T) {
	dir := t.TempDir()
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
	os.WriteFile(filepath.Join(dir, "logo.png"), png, 0o600)
	os.WriteFile(filepath.Join(dir, "terms.pdf"), []byte("%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"), 0o600)
	auto := `from = "noreply@example.test"
from_name = "@{company}"
body_html = "<p>Hello @{consumer}</p><img src=\"cid:logo.png\">"
inline_images = ["` + filepath.Join(dir, "logo.png") + `"]
attachments = ["` + filepath.Join(dir, "terms.pdf") + `"]`
	d := newAutoDesk(t, auto, "")
	d.mail(t, carla, "From: \"A&B Rossi\" <carla@customer.test>\r\n")
	m := d.autoReplies(t)[0]
	if m.Header.Get("From") != `"Example Inc." <noreply@example.test>` || m.Outbound.From != "noreply@example.test" {
		t.Errorf("From %q, envelope %q", m.Header.Get("From"), m.Outbound.From)
	}
	e, err := message.Read(strings.NewReader(m.Raw))
	if err != nil {
		t.Fatal(err)
	}
	var shape []string
	var html string
	e.Walk(func(path []int, p *message.Entity, _ error) error {
		mt, _, _ := p.Header.ContentType()
		shape = append(shape, mt)
		if mt == "text/html" {
			b, _ := io.ReadAll(p.Body)
			html = string(b)
		}
		if mt == "image/png" && p.Header.Get("Content-Id") != "<logo.png>" {
			t.Errorf("inline image Content-Id %q", p.Header.Get("Content-Id"))
		}
		return nil
	})
	want := []string{"multipart/mixed", "multipart/related", "multipart/alternative", "text/plain", "text/html", "image/png", "application/pdf"}
	if !slices.Equal(shape, want) {
		t.Errorf("MIME structure %v, want %v", shape, want)
	}
	if !strings.Contains(html, `<p>Hello A&amp;B</p><img src="cid:logo.png">`) {
		t.Errorf("html %q", html)
	}
}

func TestAutoReplyConfig(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "tool.exe"), append([]byte("MZ\x90\x00"), make([]byte, 200)...), 0o600)
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("hello"), 0o600)
	tests := []struct {
		name, auto, key, msg string
	}{
		{"unknown tag", `body = "Hi @{customer}"`, "queue[2].auto_reply.body", "unknown tag @{customer}"},
		{"unknown tag in html", `body_html = "<p>@{nope}</p>"`, "queue[2].auto_reply.body_html", "unknown tag @{nope}"},
		{"from another queue", `from = "billing@example.test"`, "queue[2].auto_reply.from", "want one of the queue's addresses or a [[send_only]] address"},
		{"from outside", `from = "x@other.test"`, "queue[2].auto_reply.from", "want one of"},
		{"blocked attachment", `attachments = ["` + filepath.Join(dir, "tool.exe") + `"]`, "queue[2].auto_reply.attachments[0]", "blocked by the content policy"},
		{"missing file", `attachments = ["` + filepath.Join(dir, "nope.pdf") + `"]`, "queue[2].auto_reply.attachments[0]", "cannot read"},
		{"inline not an image", `body_html = "x"` + "\n" + `inline_images = ["` + filepath.Join(dir, "a.txt") + `"]`, "queue[2].auto_reply.inline_images[0]", "not an image"},
		{"too many", `attachments = [` + strings.Repeat(`"`+filepath.Join(dir, "a.txt")+`", `, 11) + `]`, "queue[2].auto_reply.attachments", "at most 10"},
		{"interval", `min_interval = "0s"`, "queue[2].auto_reply.min_interval", "positive"},
		{"idle days", `idle_days = 0`, "queue[2].auto_reply.idle_days", "from 1 to 1000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := autoBody
			if strings.HasPrefix(tt.auto, "body =") {
				body = ""
			}
			toml := strings.NewReplacer("BODY", body, "AUTO", tt.auto, "EXTRA", "", "HASH", testutil.PasswordHash()).Replace(autoTOML)
			_, err := config.Parse([]byte(testutilHead+toml), "test.toml")
			if err == nil || !strings.Contains(err.Error(), tt.key+": ") || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("got %v, want %s: …%s", err, tt.key, tt.msg)
			}
		})
	}
	// enabled without any body
	_, err := config.Parse([]byte(testutilHead+"[[queue]]\nname = \"X\"\naddresses = [\"x@example.test\"]\n[queue.auto_reply]\nenabled = true\n"), "t.toml")
	if err == nil || !strings.Contains(err.Error(), "queue[2].auto_reply.body: required") {
		t.Errorf("no body: %v", err)
	}
}

// testutilHead is the start of a configuration like testutil.Config's,
// with its two queues, for config.Parse.
const testutilHead = `hostname = "mx.example.test"
data_dir = "/tmp/x"
[[send_only]]
address = "noreply@example.test"
[[domain]]
name = "example.test"
[[queue]]
name = "Support"
addresses = ["support@example.test"]
[[queue]]
name = "Billing"
addresses = ["billing@example.test"]
`

// Mail in which the antivirus found a virus (most likely from a forged
// sender) gets no auto-reply; a blocked attachment alone does not stop it.
func TestAutoReplyNotToVirus(t *testing.T) {
	clamd := clamdtest.Start(t)
	d := newAutoDesk(t, `min_interval = "1m"`, "[policy]\nclamd = \""+clamd.Addr+"\"\n")
	attach := func(name string, data []byte) string {
		return "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--b\r\n" +
			"Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=" + name + "\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
			base64.StdEncoding.EncodeToString(data) + "\r\n--b--\r\n"
	}
	send := func(body string) router.Delivered {
		dl, err := d.r.Deliver(ctx, router.Envelope{From: "carla@customer.test", To: []string{"sales@example.test"}}, []byte("From: Carla <carla@customer.test>\r\nSubject: file\r\nMIME-Version: 1.0\r\n"+body))
		if err != nil {
			t.Fatal(err)
		}
		return dl
	}
	virus := send(attach("eicar.txt", clamdtest.EICAR()))
	if got := lastAutoEvent(t, d.r, virus.Session); got != "auto-reply-skipped: virus (new session)" {
		t.Errorf("virus: %q", got)
	}
	d.clock.Advance(2 * time.Minute)
	blocked := send(attach("tool.exe", append([]byte("MZ\x90\x00"), make([]byte, 100)...)))
	if got := lastAutoEvent(t, d.r, blocked.Session); !strings.HasPrefix(got, "auto-replied") {
		t.Errorf("blocked attachment: %q", got)
	}
}
