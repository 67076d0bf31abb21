package gateway_test

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message"

	"mxdesk/config"
	"mxdesk/gateway"
	"mxdesk/router"
	"mxdesk/store"
)

// Email commands (issue 18): "#resolve", "#transfer Billing", ... at the
// top of an agent's reply or note, sent through the submission port as
// Thunderbird and mutt write them, checked at the smarthost, over IMAP
// and in the session's events.

// thunderbirdCommandReply is Thunderbird's HTML reply to carlaWrites
// (paragraph mode: one <p> per line) with two command lines above the
// answer, in both alternatives; its plain-text side is format=flowed
// and wraps the long note.
const thunderbirdCommandReply = `Content-Type: multipart/alternative;
 boundary="------------Xq3sQh0m2cVb7RkP1nT9yZ4e"
Message-ID: <7d1c0b9e-5f2a-4c3e-8b61-0a9d2e4f6c71@example.test>
Date: Mon, 2 Mar 2026 10:12:31 +0100
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Subject: Re: Double charge on invoice 4471
Content-Language: en-US
To: Carla Rossi <carla@customer.test>
References: <c1@customer.test>
From: Alice Rossi <alice@example.test>
In-Reply-To: <c1@customer.test>

This is a multi-part message in MIME format.
--------------Xq3sQh0m2cVb7RkP1nT9yZ4e
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 8bit

#note refunded through the payment provider, ticket PAY-1182, she may 
call back tomorrow

#resolve

Hello Carla, we refunded the second charge – you will see it in three days.

On 02/03/2026 09:00, Carla Rossi wrote:
> I was charged twice for invoice 4471.

-- 
Alice Rossi

--------------Xq3sQh0m2cVb7RkP1nT9yZ4e
Content-Type: text/html; charset=UTF-8
Content-Transfer-Encoding: 8bit

<!DOCTYPE html>
<html>
  <head>
    <meta http-equiv="Content-Type" content="text/html; charset=UTF-8">
  </head>
  <body>
    <p>#note refunded through the payment provider, ticket PAY-1182, she
      may call back tomorrow</p>
    <p>#resolve</p>
    <p>Hello Carla, we refunded the second charge &ndash; you will see it in three days.</p>
    <div class="moz-cite-prefix">On 02/03/2026 09:00, Carla Rossi wrote:<br>
    </div>
    <blockquote type="cite" cite="mid:c1@customer.test">I was charged
      twice for invoice 4471.
    </blockquote>
    <pre class="moz-signature" cols="72">-- 
Alice Rossi</pre>
  </body>
</html>
--------------Xq3sQh0m2cVb7RkP1nT9yZ4e--
`

// muttCommandsOnly is mutt's r on carlaWrites with only commands above
// the quote, quoted-printable (send_charset utf-8).
const muttCommandsOnly = `Date: Mon, 2 Mar 2026 11:20:00 +0100
From: Alice Rossi <alice@example.test>
To: Carla Rossi <carla@customer.test>
Subject: Re: Double charge on invoice 4471
Message-ID: <20260302102000.GC4242@laptop.example.test>
References: <c1@customer.test>
In-Reply-To: <c1@customer.test>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Disposition: inline
Content-Transfer-Encoding: quoted-printable
User-Agent: Mutt/2.2.12 (2023-09-09)

#note la cliente parla di un secondo addebito, competenza dell'amministrazi=
one =E2=80=93 giro
#transfer Billing

On Mon, Mar 02, 2026 at 09:00:00AM +0100, Carla Rossi wrote:
> I was charged twice for invoice 4471.

--=20
Alice Rossi
`

// partsOf returns the decoded text parts of a delivered message, by
// media type; it fails the test when the MIME structure does not parse.
func partsOf(t *testing.T, raw string) map[string]string {
	t.Helper()
	e, err := message.Read(strings.NewReader(raw))
	if err != nil {
		t.Fatalf("delivered message does not parse: %v", err)
	}
	out := map[string]string{}
	err = e.Walk(func(_ []int, p *message.Entity, err error) error {
		if err != nil {
			return err
		}
		if p.MultipartReader() != nil {
			return nil
		}
		mt, _, _ := p.Header.ContentType()
		b, err := io.ReadAll(p.Body)
		out[mt] = string(b)
		return err
	})
	if err != nil {
		t.Fatalf("delivered message's parts: %v", err)
	}
	return out
}

// rawAtSink waits for msgID at the smarthost and returns it whole.
func rawAtSink(t *testing.T, snk *sink, msgID string) string {
	t.Helper()
	for {
		select {
		case got := <-snk.got:
			if strings.Trim(header(t, got).Get("Message-Id"), "<>") == msgID {
				return got
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("<%s> did not reach the smarthost", msgID)
		}
	}
}

// sessionBodies returns the stored messages of session id, once each.
func sessionBodies(t *testing.T, g *gateway.Gateway, id string) []string {
	t.Helper()
	var out []string
	err := g.Router().View(func(rd store.Reader) error {
		msgs, err := rd.SessionMessages(id)
		seen := map[store.BlobID]bool{}
		for _, m := range msgs {
			if err != nil || seen[m.Blob] {
				continue
			}
			seen[m.Blob] = true
			var raw []byte
			raw, err = rd.Blob(m.Blob)
			out = append(out, string(raw))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEmailCommandsInThunderbirdHTMLReply(t *testing.T) {
	g, snk := gestureDesk(t, false)
	s := customerWrites(t, g, "support@example.test", carlaWrites)
	const msgID = "7d1c0b9e-5f2a-4c3e-8b61-0a9d2e4f6c71@example.test"
	text, err := submitAs(t, g, "alice@example.test", []string{"carla@customer.test"}, crlf(thunderbirdCommandReply))
	if err != nil || !strings.Contains(text, "queued as "+s.ID) {
		t.Fatalf("reply with commands: %q %v", text, err)
	}
	parts := partsOf(t, rawAtSink(t, snk, msgID))
	plain, html := parts["text/plain"], parts["text/html"]
	if strings.Contains(plain+html, "#") || strings.Contains(plain+html, "PAY-1182") {
		t.Errorf("the customer got the commands:\n%s\n%s", plain, html)
	}
	if !strings.HasPrefix(plain, "Hello Carla, we refunded the second charge – you will see it in three days.\r\n") || !strings.Contains(plain, "> I was charged twice") {
		t.Errorf("plain part:\n%s", plain)
	}
	if !strings.Contains(html, "<body>\r\n    <p>Hello Carla, we refunded") || !strings.Contains(html, `<blockquote type="cite"`) || strings.Contains(html, "<p></p>") {
		t.Errorf("HTML part:\n%s", html)
	}
	// The session is resolved: alice's Resolved folder has it over IMAP,
	// with her reply and the note.
	if got := imapMessage(t, g, "alice@example.test", "Resolved", msgID); got == "" {
		t.Error("the reply is not in alice's Resolved folder")
	}
	rep := report(t, g, s.ID)
	if rep.Session.Status != router.StatusResolved {
		t.Errorf("status %s, want Resolved", rep.Session.Status)
	}
	note := noteText(t, g, s.ID)
	if note != "refunded through the payment provider, ticket PAY-1182, she may call back tomorrow\r\n" {
		t.Errorf("note %q", note)
	}
	if got := lastEvent(rep, "commands"); got != "by email: #note refunded through the payment provider, ticket PAY-1182, she may call back tomorrow; #resolve" {
		t.Errorf("commands event %q", got)
	}
}

// noteText is the body of the latest internal note of session id.
func noteText(t *testing.T, g *gateway.Gateway, id string) string {
	t.Helper()
	var note string
	for _, raw := range sessionBodies(t, g, id) {
		if e, err := message.Read(strings.NewReader(raw)); err == nil && e.Header.Get("X-Mxdesk-Internal") == "note" {
			var b bytes.Buffer
			io.Copy(&b, e.Body)
			note = b.String()
		}
	}
	return note
}

func TestEmailCommandsOnlySendNothing(t *testing.T) {
	g, _ := gestureDesk(t, false)
	queued := watchQueued(t, g)
	s := customerWrites(t, g, "support@example.test", carlaWrites)
	text, err := submitAs(t, g, "alice@example.test", []string{"carla@customer.test"}, crlf(muttCommandsOnly))
	if err != nil || !strings.HasSuffix(text, "commands applied to "+s.ID+", nothing sent") {
		t.Fatalf("mutt commands only: %q %v", text, err)
	}
	if n := queued(); n != 0 {
		t.Errorf("%d messages queued for delivery, want none", n)
	}
	// carol (Support and Billing) sees it waiting in Queues/Billing.
	if got := imapMessage(t, g, "carol@example.test", "Queues/Billing", "c1@customer.test"); got == "" {
		t.Error("the session is not in Queues/Billing over IMAP")
	}
	rep := report(t, g, s.ID)
	if rep.Session.Queue != "Billing" || rep.Session.Agent != "" {
		t.Errorf("session in %s with %q, want waiting in Billing", rep.Session.Queue, rep.Session.Agent)
	}
	if note := noteText(t, g, s.ID); note != "la cliente parla di un secondo addebito, competenza dell'amministrazione – giro\r\n" {
		t.Errorf("note %q", note)
	}
	if got := lastEvent(rep, "transferred"); got != "from queue Support to queue Billing" {
		t.Errorf("transferred event %q", got)
	}
}

func TestEmailCommandFailureRefusesTheMessage(t *testing.T) {
	g, _ := gestureDesk(t, false)
	queued := watchQueued(t, g)
	s := customerWrites(t, g, "support@example.test", carlaWrites)
	reply := func(top string) string {
		return strings.Replace(muttCommandsOnly, "#note la cliente parla di un secondo addebito, competenza dell'amministrazi=\none =E2=80=93 giro\n#transfer Billing\n", top, 1)
	}
	for _, c := range []struct {
		name, top string
		code      int
		want      string
	}{
		{"second command fails", "#resolve\n\n#transfer Nowhere\nWe are on it.\n", 554, `line 3: #transfer Nowhere: "Nowhere" is neither a queue nor an agent`},
		{"typo", "#reslove\n", 554, "line 1: unknown command #reslove"},
		{"not allowed", "#note first\n#pause\n", 550, "line 2: #pause: queue Support does not allow parking sessions in Later (allow_personal_queue)"},
		{"assign by an agent", "#assign dan@example.test\n", 550, "line 1: #assign dan@example.test: only supervisors assign sessions to other agents"},
	} {
		_, err := submitAs(t, g, "alice@example.test", []string{"carla@customer.test"}, crlf(reply(c.top)))
		if code, msg := smtpCode(err); code != c.code || !strings.Contains(msg, c.want) {
			t.Errorf("%s: %v, want %d %s", c.name, err, c.code, c.want)
		}
	}
	rep := report(t, g, s.ID)
	if rep.Session.Status != router.StatusUnopened || rep.Session.Agent != "" || rep.Session.Queue != "Support" {
		t.Errorf("session after refused commands: %s %q %s", rep.Session.Status, rep.Session.Agent, rep.Session.Queue)
	}
	for _, kind := range []string{"note", "commands", "replied", "assigned"} {
		if got := lastEvent(rep, kind); got != "" {
			t.Errorf("a refused message left a %s event: %q", kind, got)
		}
	}
	if n := queued(); n != 0 {
		t.Errorf("%d messages queued, want none", n)
	}
	// A text that starts with "#1" is text: it goes to the customer.
	text, err := submitAs(t, g, "alice@example.test", []string{"carla@customer.test"}, crlf(reply("#1 priority for us: your refund.\n")))
	if err != nil || !strings.Contains(text, "queued as "+s.ID) || queued() != 1 {
		t.Errorf("#1 as text: %q %v, %d queued", text, err, queued())
	}
}

func TestEmailCommandCcAndNoteAddress(t *testing.T) {
	g, snk := gestureDesk(t, false)
	s := customerWrites(t, g, "support@example.test", carlaWrites)
	// Thunderbird's Reply All copies Dave; "#cc none" takes him off this
	// reply and the session's next ones.
	raw := strings.Replace(thunderbirdReplyAll, "<p>Hello Carla", "<p>#cc none</p>\n    <p>Hello Carla", 1)
	raw = strings.Replace(raw, "7bit\n\nHello Carla", "7bit\n\n#cc none\nHello Carla", 1)
	const msgID = "4b8e2f4c-1d3a-4f55-9a6e-3c2f1e7d9b10@example.test"
	if _, err := submitAs(t, g, "alice@example.test", []string{"carla@customer.test", "support@example.test", "dave@customer.test"}, crlf(raw)); err != nil {
		t.Fatal(err)
	}
	h, rcpts := delivered(t, snk, msgID)
	if strings.Join(rcpts, ",") != "carla@customer.test" || h.Get("Cc") != "" {
		t.Errorf("#cc none: delivered to %v with Cc %q, want carla alone", rcpts, h.Get("Cc"))
	}
	if cc := report(t, g, s.ID).Session.Cc; len(cc) != 0 {
		t.Errorf("session Cc %v after #cc none", cc)
	}
	// A mail to the session's note address may carry commands too.
	note := "From: Alice Rossi <alice@example.test>\nTo: support+note-" + s.Token + "@example.test\nSubject: x\nMessage-ID: <n1@laptop.example.test>\n\n#cc Dave Miller <dave@customer.test>\n#resolve\n"
	text, err := submitAs(t, g, "alice@example.test", []string{"support+note-" + s.Token + "@example.test"}, crlf(note))
	if err != nil || !strings.Contains(text, "commands applied to "+s.ID) {
		t.Fatalf("commands to the note address: %q %v", text, err)
	}
	rep := report(t, g, s.ID)
	if rep.Session.Status != router.StatusResolved || strings.Join(rep.Session.Cc, ",") != `"Dave Miller" <dave@customer.test>` {
		t.Errorf("after the note's commands: %s, Cc %v", rep.Session.Status, rep.Session.Cc)
	}
}

// The commands the other tests don't send succeed end to end too: a
// supervisor's #assign, an agent's #pause and #close, each in mutt's
// commands-only form, each seen over IMAP.
func TestEmailCommandsAssignPauseClose(t *testing.T) {
	g, _ := gestureDeskWith(t, func(cfg *config.Config) { cfg.QueueByName("Support").AllowPersonalQueue = true })
	s := customerWrites(t, g, "support@example.test", carlaWrites)
	commands := func(from, id, top string) string {
		raw := strings.Replace(muttCommandsOnly, "#note la cliente parla di un secondo addebito, competenza dell'amministrazi=\none =E2=80=93 giro\n#transfer Billing\n", top, 1)
		raw = strings.Replace(raw, "From: Alice Rossi <alice@example.test>", "From: "+from, 1)
		return crlf(strings.Replace(raw, "20260302102000.GC4242@laptop.example.test", id, 1))
	}
	send := func(login, id, top string) {
		t.Helper()
		text, err := submitAs(t, g, login, []string{"carla@customer.test"}, commands(login, id, top))
		if err != nil || !strings.HasSuffix(text, "commands applied to "+s.ID+", nothing sent") {
			t.Fatalf("%s sends %q: %q %v", login, top, text, err)
		}
	}
	send("carol@example.test", "assign@example.test", "#assign alice@example.test\n")
	if rep := report(t, g, s.ID); rep.Session.Agent != "alice@example.test" {
		t.Fatalf("after #assign the session is %q's, want alice's", rep.Session.Agent)
	}
	if imapMessage(t, g, "alice@example.test", "INBOX", "c1@customer.test") == "" {
		t.Error("after #assign the session is not in alice's INBOX over IMAP")
	}
	send("alice@example.test", "pause@example.test", "#pause\n")
	if rep := report(t, g, s.ID); rep.Session.Status != router.StatusPaused {
		t.Errorf("after #pause the session is %s, want paused", rep.Session.Status)
	}
	if imapMessage(t, g, "alice@example.test", "Later", "c1@customer.test") == "" {
		t.Error("after #pause the session is not in alice's Later over IMAP")
	}
	send("alice@example.test", "close@example.test", "#close\n")
	if rep := report(t, g, s.ID); rep.Session.Status != router.StatusClosed {
		t.Errorf("after #close the session is %s, want closed", rep.Session.Status)
	}
	if imapMessage(t, g, "alice@example.test", "Later", "c1@customer.test") != "" {
		t.Error("after #close the session is still in alice's Later")
	}
}
