package gateway_test

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message/textproto"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mxdesk/config"
	"mxdesk/gateway"
	"mxdesk/router"
	"mxdesk/store"
	"mxdesk/testutil"
)

// The everyday gestures of an agent's mail client on the submission port
// (issue 13: Reply All, transfer by forwarding, forwarding to a third
// party), with the bytes mutt and Thunderbird send, checked at the
// smarthost, over IMAP and in the session.

// gestureDesk starts a gateway with a submission listener that delivers to
// a sink. Support allows transfers to an agent when agentTransfers; dan
// is a second Support agent.
func gestureDesk(t *testing.T, agentTransfers bool) (*gateway.Gateway, *sink) {
	t.Helper()
	return gestureDeskWith(t, func(cfg *config.Config) { cfg.QueueByName("Support").AllowTransferToAgent = agentTransfers })
}

// gestureDeskWith is gestureDesk with the configuration changed by edit.
func gestureDeskWith(t *testing.T, edit func(*config.Config)) (*gateway.Gateway, *sink) {
	t.Helper()
	snk := startSink(t)
	cfg := testutil.Config(t, fmt.Sprintf(`[delivery]
smarthost = %q
smarthost_tls = "none"
[[agent]]
login = "dan@example.test"
name = "Dan Ek"
password_hash = %q
queues = ["Support"]
`, snk.addr, testutil.PasswordHash()))
	cfg.Listen.Submission = "127.0.0.1:0"
	edit(cfg)
	return startGatewayCfg(t, cfg), snk
}

// crlf turns a message written with \n into wire form.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// submitAs sends raw over the submission port as login to rcpts, and
// returns the reply to DATA or the first error.
func submitAs(t *testing.T, g *gateway.Gateway, login string, rcpts []string, raw string) (string, error) {
	t.Helper()
	c, err := smtp.Dial(g.Addr("submission"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("laptop.example.test"); err != nil {
		t.Fatal(err)
	}
	if err := c.Auth(sasl.NewPlainClient("", login, testutil.Password)); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail(login, nil); err != nil {
		return "", err
	}
	for _, rcpt := range rcpts {
		if err := c.Rcpt(rcpt, nil); err != nil {
			return "", err
		}
	}
	w, err := c.Data()
	if err != nil {
		return "", err
	}
	io.WriteString(w, raw)
	resp, err := w.CloseWithResponse()
	if err != nil {
		return "", err
	}
	c.Quit()
	return resp.StatusText, nil
}

// customerWrites sends a customer's message through the MX and returns
// its session.
func customerWrites(t *testing.T, g *gateway.Gateway, rcpt, raw string) store.Session {
	t.Helper()
	sendRawMX(t, g, "carla@customer.test", rcpt, crlf(raw))
	h := header(t, raw)
	return sessionOf(t, g, strings.Trim(h.Get("Message-Id"), "<>"))
}

// sessionOf is the session a Message-ID was stored or sent in.
func sessionOf(t *testing.T, g *gateway.Gateway, msgID string) store.Session {
	t.Helper()
	var s store.Session
	err := g.Router().View(func(rd store.Reader) error {
		id, err := rd.SessionByMessageID(msgID)
		if err == nil {
			s, err = rd.Session(id)
		}
		return err
	})
	if err != nil {
		t.Fatalf("session of <%s>: %v", msgID, err)
	}
	return s
}

func header(t *testing.T, raw string) *textproto.Header {
	t.Helper()
	h, err := textproto.ReadHeader(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		t.Fatalf("header of %q: %v", raw, err)
	}
	return &h
}

// delivered waits for the message msgID at the smarthost and returns its
// header and envelope recipients, sorted.
func delivered(t *testing.T, snk *sink, msgID string) (*textproto.Header, []string) {
	t.Helper()
	for {
		select {
		case got := <-snk.got:
			h := header(t, got)
			if strings.Trim(h.Get("Message-Id"), "<>") != msgID {
				continue // an earlier message of the test
			}
			rcpts := slices.Clone(snk.rcptsOf(msgID))
			slices.Sort(rcpts)
			return h, rcpts
		case <-time.After(30 * time.Second):
			t.Fatalf("<%s> did not reach the smarthost", msgID)
		}
	}
}

// watchQueued counts the messages queued for delivery from now on: a
// transfer must queue none.
func watchQueued(t *testing.T, g *gateway.Gateway) func() int {
	var mu sync.Mutex
	n := 0
	unsub := g.Router().Subscribe(func(changes []store.Change) {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range changes {
			if c.Kind == store.OutboundQueued {
				n++
			}
		}
	})
	t.Cleanup(unsub)
	return func() int {
		mu.Lock()
		defer mu.Unlock()
		return n
	}
}

// imapMessage returns the raw message with msgID in login's folder, read
// over IMAP, or "".
func imapMessage(t *testing.T, g *gateway.Gateway, login, folder, msgID string) string {
	t.Helper()
	c := loginIMAP(t, g.Addr("imap"), login) // closed when the test ends
	for _, m := range readMailbox(t, c, folder).Msgs {
		if strings.Contains(m.Body, "Message-Id: <"+msgID+">") || strings.Contains(m.Body, "Message-ID: <"+msgID+">") {
			return m.Body
		}
	}
	return ""
}

func report(t *testing.T, g *gateway.Gateway, id string) router.SessionReport {
	t.Helper()
	rep, err := g.Router().Report(id)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func lastEvent(rep router.SessionReport, kind string) string {
	for i := len(rep.Events) - 1; i >= 0; i-- {
		if rep.Events[i].Kind == kind {
			return rep.Events[i].Detail
		}
	}
	return ""
}

// carlaWrites is the customer's first message: to Support, copying a
// colleague.
const carlaWrites = `From: Carla Rossi <carla@customer.test>
To: support@example.test
Cc: Dave Miller <dave@customer.test>
Subject: Double charge on invoice 4471
Date: Mon, 2 Mar 2026 09:00:00 +0100
Message-ID: <c1@customer.test>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

I was charged twice for invoice 4471.
`

// thunderbirdReplyAll is Thunderbird's Reply All to carlaWrites: HTML
// with its plain-text alternative, the queue's address in Cc.
const thunderbirdReplyAll = `Content-Type: multipart/alternative;
 boundary="------------p0Ywm8E2gOQ3Fx1Ak5W7Hd9t"
Message-ID: <4b8e2f4c-1d3a-4f55-9a6e-3c2f1e7d9b10@example.test>
Date: Mon, 2 Mar 2026 10:12:31 +0100
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Subject: Re: Double charge on invoice 4471
Content-Language: en-US
To: Carla Rossi <carla@customer.test>
Cc: support@example.test, Dave Miller <dave@customer.test>
References: <c1@customer.test>
From: Alice Rossi <alice@example.test>
In-Reply-To: <c1@customer.test>

This is a multi-part message in MIME format.
--------------p0Ywm8E2gOQ3Fx1Ak5W7Hd9t
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 7bit

Hello Carla, we refunded the second charge.

On 02/03/2026 09:00, Carla Rossi wrote:
> I was charged twice for invoice 4471.

-- 
Alice Rossi

--------------p0Ywm8E2gOQ3Fx1Ak5W7Hd9t
Content-Type: text/html; charset=UTF-8
Content-Transfer-Encoding: 7bit

<!DOCTYPE html>
<html>
  <head>
    <meta http-equiv="Content-Type" content="text/html; charset=UTF-8">
  </head>
  <body>
    <p>Hello Carla, we refunded the second charge.</p>
    <div class="moz-cite-prefix">On 02/03/2026 09:00, Carla Rossi wrote:<br>
    </div>
    <blockquote type="cite" cite="mid:c1@customer.test">I was charged
      twice for invoice 4471.
    </blockquote>
    <pre class="moz-signature" cols="72">-- 
Alice Rossi</pre>
  </body>
</html>
--------------p0Ywm8E2gOQ3Fx1Ak5W7Hd9t--
`

// carlaAgain is the customer's follow-up to the reply address, still
// copying Dave.
const carlaAgain = `From: Carla Rossi <carla@customer.test>
To: Support <support+TOKEN@example.test>
Cc: Dave Miller <dave@customer.test>
Subject: Re: Double charge on invoice 4471 [SESSION]
Date: Mon, 2 Mar 2026 11:00:00 +0100
Message-ID: <c2@customer.test>
In-Reply-To: <4b8e2f4c-1d3a-4f55-9a6e-3c2f1e7d9b10@example.test>
References: <c1@customer.test> <4b8e2f4c-1d3a-4f55-9a6e-3c2f1e7d9b10@example.test>

Thanks. When will I see it on my card?
`

// muttGroupReply is mutt's g on carlaAgain: the reply address in Cc.
const muttGroupReply = `Date: Mon, 2 Mar 2026 11:20:00 +0100
From: Alice Rossi <alice@example.test>
To: Carla Rossi <carla@customer.test>
Cc: Support <support+TOKEN@example.test>,
	Dave Miller <dave@customer.test>
Subject: Re: Double charge on invoice 4471 [SESSION]
Message-ID: <20260302102000.GB4242@laptop.example.test>
References: <c1@customer.test>
 <4b8e2f4c-1d3a-4f55-9a6e-3c2f1e7d9b10@example.test>
 <c2@customer.test>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii
Content-Disposition: inline
In-Reply-To: <c2@customer.test>
User-Agent: Mutt/2.2.12 (2023-09-09)

On Mon, Mar 02, 2026 at 11:00:00AM +0100, Carla Rossi wrote:
> Thanks. When will I see it on my card?

Within three working days.
`

// TestReplyAll: Thunderbird's Reply All and mutt's group reply go to the
// customer and the colleague; the session's queue address and reply
// address are dropped from the envelope and the header.
func TestReplyAll(t *testing.T) {
	g, snk := gestureDesk(t, false)
	s := customerWrites(t, g, "support@example.test", carlaWrites)

	check := func(t *testing.T, name, msgID string) {
		t.Helper()
		h, rcpts := delivered(t, snk, msgID)
		if want := []string{"carla@customer.test", "dave@customer.test"}; !slices.Equal(rcpts, want) {
			t.Errorf("%s: delivered to %v, want %v", name, rcpts, want)
		}
		if to, cc := h.Get("To"), h.Get("Cc"); !strings.Contains(to, "carla@customer.test") || !strings.Contains(cc, `"Dave Miller" <dave@customer.test>`) ||
			strings.Contains(to+cc, "example.test") {
			t.Errorf("%s: To %q, Cc %q: want Carla, Dave with his name, nothing of ours", name, to, cc)
		}
		sent := imapMessage(t, g, "alice@example.test", "Sent", msgID)
		if sent == "" || strings.Contains(header(t, sent).Get("Cc"), "example.test") {
			t.Errorf("%s: alice's Sent over IMAP has %q", name, sent)
		}
	}

	text, err := submitAs(t, g, "alice@example.test", []string{"carla@customer.test", "support@example.test", "dave@customer.test"}, crlf(thunderbirdReplyAll))
	if err != nil || !strings.Contains(text, "queued as "+s.ID) {
		t.Fatalf("Thunderbird Reply All: %q %v, want 250 queued as %s", text, err, s.ID)
	}
	check(t, "Thunderbird", "4b8e2f4c-1d3a-4f55-9a6e-3c2f1e7d9b10@example.test")

	tokenAddr := "support+" + s.Token + "@example.test"
	fill := strings.NewReplacer("TOKEN", s.Token, "SESSION", s.ID)
	customerWrites(t, g, tokenAddr, fill.Replace(carlaAgain))
	text, err = submitAs(t, g, "alice@example.test", []string{"carla@customer.test", tokenAddr, "dave@customer.test"}, crlf(fill.Replace(muttGroupReply)))
	if err != nil || !strings.Contains(text, "queued as "+s.ID) {
		t.Fatalf("mutt group reply: %q %v, want 250 queued as %s", text, err, s.ID)
	}
	check(t, "mutt", "20260302102000.GB4242@laptop.example.test")

	s = report(t, g, s.ID).Session
	if slices.ContainsFunc(s.Participants, func(p string) bool { return strings.HasSuffix(p, "@example.test") }) || !slices.Equal(s.Cc, []string{`"Dave Miller" <dave@customer.test>`}) {
		t.Errorf("participants %v, Cc %v: want no address of ours, Cc dave", s.Participants, s.Cc)
	}

	// Only what means this session is dropped: another queue or the
	// session's note address beside the customer is still refused, and
	// so are the reply addresses of two sessions.
	other := customerWrites(t, g, "support@example.test", strings.ReplaceAll(carlaWrites, "c1@customer.test", "c9@customer.test"))
	for ours, why := range map[string]string{
		"billing@example.test":                                   "a note or transfer goes to mxdesk only",
		"support+note-" + s.Token + "@example.test":              "a note or transfer goes to mxdesk only",
		tokenAddr + ", support+" + other.Token + "@example.test": "is the address of another session than " + s.ID,
	} {
		raw := strings.Replace(thunderbirdReplyAll, "Cc: support@example.test", "Cc: "+ours, 1)
		raw = strings.Replace(raw, "4b8e2f4c", "5c9f3a5d", 1)
		_, err := submitAs(t, g, "alice@example.test", append([]string{"carla@customer.test"}, strings.Split(ours, ", ")...), crlf(raw))
		if code, _ := smtpCode(err); code != 550 || !strings.Contains(err.Error(), why) {
			t.Errorf("Reply All with %s: %v, want 550 %s", ours, err, why)
		}
	}
}

func smtpCode(err error) (int, string) {
	if se, ok := err.(*smtp.SMTPError); ok {
		return se.Code, se.Message
	}
	return 0, ""
}

// muttForward is mutt's f on carlaWrites (forward_format "Fwd: %s",
// mime_forward no): no In-Reply-To or References, no session tag, the
// original inline between mutt's markers. TO is the forward's recipient.
const muttForward = `Date: Mon, 2 Mar 2026 10:15:00 +0100
From: Alice Rossi <alice@example.test>
To: TO
Subject: Fwd: Double charge on invoice 4471
Message-ID: <20260302091500.GA4242@laptop.example.test>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii
Content-Disposition: inline
User-Agent: Mutt/2.2.12 (2023-09-09)

She was charged twice -- can you refund one?

----- Forwarded message from Carla Rossi <carla@customer.test> -----

Date: Mon, 2 Mar 2026 09:00:00 +0100
From: Carla Rossi <carla@customer.test>
To: support@example.test
Cc: Dave Miller <dave@customer.test>
Subject: Double charge on invoice 4471

I was charged twice for invoice 4471.

----- End forwarded message -----
`

// thunderbirdForward is Thunderbird's inline forward, HTML with its plain
// alternative, without the References newer versions add.
const thunderbirdForward = `Content-Type: multipart/alternative;
 boundary="------------Xq3mB8v0Lr2sYk7TzW5nHc1d"
Message-ID: <9e0f6b1a-7c2d-4e3f-8a9b-0c1d2e3f4a5b@example.test>
Date: Mon, 2 Mar 2026 10:16:02 +0100
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Subject: Fwd: Double charge on invoice 4471
Content-Language: en-US
To: TO
From: Alice Rossi <alice@example.test>

This is a multi-part message in MIME format.
--------------Xq3mB8v0Lr2sYk7TzW5nHc1d
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 7bit

She was charged twice, can you refund one?



-------- Forwarded Message --------
Subject: 	Double charge on invoice 4471
Date: 	Mon, 2 Mar 2026 09:00:00 +0100
From: 	Carla Rossi <carla@customer.test>
To: 	support@example.test
CC: 	Dave Miller <dave@customer.test>



I was charged twice for invoice 4471.

--------------Xq3mB8v0Lr2sYk7TzW5nHc1d
Content-Type: text/html; charset=UTF-8
Content-Transfer-Encoding: 7bit

<!DOCTYPE html>
<html>
  <head>
    <meta http-equiv="Content-Type" content="text/html; charset=UTF-8">
  </head>
  <body>
    <p>She was charged twice, can you refund one?</p>
    <div class="moz-forward-container"><br>
      <br>
      -------- Forwarded Message --------
      <table class="moz-email-headers-table" cellspacing="0"
        cellpadding="0" border="0">
        <tbody>
          <tr>
            <th valign="BASELINE" nowrap="nowrap" align="RIGHT">Subject:
            </th>
            <td>Double charge on invoice 4471</td>
          </tr>
          <tr>
            <th valign="BASELINE" nowrap="nowrap" align="RIGHT">Date: </th>
            <td>Mon, 2 Mar 2026 09:00:00 +0100</td>
          </tr>
          <tr>
            <th valign="BASELINE" nowrap="nowrap" align="RIGHT">From: </th>
            <td>Carla Rossi <a class="moz-txt-link-rfc2396E" href="mailto:carla@customer.test">&lt;carla@customer.test&gt;</a></td>
          </tr>
          <tr>
            <th valign="BASELINE" nowrap="nowrap" align="RIGHT">To: </th>
            <td><a class="moz-txt-link-abbreviated" href="mailto:support@example.test">support@example.test</a></td>
          </tr>
        </tbody>
      </table>
      <br>
      <pre>I was charged twice for invoice 4471.</pre>
    </div>
  </body>
</html>
--------------Xq3mB8v0Lr2sYk7TzW5nHc1d--
`

// thunderbirdForwardAsAttachment is Thunderbird's "Forward As
// Attachment": the original (ORIGINAL, as read over IMAP) in a
// message/rfc822 part, without References.
const thunderbirdForwardAsAttachment = `Content-Type: multipart/mixed; boundary="------------0Q2mXWxU4J3XnE6W0Z5zB1Fv"
Message-ID: <b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e@example.test>
Date: Mon, 2 Mar 2026 10:17:44 +0100
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Content-Language: en-US
To: TO
From: Alice Rossi <alice@example.test>
Subject: Fwd: Double charge on invoice 4471

This is a multi-part message in MIME format.
--------------0Q2mXWxU4J3XnE6W0Z5zB1Fv
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 7bit

She was charged twice, can you refund one?

--------------0Q2mXWxU4J3XnE6W0Z5zB1Fv
Content-Type: message/rfc822; name="Double charge on invoice 4471.eml"
Content-Disposition: attachment; filename="Double charge on invoice 4471.eml"

ORIGINAL
--------------0Q2mXWxU4J3XnE6W0Z5zB1Fv--
`

// noteOf returns the internal note with msgID in the session's thread as
// login reads it over IMAP in folder.
func noteOf(t *testing.T, g *gateway.Gateway, login, folder, msgID string) *textproto.Header {
	t.Helper()
	note := imapMessage(t, g, login, folder, msgID)
	if note == "" {
		t.Fatalf("%s's %s has no <%s>", login, folder, msgID)
	}
	return header(t, note)
}

// TestTransferByForwarding: mutt's and Thunderbird's forwards to another
// queue's address transfer the session, found from what the forward
// carries; nothing reaches the customer.
func TestTransferByForwarding(t *testing.T) {
	stripOurs := func(raw string) string {
		var keep []string
		for _, line := range strings.Split(raw, "\n") {
			if !strings.HasPrefix(line, "X-Mxdesk-") {
				keep = append(keep, line)
			}
		}
		return strings.Join(keep, "\n")
	}
	for _, tc := range []struct {
		name string
		raw  func(original string) string
		// twin: Carla starts a second session with the same subject,
		// so that only the attached message's Message-ID tells.
		twin bool
	}{
		{"mutt inline", func(string) string { return muttForward }, false},
		{"Thunderbird inline", func(string) string { return thunderbirdForward }, false},
		{"Thunderbird inline with References", func(string) string {
			return strings.Replace(thunderbirdForward, "Content-Language: en-US\n",
				"References: <c1@customer.test>\nContent-Language: en-US\nX-Forwarded-Message-Id: <c1@customer.test>\nIn-Reply-To: <c1@customer.test>\n", 1)
		}, false},
		{"Thunderbird as attachment", func(original string) string {
			return strings.Replace(thunderbirdForwardAsAttachment, "ORIGINAL\n", original, 1)
		}, false},
		{"Thunderbird as attachment, Message-ID only", func(original string) string {
			return strings.Replace(thunderbirdForwardAsAttachment, "ORIGINAL\n", stripOurs(original), 1)
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, _ := gestureDesk(t, false)
			s := customerWrites(t, g, "support@example.test", carlaWrites)
			if tc.twin {
				customerWrites(t, g, "support@example.test", strings.ReplaceAll(carlaWrites, "c1@customer.test", "c1-again@customer.test"))
			}
			original := strings.ReplaceAll(imapMessage(t, g, "alice@example.test", "Queues/Support", "c1@customer.test"), "\r\n", "\n")
			if !strings.Contains(original, "X-Mxdesk-Session: "+s.ID) {
				t.Fatalf("the customer's message over IMAP:\n%s", original)
			}
			raw := strings.Replace(tc.raw(original), "To: TO", "To: billing@example.test", 1)
			queued := watchQueued(t, g)
			text, err := submitAs(t, g, "alice@example.test", []string{"billing@example.test"}, crlf(raw))
			if err != nil || text != "2.0.0 "+s.ID+" transferred" && text != s.ID+" transferred" {
				t.Fatalf("forward to billing@: %q %v, want 250 %s transferred", text, err, s.ID)
			}
			rep := report(t, g, s.ID)
			if rep.Session.Queue != "Billing" || rep.Session.Agent != "" || !strings.Contains(lastEvent(rep, "transferred"), "to queue Billing by forward") {
				t.Errorf("after the forward: queue %s, agent %q, events %+v", rep.Session.Queue, rep.Session.Agent, rep.Events)
			}
			msgID := strings.Trim(header(t, raw).Get("Message-Id"), "<>")
			if note := noteOf(t, g, "bob@example.test", "Queues/Billing", msgID); note.Get("Subject") != "[Internal] Fwd: Double charge on invoice 4471" || note.Get("X-Mxdesk-Internal") != "transfer" {
				t.Errorf("bob's note: Subject %q, X-Mxdesk-Internal %q", note.Get("Subject"), note.Get("X-Mxdesk-Internal"))
			}
			if note := imapMessage(t, g, "bob@example.test", "Queues/Billing", msgID); !strings.Contains(note, "can you refund one?") {
				t.Errorf("bob's note lacks alice's comment:\n%s", note)
			}
			if n := queued(); n != 0 {
				t.Errorf("a transfer queued %d messages for delivery", n)
			}
		})
	}
}

// TestTransferByForwardingFallbacks: a forward whose quoted original the
// agent cut finds the agent's own session by its subject; when nothing
// tells the session, the refusal says how to name it.
func TestTransferByForwardingFallbacks(t *testing.T) {
	g, _ := gestureDesk(t, false)
	s := customerWrites(t, g, "support@example.test", carlaWrites)
	cut := strings.Replace(muttForward, muttForward[strings.Index(muttForward, "\n----- Forwarded"):], "\n", 1)
	cut = strings.Replace(cut, "To: TO", "To: billing@example.test", 1)
	refusal := "can't tell which session this forward belongs to: put the session tag, e.g. [S-7K3QX], in the subject and send again"

	// Waiting in Support, nobody's own yet: no way to tell.
	if _, err := submitAs(t, g, "alice@example.test", []string{"billing@example.test"}, crlf(cut)); !strings.Contains(fmt.Sprint(err), refusal) {
		t.Fatalf("a bare forward of a waiting session: %v, want 550 %q", err, refusal)
	}
	if code, _ := smtpCode(errOf(submitAs(t, g, "alice@example.test", []string{"billing@example.test"}, crlf(cut)))); code != 550 {
		t.Errorf("refusal code %d, want 550", code)
	}

	// Alice answers: the session is hers, and a forward's subject is
	// enough; a message that only has its subject is no forward of it.
	if _, err := submitAs(t, g, "alice@example.test", []string{"carla@customer.test"}, crlf(thunderbirdReplyAll)); err != nil {
		t.Fatal(err)
	}
	notForward := strings.Replace(strings.Replace(cut, "Subject: Fwd: ", "Subject: ", 1), "GA4242", "GD4242", 1)
	if _, err := submitAs(t, g, "alice@example.test", []string{"billing@example.test"}, crlf(notForward)); !strings.Contains(fmt.Sprint(err), refusal) {
		t.Errorf("a new message to billing@ titled like alice's session: %v, want the refusal", err)
	}
	text, err := submitAs(t, g, "alice@example.test", []string{"billing@example.test"}, crlf(cut))
	if err != nil || !strings.Contains(text, s.ID+" transferred") {
		t.Fatalf("bare forward of alice's own session: %q %v", text, err)
	}
	if q := report(t, g, s.ID).Session.Queue; q != "Billing" {
		t.Errorf("session in %s, want Billing", q)
	}

	// Two sessions of hers with that subject: she must name one.
	s2 := customerWrites(t, g, "support@example.test", strings.ReplaceAll(carlaWrites, "c1@customer.test", "c3@customer.test"))
	s3 := customerWrites(t, g, "support@example.test", strings.ReplaceAll(carlaWrites, "c1@customer.test", "c4@customer.test"))
	for i, id := range []string{"c3", "c4"} {
		reply := strings.ReplaceAll(strings.ReplaceAll(thunderbirdReplyAll, "c1@customer.test", id+"@customer.test"), "4b8e2f4c", fmt.Sprintf("%d4b8e2f4", i))
		if _, err := submitAs(t, g, "alice@example.test", []string{"carla@customer.test"}, crlf(reply)); err != nil {
			t.Fatal(err)
		}
	}
	again := strings.Replace(cut, "GA4242", "GC4242", 1)
	if _, err := submitAs(t, g, "alice@example.test", []string{"billing@example.test"}, crlf(again)); !strings.Contains(fmt.Sprint(err), refusal) {
		t.Errorf("a bare forward matching %s and %s: %v, want the refusal", s2.ID, s3.ID, err)
	}
	tagged := strings.Replace(again, "Subject: Fwd: Double charge on invoice 4471", "Subject: Fwd: Double charge on invoice 4471 ["+s3.ID+"]", 1)
	if text, err := submitAs(t, g, "alice@example.test", []string{"billing@example.test"}, crlf(tagged)); err != nil || !strings.Contains(text, s3.ID+" transferred") {
		t.Errorf("the forward with the tag: %q %v", text, err)
	}
}

func errOf(_ string, err error) error { return err }

// TestTransferToAgentPermission: a forward to a colleague's login is a
// transfer only where the queue's allow_transfer_to_agent says so.
func TestTransferToAgentPermission(t *testing.T) {
	for _, allowed := range []bool{false, true} {
		t.Run(fmt.Sprint("allow_transfer_to_agent=", allowed), func(t *testing.T) {
			g, _ := gestureDesk(t, allowed)
			s := customerWrites(t, g, "support@example.test", carlaWrites)
			raw := strings.Replace(muttForward, "To: TO", "To: Dan Ek <dan@example.test>", 1)
			text, err := submitAs(t, g, "alice@example.test", []string{"dan@example.test"}, crlf(raw))
			if !allowed {
				if code, msg := smtpCode(err); code != 550 || !strings.Contains(msg, "allow_transfer_to_agent") {
					t.Fatalf("forward to dan: %q %v, want 550 naming allow_transfer_to_agent", text, err)
				}
				if s := report(t, g, s.ID).Session; s.Agent != "" || s.Queue != "Support" {
					t.Errorf("refused, yet the session is %s's in %s", s.Agent, s.Queue)
				}
				return
			}
			if err != nil || !strings.Contains(text, s.ID+" transferred") {
				t.Fatalf("forward to dan: %q %v", text, err)
			}
			if note := noteOf(t, g, "dan@example.test", "INBOX", "20260302091500.GA4242@laptop.example.test"); note.Get("X-Mxdesk-Session") != s.ID {
				t.Errorf("dan's INBOX note: %+v", note)
			}
			if s := report(t, g, s.ID).Session; s.Agent != "dan@example.test" || s.Status != router.StatusUnopened {
				t.Errorf("after the forward: agent %q, status %s", s.Agent, s.Status)
			}
		})
	}
}

// TestForwardToThirdParty: a session's message forwarded to a supplier
// goes to the addresses the agent put and nobody else, is kept in the
// session, and changes neither its participants nor its Cc.
func TestForwardToThirdParty(t *testing.T) {
	g, snk := gestureDesk(t, false)
	s := customerWrites(t, g, "support@example.test", carlaWrites)
	original := strings.ReplaceAll(imapMessage(t, g, "alice@example.test", "Queues/Support", "c1@customer.test"), "\r\n", "\n")
	for _, tc := range []struct {
		client, raw string
		rcpts       []string
	}{
		{"mutt", strings.Replace(muttForward, "To: TO", "To: Supplier Desk <orders@supplier.test>\nCc: quality@supplier.test", 1),
			[]string{"orders@supplier.test", "quality@supplier.test"}},
		{"Thunderbird", strings.Replace(strings.Replace(thunderbirdForwardAsAttachment, "ORIGINAL\n", original, 1), "To: TO", "To: orders@supplier.test", 1),
			[]string{"orders@supplier.test"}},
	} {
		msgID := strings.Trim(header(t, tc.raw).Get("Message-Id"), "<>")
		text, err := submitAs(t, g, "alice@example.test", tc.rcpts, crlf(tc.raw))
		if err != nil || !strings.Contains(text, "queued as "+s.ID) {
			t.Fatalf("%s forward to the supplier: %q %v, want 250 queued as %s", tc.client, text, err, s.ID)
		}
		h, rcpts := delivered(t, snk, msgID)
		if !slices.Equal(rcpts, tc.rcpts) || strings.Contains(h.Get("Cc"), "dave@") {
			t.Errorf("%s: delivered to %v with Cc %q, want %v only", tc.client, rcpts, h.Get("Cc"), tc.rcpts)
		}
		if h.Get("In-Reply-To") != "" || h.Get("X-Mxdesk-Session") != s.ID {
			t.Errorf("%s: In-Reply-To %q, X-Mxdesk-Session %q: want none, %s", tc.client, h.Get("In-Reply-To"), h.Get("X-Mxdesk-Session"), s.ID)
		}
		rep := report(t, g, s.ID)
		if want := "to " + strings.Join(tc.rcpts, ", "); lastEvent(rep, "forwarded") != want {
			t.Errorf("%s: forwarded event %q, want %q", tc.client, lastEvent(rep, "forwarded"), want)
		}
		if imapMessage(t, g, "alice@example.test", "Sent", msgID) == "" || imapMessage(t, g, "alice@example.test", "INBOX", msgID) == "" {
			t.Errorf("%s: the forward is not in alice's Sent and the session's thread in her INBOX", tc.client)
		}
	}
	rep := report(t, g, s.ID)
	if !slices.Equal(rep.Session.Participants, []string{"carla@customer.test", "dave@customer.test"}) || !slices.Equal(rep.Session.Cc, []string{`"Dave Miller" <dave@customer.test>`}) {
		t.Errorf("after the forwards: participants %v, Cc %v; want carla and dave, Cc dave", rep.Session.Participants, rep.Session.Cc)
	}
	if lastEvent(rep, "replied") != "" {
		t.Errorf("a forward counted as a reply: %+v", rep.Events)
	}

	// A plain reply afterwards still copies Dave, not the supplier.
	reply := strings.Replace(strings.Replace(thunderbirdReplyAll, "Cc: support@example.test, Dave Miller <dave@customer.test>\n", "", 1), "4b8e2f4c", "6d0a4b6e", 1)
	if _, err := submitAs(t, g, "alice@example.test", []string{"carla@customer.test"}, crlf(reply)); err != nil {
		t.Fatal(err)
	}
	if _, rcpts := delivered(t, snk, "6d0a4b6e-1d3a-4f55-9a6e-3c2f1e7d9b10@example.test"); !slices.Equal(rcpts, []string{"carla@customer.test", "dave@customer.test"}) {
		t.Errorf("the next reply went to %v, want carla and dave", rcpts)
	}

	// Carla writes again; Thunderbird's forward of her first message
	// (threaded to it, as newer versions do) answers nobody: it is not
	// held as a stale reply.
	customerWrites(t, g, "support+"+s.Token+"@example.test", strings.NewReplacer("TOKEN", s.Token, "SESSION", s.ID).Replace(carlaAgain))
	fwd := strings.Replace(thunderbirdForward, "Content-Language: en-US\n",
		"References: <c1@customer.test>\nContent-Language: en-US\nX-Forwarded-Message-Id: <c1@customer.test>\nIn-Reply-To: <c1@customer.test>\n", 1)
	fwd = strings.Replace(fwd, "To: TO", "To: orders@supplier.test", 1)
	if text, err := submitAs(t, g, "alice@example.test", []string{"orders@supplier.test"}, crlf(fwd)); err != nil || !strings.Contains(text, "queued as "+s.ID) {
		t.Fatalf("forward of an older message: %q %v, want 250 queued as %s", text, err, s.ID)
	}
	delivered(t, snk, "9e0f6b1a-7c2d-4e3f-8a9b-0c1d2e3f4a5b@example.test")
}

// TestForwardedMessageSessionHeader: an attached message's
// X-Mxdesk-Session names its session even when nothing else of it is
// known (here a copy of a reply of ours with a Message-ID mxdesk never
// saw), but only a session the agent may act on: another queue's session
// ID in it is not taken.
func TestForwardedMessageSessionHeader(t *testing.T) {
	g, _ := gestureDesk(t, false)
	s := customerWrites(t, g, "support@example.test", carlaWrites)
	other := customerWrites(t, g, "billing@example.test", strings.ReplaceAll(carlaWrites, "c1@customer.test", "b1@customer.test"))
	attach := func(session, msgID string) string {
		original := "From: Support <support@example.test>\nSubject: Re: Double charge on invoice 4471\nMessage-ID: <" + msgID + ">\nX-Mxdesk-Session: " + session + "\n\nWe refunded it.\n"
		raw := strings.Replace(thunderbirdForwardAsAttachment, "ORIGINAL\n", original, 1)
		return crlf(strings.Replace(raw, "To: TO", "To: billing@example.test", 1))
	}
	if text, err := submitAs(t, g, "alice@example.test", []string{"billing@example.test"}, attach(s.ID, "edited@laptop.test")); err != nil || !strings.Contains(text, s.ID+" transferred") {
		t.Fatalf("attachment naming %s: %q %v", s.ID, text, err)
	}
	raw := strings.Replace(attach(other.ID, "forged@laptop.test"), "b2c3d4e5", "c3d4e5f6", 1)
	if _, err := submitAs(t, g, "alice@example.test", []string{"billing@example.test"}, raw); !strings.Contains(fmt.Sprint(err), "can't tell which session") {
		t.Errorf("attachment naming Billing's %s, sent by alice of Support: %v, want the refusal", other.ID, err)
	}
	if rep := report(t, g, other.ID); lastEvent(rep, "transferred") != "" {
		t.Errorf("%s was transferred by an agent who may not act on it", other.ID)
	}
}
