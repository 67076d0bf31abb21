package transcript_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"mxdesk/router"
	"mxdesk/store"
	"mxdesk/testutil"
	"mxdesk/transcript"
)

var ctx = context.Background()

// The lines the thread's messages carry, looked for in every rendering.
const (
	customerLine = "My order 4471 arrived broken."
	greekLine    = "Καλημέρα, η παραγγελία μου έφτασε σπασμένη."
	russianLine  = "Здравствуйте, заказ пришёл разбитым."
	cjkLine      = "注文が壊れて届きました。"
	agentLine    = "We are sending a new one today."
	htmlOnlyLine = "Thanks, the photo is attached again."
)

// carlaFirst is the customer's first message: text/plain in UTF-8,
// quoted-printable, with a photo attached, as mutt sends it.
var carlaFirst = "From: =?utf-8?q?Carla_R=C3=B6ssler?= <carla@customer.test>\r\n" +
	"To: Support <support@example.test>\r\n" +
	"Subject: =?utf-8?b?" + base64.StdEncoding.EncodeToString([]byte("Broken order — Ζημιά")) + "?=\r\n" +
	"Date: Mon, 2 Mar 2026 09:00:00 +0100\r\n" +
	"Message-ID: <c1@customer.test>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=\"mutt-b1\"\r\n" +
	"User-Agent: Mutt/2.2.12 (2023-09-09)\r\n\r\n" +
	"--mutt-b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: inline\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
	customerLine + "\r\n" + greekLine + "\r\n" + russianLine + "\r\n" + cjkLine + "\r\n" +
	"--mutt-b1\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"receipt-4471.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
	base64.StdEncoding.EncodeToString([]byte("%PDF-1.4 not really a pdf, 48 bytes of content..")) + "\r\n" +
	"--mutt-b1--\r\n"

// aliceReply is Alice's answer as Thunderbird sends an HTML reply.
const aliceReply = "From: Alice Rossi <alice@example.test>\r\n" +
	"To: Carla Rössler <carla@customer.test>\r\n" +
	"Subject: Re: Broken order\r\n" +
	"Date: Mon, 2 Mar 2026 10:00:00 +0100\r\n" +
	"Message-ID: <a1@example.test>\r\n" +
	"In-Reply-To: <c1@customer.test>\r\nReferences: <c1@customer.test>\r\n" +
	"MIME-Version: 1.0\r\nUser-Agent: Mozilla Thunderbird\r\nContent-Language: en-US\r\n" +
	"Content-Type: multipart/alternative;\r\n boundary=\"------------tb0001A\"\r\n\r\n" +
	"This is a multi-part message in MIME format.\r\n" +
	"--------------tb0001A\r\nContent-Type: text/plain; charset=UTF-8; format=flowed\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
	agentLine + "\r\n\r\nOn 3/2/26 09:00, Carla Rössler wrote:\r\n> " + customerLine + "\r\n\r\n-- \r\nAlice Rossi\r\n\r\n" +
	"--------------tb0001A\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
	"<!DOCTYPE html>\r\n<html>\r\n  <head>\r\n    <meta http-equiv=\"content-type\" content=\"text/html; charset=UTF-8\">\r\n  </head>\r\n  <body>\r\n" +
	"    <p>" + agentLine + "</p>\r\n" +
	"    <div class=\"moz-cite-prefix\">On 3/2/26 09:00, Carla Rössler wrote:<br>\r\n    </div>\r\n" +
	"    <blockquote type=\"cite\" cite=\"mid:c1@customer.test\">\r\n      <pre class=\"moz-quote-pre\" wrap=\"\">" + customerLine + "</pre>\r\n    </blockquote>\r\n" +
	"    <pre class=\"moz-signature\" cols=\"72\">-- \r\nAlice Rossi</pre>\r\n  </body>\r\n</html>\r\n" +
	"\r\n--------------tb0001A--\r\n"

// carlaHTML is the customer's follow-up, HTML only (a webmail), quoting
// the reply.
const carlaHTML = "From: Carla <carla@customer.test>\r\n" +
	"To: support+TOKEN@example.test\r\n" +
	"Subject: Re: Broken order [SESSION]\r\n" +
	"Date: Mon, 2 Mar 2026 11:00:00 +0100\r\n" +
	"Message-ID: <c2@customer.test>\r\nIn-Reply-To: <a1@example.test>\r\n" +
	"MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" +
	"<html><head><style>p{color:red}</style><script>alert(1)</script></head><body>" +
	"<div>" + htmlOnlyLine + "</div><div>Second&nbsp;line &amp; more</div>" +
	"<blockquote><p>" + agentLine + "</p></blockquote></body></html>\r\n"

// thread is a session built through the real router: the customer's
// message, Alice's Thunderbird reply, the customer's HTML answer, then
// Alice resolves it.
type thread struct {
	r     *router.Router
	clock *testutil.Clock
	id    string
}

func newThread(t *testing.T) *thread {
	t.Helper()
	clock := testutil.NewClock()
	r := testutil.RouterOpts(t, testutil.Config(t, ""), "", router.Options{Now: clock.Now})
	th := &thread{r: r, clock: clock}
	th.id = th.deliver(t, carlaFirst).Session
	clock.Advance(time.Hour)
	alice, err := r.Authenticate("alice@example.test", testutil.Password)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Submit(ctx, alice, router.Envelope{From: "alice@example.test", To: []string{"carla@customer.test"}}, []byte(aliceReply)); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	s := th.session(t)
	followUp := strings.NewReplacer("TOKEN", s.Token, "SESSION", s.ID).Replace(carlaHTML)
	if d := th.deliver(t, followUp); d.Session != s.ID {
		t.Fatalf("follow-up threaded into %s, want %s", d.Session, s.ID)
	}
	clock.Advance(30 * time.Minute)
	inbox, err := r.Folder(alice, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := r.Move(ctx, alice, inbox.Mailbox, []store.UID{1}, "Resolved", nil); err != nil {
		t.Fatal(err)
	}
	return th
}

func (th *thread) deliver(t *testing.T, raw string) router.Delivered {
	t.Helper()
	d, err := th.r.Deliver(ctx, router.Envelope{From: "carla@customer.test", To: []string{"support@example.test"}}, []byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (th *thread) session(t *testing.T) store.Session {
	t.Helper()
	var s store.Session
	err := th.r.View(func(rd store.Reader) (err error) {
		s, err = rd.Session(th.id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (th *thread) load(t *testing.T) transcript.Thread {
	t.Helper()
	var tr transcript.Thread
	err := th.r.View(func(rd store.Reader) (err error) {
		tr, err = transcript.Load(rd, th.id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Messages) != 3 {
		t.Fatalf("thread has %d messages, want 3", len(tr.Messages))
	}
	return tr
}

func (th *thread) agent(t *testing.T, login string) *router.Agent {
	t.Helper()
	a, err := th.r.Authenticate(login, testutil.Password)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// move moves the session's first message in who's folder from to dest.
func (th *thread) move(t *testing.T, who, from, dest string) {
	t.Helper()
	a := th.agent(t, who)
	f, err := th.r.Folder(a, from)
	if err != nil {
		t.Fatal(err)
	}
	var uid store.UID
	th.r.View(func(rd store.Reader) error {
		msgs, err := rd.Messages(f.Mailbox, 0, 0)
		for _, m := range msgs {
			if m.Session == th.id && uid == 0 {
				uid = m.UID
			}
		}
		return err
	})
	if uid == 0 {
		t.Fatalf("no message of %s in %s's %s", th.id, who, from)
	}
	if _, _, _, err := th.r.Move(ctx, a, f.Mailbox, []store.UID{uid}, dest, nil); err != nil {
		t.Fatalf("%s moves to %s: %v", who, dest, err)
	}
}
