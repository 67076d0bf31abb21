package smtpserver_test

import (
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"mxdesk/router"
	"mxdesk/store"
	"mxdesk/testutil"
)

// A DMARC failure under p=none is delivered, but the MX marks it and it
// gets no auto-reply; a pass gets one.
func TestDMARCFailureGetsNoAutoReply(t *testing.T) {
	resolver := dnsServer(t, map[string]string{
		"none.test.":        "v=spf1 -all",
		"_dmarc.none.test.": "v=DMARC1; p=none",
		"good.test.":        "v=spf1 ip4:127.0.0.1 -all",
		"_dmarc.good.test.": "v=DMARC1; p=reject",
	})
	cfg := testutil.Config(t, "[[queue]]\nname = \"Sales\"\naddresses = [\"sales@example.test\"]\n[queue.auto_reply]\nenabled = true\nbody = \"Thanks\"\n")
	r := testutil.Router(t, cfg, "")
	addr := startAuthMX(t, r, resolver)
	for _, from := range []string{"ceo@none.test", "friend@good.test"} {
		c, err := smtp.Dial(addr)
		if err != nil {
			t.Fatal(err)
		}
		msg := "From: <" + from + ">\r\nTo: sales@example.test\r\nSubject: hi\r\n\r\nhello\r\n"
		if err := c.SendMail(from, []string{"sales@example.test"}, strings.NewReader(msg)); err != nil {
			t.Fatalf("%s: %v", from, err)
		}
		c.Close()
	}
	sessions, _ := r.ListSessions(router.SessionFilter{})
	if len(sessions) != 2 {
		t.Fatalf("%d sessions", len(sessions))
	}
	for _, s := range sessions {
		var last store.Event
		r.View(func(rd store.Reader) error {
			evs, _ := rd.Events(s.ID)
			last = evs[len(evs)-1]
			return nil
		})
		want := map[string]string{"ceo@none.test": "auto-reply-skipped: dmarc (new session)", "friend@good.test": "auto-replied: to friend@good.test (new session)"}[s.Customer]
		if got := last.Kind + ": " + last.Detail; got != want || s.Spam {
			t.Errorf("%s: last event %q, want %q (spam %v)", s.Customer, got, want, s.Spam)
		}
	}
}
