package delivery_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-smtp"

	"mxdesk/delivery"
	"mxdesk/router"
	"mxdesk/store"
	"mxdesk/testutil"
)

// TestSmarthostAuth: with a smarthost, every recipient goes in one
// transaction over verified STARTTLS with AUTH PLAIN, and the EHLO name is
// the configured hostname (before and after STARTTLS).
func TestSmarthostAuth(t *testing.T) {
	serverTLS, clientTLS := testutil.TLS(t)
	relay := startSMTP(t, "127.0.0.1", "0", serverTLS, "mxdesk", "relay-secret")
	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte("relay-secret\n"), 0o600)
	d := newDesk(t, startDNS(t), `smarthost = "`+relay.addr+`"
smarthost_user = "mxdesk"
smarthost_password_file = "`+pwFile+`"`, delivery.Options{TLSConfig: clientTLS})

	sub := d.submit("alice@example.test", "smarthost one", "bob@remote.test", "carol@other.test")
	reps := d.runDue()
	m := relay.next(t)
	if !m.tls || m.user != "mxdesk" || m.helo != "mx.example.test" {
		t.Errorf("session: tls %v, user %q, helo %q; want TLS, AUTH as mxdesk, EHLO mx.example.test", m.tls, m.user, m.helo)
	}
	if !slices.Equal(m.to, []string{"bob@remote.test", "carol@other.test"}) || !strings.HasPrefix(m.from, "support+") {
		t.Errorf("envelope %s -> %v", m.from, m.to)
	}
	if len(reps) != 1 || len(reps[0].Delivered) != 2 || reps[0].Queued || reps[0].Session != sub.Session {
		t.Errorf("report %+v", reps)
	}
	if q := d.queue(); len(q) != 0 {
		t.Errorf("queue after delivery: %+v", q)
	}
	st, err := d.w.Stats()
	if err != nil || st.Queued != 0 || st.Attempts != 1 || st.Delivered != 2 {
		t.Errorf("Stats = %+v, %v", st, err)
	}
}

// TestSmarthostFailuresAreTemporary: a wrong password or an untrusted
// certificate keep the mail queued (never bounce it) and send nothing.
func TestSmarthostFailuresAreTemporary(t *testing.T) {
	serverTLS, clientTLS := testutil.TLS(t)
	for _, tc := range []struct {
		name, password string
		trust          bool
		want           string
	}{
		{"wrong password", "not-it", true, "AUTH PLAIN"},
		{"untrusted certificate", "relay-secret", false, "certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			relay := startSMTP(t, "127.0.0.1", "0", serverTLS, "mxdesk", "relay-secret")
			pwFile := filepath.Join(t.TempDir(), "pw")
			os.WriteFile(pwFile, []byte(tc.password), 0o600)
			opts := delivery.Options{}
			if tc.trust {
				opts.TLSConfig = clientTLS
			}
			d := newDesk(t, startDNS(t), `smarthost = "`+relay.addr+`"
smarthost_user = "mxdesk"
smarthost_password_file = "`+pwFile+`"`, opts)
			d.submit("alice@example.test", "smarthost fails", "bob@remote.test")
			reps := d.runDue()
			relay.none(t)
			if len(reps) != 1 || len(reps[0].Deferred) != 1 || len(reps[0].Bounced) != 0 || !reps[0].Queued {
				t.Fatalf("report %+v", reps)
			}
			q := d.queue()
			if len(q) != 1 || q[0].Attempts != 1 || !strings.Contains(q[0].LastError, tc.want) {
				t.Errorf("queue %+v, want LastError about %q", q, tc.want)
			}
		})
	}
}

// TestDirectMX: recipients are grouped by domain; each domain's MX hosts
// are tried in preference order, a host refusing connections is skipped,
// a domain without MX gets its A record, STARTTLS is used when offered.
func TestDirectMX(t *testing.T) {
	serverTLS, _ := testutil.TLS(t)
	a := startSMTP(t, "127.0.0.2", "0", serverTLS) // mx1.pref.test, STARTTLS
	port := a.port()
	b := startSMTP(t, "127.0.0.4", port, nil) // mx2.pref.test, mx2.fallback.test
	dnsSrv := startDNS(t)
	dnsSrv.addMX("pref.test", 20, "mx2.pref.test")
	dnsSrv.addMX("pref.test", 10, "mx1.pref.test")
	dnsSrv.addA("mx1.pref.test", "127.0.0.2")
	dnsSrv.addA("mx2.pref.test", "127.0.0.4")
	dnsSrv.addMX("fallback.test", 10, "dead.fallback.test") // nothing listens there
	dnsSrv.addMX("fallback.test", 20, "mx2.fallback.test")
	dnsSrv.addA("dead.fallback.test", "127.0.0.3")
	dnsSrv.addA("mx2.fallback.test", "127.0.0.4")
	dnsSrv.addA("nomx.test", "127.0.0.2") // no MX: the domain's own address
	d := newDesk(t, dnsSrv, "mx_port = "+port, delivery.Options{})

	d.submit("alice@example.test", "direct", "x@pref.test", "y@fallback.test", "z@nomx.test", "w@pref.test")
	reps := d.runDue()
	if len(reps) != 1 || len(reps[0].Delivered) != 4 || reps[0].Queued {
		t.Fatalf("report %+v", reps)
	}
	got := map[string]received{}
	for range 2 {
		m := a.next(t)
		got[m.to[0]] = m
	}
	got["y@fallback.test"] = b.next(t)
	b.none(t)
	if m := got["x@pref.test"]; !slices.Equal(m.to, []string{"x@pref.test", "w@pref.test"}) || !m.tls || m.helo != "mx.example.test" {
		t.Errorf("pref.test at its preferred MX: to %v, tls %v, helo %q", m.to, m.tls, m.helo)
	}
	if m := got["z@nomx.test"]; !slices.Equal(m.to, []string{"z@nomx.test"}) {
		t.Errorf("nomx.test: to %v", m.to)
	}
	if m := got["y@fallback.test"]; m.tls || m.helo != "mx.example.test" {
		t.Errorf("fallback.test at its second MX: tls %v (offered none), helo %q", m.tls, m.helo)
	}
}

// TestDKIMSignatureVerifies checks what arrived against the keys the
// loopback DNS publishes, for an RSA and an Ed25519 domain.
func TestDKIMSignatureVerifies(t *testing.T) {
	mx := startSMTP(t, "127.0.0.2", "0", nil)
	dnsSrv := startDNS(t)
	dnsSrv.addA("remote.test", "127.0.0.2")
	d := newDesk(t, dnsSrv, "mx_port = "+mx.port(), delivery.Options{})
	res := dnsSrv.resolver()
	for _, tc := range []struct{ from, domain string }{{"alice@example.test", "example.test"}, {"sales@ed.test", "ed.test"}} {
		d.submit(tc.from, "signed by "+tc.domain, "bob@remote.test")
		d.runDue()
		m := mx.next(t)
		verifs, err := dkim.VerifyWithOptions(bytes.NewReader(m.data), &dkim.VerifyOptions{
			LookupTXT:        func(name string) ([]string, error) { return res.LookupTXT(ctx, name) },
			MaxVerifications: 5,
		})
		if err != nil || len(verifs) != 1 {
			t.Fatalf("%s: Verify: %v, %d signatures\n%s", tc.domain, err, len(verifs), m.data)
		}
		v := verifs[0]
		if v.Err != nil || v.Domain != tc.domain {
			t.Errorf("%s: signature of %s: %v", tc.domain, v.Domain, v.Err)
		}
		for _, h := range []string{"from", "subject", "message-id", "reply-to", "in-reply-to"} {
			if !slices.ContainsFunc(v.HeaderKeys, func(k string) bool { return strings.EqualFold(k, h) }) {
				t.Errorf("%s: %s not signed (h=%v)", tc.domain, h, v.HeaderKeys)
			}
		}
	}
}

// TestPermanentFailureBounces: a 5xx to RCPT files a DSN into alice's
// INBOX, threaded into the session, and the message leaves the queue.
func TestPermanentFailureBounces(t *testing.T) {
	mx := startSMTP(t, "127.0.0.2", "0", nil)
	mx.setRcpt(func(to string) error {
		if strings.HasPrefix(to, "nobody@") {
			return reply(550, smtp.EnhancedCode{5, 1, 1}, "no such user here")
		}
		return nil
	})
	dnsSrv := startDNS(t)
	dnsSrv.addA("remote.test", "127.0.0.2")
	d := newDesk(t, dnsSrv, "mx_port = "+mx.port(), delivery.Options{})
	sub := d.submit("alice@example.test", "to nobody", "nobody@remote.test", "bob@remote.test")
	reps := d.runDue()
	if len(reps) != 1 || !slices.Equal(reps[0].Bounced, []string{"nobody@remote.test"}) ||
		!slices.Equal(reps[0].Delivered, []string{"bob@remote.test"}) || reps[0].Queued || reps[0].Err != nil {
		t.Fatalf("report %+v", reps)
	}
	if m := mx.next(t); !slices.Equal(m.to, []string{"bob@remote.test"}) {
		t.Errorf("delivered to %v", m.to)
	}
	if q := d.queue(); len(q) != 0 {
		t.Errorf("queue: %+v", q)
	}
	dsn := findDSN(t, d.inbox(sub.Session))
	checkDSN(t, dsn, sub, "nobody@remote.test", "5.1.1", "550 5.1.1 no such user here")
	if !slices.ContainsFunc(d.events(sub.Session), func(e store.Event) bool {
		return e.Kind == "bounced" && strings.Contains(e.Detail, "nobody@remote.test")
	}) {
		t.Errorf("no bounced event: %+v", d.events(sub.Session))
	}
	if st, _ := d.w.Stats(); st.Bounced != 1 || st.Delivered != 1 {
		t.Errorf("Stats %+v", st)
	}
}

// TestNullMXBounces: a domain that publishes a null MX (RFC 7505) accepts
// no mail: bounced at once, nothing dialled.
func TestNullMXBounces(t *testing.T) {
	dnsSrv := startDNS(t)
	dnsSrv.addMX("nomail.test", 0, ".")
	dnsSrv.addA("nomail.test", "127.0.0.2")
	d := newDesk(t, dnsSrv, "mx_port = 9", delivery.Options{})
	sub := d.submit("alice@example.test", "null mx", "x@nomail.test")
	reps := d.runDue()
	if len(reps) != 1 || !slices.Equal(reps[0].Bounced, []string{"x@nomail.test"}) {
		t.Fatalf("report %+v", reps)
	}
	checkDSN(t, findDSN(t, d.inbox(sub.Session)), sub, "x@nomail.test", "5.1.10", "null MX")
}

// TestTemporaryFailureRetriesThenBounces: 4xx is retried on the backoff
// schedule of the injected clock, and after retry_for it bounces.
func TestTemporaryFailureRetriesThenBounces(t *testing.T) {
	mx := startSMTP(t, "127.0.0.2", "0", nil)
	mx.setRcpt(func(string) error { return reply(451, smtp.EnhancedCode{4, 2, 1}, "mailbox busy, try later") })
	dnsSrv := startDNS(t)
	dnsSrv.addA("remote.test", "127.0.0.2")
	d := newDesk(t, dnsSrv, "mx_port = "+mx.port()+"\nretry_for = \"5m\"", delivery.Options{})
	sub := d.submit("alice@example.test", "busy", "bob@remote.test")
	start := d.clock.Now()

	// Tried at once, after 1m and 2m more; the next wait (4m) would pass
	// the expiry at 5m, so the last try is moved there, and bounces.
	for i, step := range []struct{ advance, next time.Duration }{
		{0, time.Minute},
		{time.Minute, 3 * time.Minute},
		{2 * time.Minute, 5 * time.Minute},
	} {
		if step.advance > 0 {
			d.clock.Advance(step.advance - time.Second)
			if reps := d.runDue(); len(reps) != 0 {
				t.Fatalf("attempt %d ran early: %+v", i+1, reps)
			}
			d.clock.Advance(time.Second)
		}
		reps := d.runDue()
		if len(reps) != 1 || !slices.Equal(reps[0].Deferred, []string{"bob@remote.test"}) || !reps[0].Queued {
			t.Fatalf("attempt %d: %+v", i+1, reps)
		}
		q := d.queue()
		if len(q) != 1 || q[0].Attempts != i+1 || !q[0].NextAttempt.Equal(start.Add(step.next)) || !strings.Contains(q[0].LastError, "451 4.2.1 mailbox busy") {
			t.Fatalf("after attempt %d: %+v; want the next at +%v", i+1, q, step.next)
		}
	}
	d.clock.Advance(2 * time.Minute) // 5m after queueing
	reps := d.runDue()
	if len(reps) != 1 || !slices.Equal(reps[0].Bounced, []string{"bob@remote.test"}) || reps[0].Queued {
		t.Fatalf("at expiry: %+v", reps)
	}
	if n := len(mx.seenRcpts()); n != 4 {
		t.Errorf("%d RCPT commands, want 4 attempts", n)
	}
	dsn := checkDSN(t, findDSN(t, d.inbox(sub.Session)), sub, "bob@remote.test", "4.2.1", "451 4.2.1 mailbox busy")
	if !strings.Contains(dsn, "tried until now") {
		t.Errorf("DSN does not say delivery expired:\n%s", dsn)
	}
}

// TestPartialSuccess: one recipient accepted, one deferred: only the
// deferred one is tried again, and once it is accepted the message leaves
// the queue.
func TestPartialSuccess(t *testing.T) {
	mx := startSMTP(t, "127.0.0.2", "0", nil)
	mx.setRcpt(func(to string) error {
		if to == "busy@remote.test" {
			return reply(452, smtp.EnhancedCode{4, 2, 2}, "mailbox full")
		}
		return nil
	})
	dnsSrv := startDNS(t)
	dnsSrv.addA("remote.test", "127.0.0.2")
	d := newDesk(t, dnsSrv, "mx_port = "+mx.port(), delivery.Options{})
	d.submit("alice@example.test", "partial", "ok@remote.test", "busy@remote.test")
	reps := d.runDue()
	if len(reps) != 1 || !slices.Equal(reps[0].Delivered, []string{"ok@remote.test"}) || !slices.Equal(reps[0].Deferred, []string{"busy@remote.test"}) {
		t.Fatalf("first attempt: %+v", reps)
	}
	if m := mx.next(t); !slices.Equal(m.to, []string{"ok@remote.test"}) {
		t.Errorf("first delivery to %v", m.to)
	}
	if q := d.queue(); len(q) != 1 || !slices.Equal(q[0].To, []string{"busy@remote.test"}) {
		t.Fatalf("queue after the first attempt: %+v", q)
	}
	mx.setRcpt(nil)
	d.clock.Advance(time.Minute)
	reps = d.runDue()
	if len(reps) != 1 || !slices.Equal(reps[0].Delivered, []string{"busy@remote.test"}) || reps[0].Queued {
		t.Fatalf("second attempt: %+v", reps)
	}
	if m := mx.next(t); !slices.Equal(m.to, []string{"busy@remote.test"}) {
		t.Errorf("second delivery to %v, want only the deferred recipient", m.to)
	}
	if got := mx.seenRcpts(); !slices.Equal(got, []string{"ok@remote.test", "busy@remote.test", "busy@remote.test"}) {
		t.Errorf("RCPTs %v", got)
	}
}

// TestCommitAfterEachTransaction: when a message goes to two domains, the
// recipients of the first are off the queue before the second
// transaction begins, so a crash there would not send to them again.
func TestCommitAfterEachTransaction(t *testing.T) {
	first := startSMTP(t, "127.0.0.2", "0", nil)
	second := startSMTP(t, "127.0.0.4", first.port(), nil)
	dnsSrv := startDNS(t)
	dnsSrv.addA("one.test", "127.0.0.2")
	dnsSrv.addA("two.test", "127.0.0.4")
	d := newDesk(t, dnsSrv, "mx_port = "+first.port(), delivery.Options{})
	var queuedDuringSecond [][]string
	second.setRcpt(func(string) error {
		for _, ob := range d.queue() {
			queuedDuringSecond = append(queuedDuringSecond, ob.To)
		}
		return nil
	})
	d.submit("alice@example.test", "two domains", "a@one.test", "b@two.test")
	d.runDue()
	first.next(t)
	second.next(t)
	if !slices.EqualFunc(queuedDuringSecond, [][]string{{"b@two.test"}}, slices.Equal) {
		t.Errorf("queued while the second transaction ran: %v, want [[b@two.test]]", queuedDuringSecond)
	}
}

// TestRestartResumes: mail queued before a restart is delivered after it.
func TestRestartResumes(t *testing.T) {
	mx := startSMTP(t, "127.0.0.2", "0", nil)
	dnsSrv := startDNS(t)
	dnsSrv.addA("remote.test", "127.0.0.2")
	d := newDesk(t, dnsSrv, "mx_port = "+mx.port(), delivery.Options{})
	d.submit("alice@example.test", "before restart", "bob@remote.test")
	d.restart()
	if reps := d.runDue(); len(reps) != 1 || len(reps[0].Delivered) != 1 {
		t.Fatalf("after restart: %+v", reps)
	}
	if m := mx.next(t); !strings.Contains(string(m.data), "before restart") {
		t.Errorf("delivered %q", m.data)
	}
}

// TestBounceNotFiledStaysQueued: when the router can't file the bounce
// (here: the session is gone), the recipient stays queued and the worker
// retries the bounce, not the delivery.
func TestBounceNotFiledStaysQueued(t *testing.T) {
	mx := startSMTP(t, "127.0.0.2", "0", nil)
	mx.setRcpt(func(string) error { return reply(550, smtp.EnhancedCode{5, 1, 1}, "no such user") })
	dnsSrv := startDNS(t)
	dnsSrv.addA("remote.test", "127.0.0.2")
	d := newDesk(t, dnsSrv, "mx_port = "+mx.port(), delivery.Options{})
	err := d.st.Update(ctx, store.UpdateOptions{}, func(tx store.Tx) error {
		blob, err := tx.PutBlob([]byte("From: support@example.test\r\nTo: x@remote.test\r\nSubject: orphan\r\nMessage-ID: <orphan@desk.test>\r\n\r\nhi\r\n"))
		if err != nil {
			return err
		}
		_, err = tx.Enqueue(store.Outbound{Session: "S-GONE1", Agent: "alice@example.test", Blob: blob,
			From: "support@example.test", To: []string{"x@remote.test"}, Created: d.clock.Now(), NextAttempt: d.clock.Now()})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		reps := d.runDue()
		if len(reps) != 1 || reps[0].Err == nil || !reps[0].Queued || len(reps[0].Bounced) != 0 {
			t.Fatalf("attempt %d: %+v, want a bounce error and the message queued", i+1, reps)
		}
		if q := d.queue(); len(q) != 1 || !slices.Equal(q[0].To, []string{"x@remote.test"}) {
			t.Fatalf("attempt %d: queue %+v", i+1, q)
		}
		d.clock.Advance(time.Hour)
	}
	if n := len(mx.seenRcpts()); n != 1 {
		t.Errorf("%d RCPTs; the retry must file the bounce, not send again", n)
	}
}

// TestRunWakesUp: Run delivers a message as soon as it is queued, and a
// retry when the clock has moved and the worker is kicked.
func TestRunWakesUp(t *testing.T) {
	mx := startSMTP(t, "127.0.0.2", "0", nil)
	busy := make(chan bool, 1)
	busy <- true
	mx.setRcpt(func(string) error {
		select {
		case <-busy:
			return reply(421, smtp.EnhancedCode{4, 3, 0}, "not now")
		default:
			return nil
		}
	})
	dnsSrv := startDNS(t)
	dnsSrv.addA("remote.test", "127.0.0.2")
	d := newDesk(t, dnsSrv, "mx_port = "+mx.port(), delivery.Options{})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.w.Run(runCtx)
	}()
	defer func() {
		stop()
		<-done
	}()

	d.submit("alice@example.test", "woken", "bob@remote.test")
	if rep := waitReport(t, d); len(rep.Deferred) != 1 {
		t.Fatalf("first attempt: %+v", rep)
	}
	d.clock.Advance(time.Minute)
	d.w.Kick()
	if rep := waitReport(t, d); len(rep.Delivered) != 1 || rep.Queued {
		t.Fatalf("retry: %+v", rep)
	}
	if m := mx.next(t); !slices.Equal(m.to, []string{"bob@remote.test"}) {
		t.Errorf("delivered to %v", m.to)
	}
}

func waitReport(t *testing.T, d *desk) delivery.Report {
	t.Helper()
	select {
	case r := <-d.reports:
		return r
	case <-time.After(waitTimeout):
		t.Fatalf("no delivery attempt within %v", waitTimeout)
		return delivery.Report{}
	}
}

// findDSN returns the one delivery status notification among msgs.
func findDSN(t *testing.T, msgs []string) string {
	t.Helper()
	var found []string
	for _, m := range msgs {
		if strings.Contains(m, "multipart/report") {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d bounces in the session's INBOX messages, want 1:\n%s", len(found), strings.Join(msgs, "\n-----\n"))
	}
	return found[0]
}

// checkDSN checks the structure of an RFC 3464 bounce and returns it.
func checkDSN(t *testing.T, raw string, sub router.Submitted, rcpt, status, diagnostic string) string {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatalf("DSN: %v\n%s", err, raw)
	}
	h := msg.Header
	if from := h.Get("From"); from != "Mail Delivery System <postmaster@mx.example.test>" {
		t.Errorf("From %q", from)
	}
	if !strings.HasPrefix(h.Get("Subject"), "Undelivered: ") {
		t.Errorf("Subject %q", h.Get("Subject"))
	}
	if irt := h.Get("In-Reply-To"); irt != "<"+sub.MessageID+">" || !strings.Contains(h.Get("References"), irt) {
		t.Errorf("In-Reply-To %q, References %q; want the original <%s>", irt, h.Get("References"), sub.MessageID)
	}
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt != "multipart/report" || params["report-type"] != "delivery-status" {
		t.Fatalf("Content-Type %q", h.Get("Content-Type"))
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var types []string
	var human, status822 string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("DSN part: %v", err)
		}
		body, _ := io.ReadAll(p)
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		types = append(types, ct)
		switch ct {
		case "text/plain":
			human = string(body)
		case "message/delivery-status":
			status822 = string(body)
		}
	}
	if !slices.Equal(types, []string{"text/plain", "message/delivery-status", "text/rfc822-headers"}) {
		t.Errorf("parts %v", types)
	}
	if !strings.Contains(human, rcpt) || !strings.Contains(human, diagnostic) {
		t.Errorf("human-readable part lacks %s or %q:\n%s", rcpt, diagnostic, human)
	}
	fields := parseStatus(t, status822)
	if len(fields) < 2 {
		t.Fatalf("delivery-status: %d groups\n%s", len(fields), status822)
	}
	if fields[0]["Reporting-MTA"] != "dns; mx.example.test" {
		t.Errorf("Reporting-MTA %q", fields[0]["Reporting-MTA"])
	}
	r := fields[1]
	if r["Final-Recipient"] != "rfc822; "+rcpt || r["Action"] != "failed" || r["Status"] != status || !strings.Contains(r["Diagnostic-Code"], diagnostic) {
		t.Errorf("recipient fields %v; want %s, failed, %s, %q", r, rcpt, status, diagnostic)
	}
	return raw
}

// parseStatus reads the groups of a message/delivery-status body.
func parseStatus(t *testing.T, body string) []map[string]string {
	var groups []map[string]string
	cur := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			if len(cur) > 0 {
				groups = append(groups, cur)
				cur = map[string]string{}
			}
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			t.Errorf("delivery-status line %q", line)
			continue
		}
		cur[k] = strings.TrimSpace(v)
	}
	if len(cur) > 0 {
		groups = append(groups, cur)
	}
	return groups
}

// TestRunSendsEachMessageOnce is the regression test of a double send:
// Run listed a message, its running attempt delivered it and let go of it,
// and Run then started it again from the stale listing.
func TestRunSendsEachMessageOnce(t *testing.T) {
	mx := startSMTP(t, "127.0.0.2", "0", nil)
	mx.got = make(chan received, 100)
	dnsSrv := startDNS(t)
	dnsSrv.addA("remote.test", "127.0.0.2")
	for _, conc := range []string{"1", "3"} {
		t.Run("concurrency "+conc, func(t *testing.T) {
			d := newDesk(t, dnsSrv, "mx_port = "+mx.port()+"\nconcurrency = "+conc, delivery.Options{})
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() {
				defer close(done)
				d.w.Run(runCtx)
			}()
			const n = 20
			for i := range n {
				d.submit("alice@example.test", "once "+conc+" "+string(rune('a'+i)), "bob@remote.test")
			}
			delivered := 0
			for delivered < n {
				delivered += len(waitReport(t, d).Delivered)
			}
			stop()
			<-done // no attempt is running
			for range n {
				mx.next(t)
			}
			mx.none(t)
			if delivered != n {
				t.Errorf("%d deliveries of %d messages", delivered, n)
			}
		})
	}
}

// TestNewNamesTheKey: a key or password file that can't be read when the
// worker is built fails New, naming its configuration key.
func TestNewNamesTheKey(t *testing.T) {
	d := newDesk(t, startDNS(t), "", delivery.Options{})
	os.Remove(d.cfg.Domain[1].DKIMKey)
	if _, err := delivery.New(d.r, d.cfg, delivery.Options{}); err == nil || !strings.Contains(err.Error(), "domain[1].dkim_key") {
		t.Errorf("New with a missing key: %v", err)
	}
	d.cfg.Domain[1].DKIMKey, d.cfg.Domain[1].DKIMSelector = "", ""
	d.cfg.Delivery.SmarthostUser, d.cfg.Delivery.SmarthostPasswordFile = "u", filepath.Join(d.dir, "missing")
	if _, err := delivery.New(d.r, d.cfg, delivery.Options{}); err == nil || !strings.Contains(err.Error(), "delivery.smarthost_password_file") {
		t.Errorf("New with a missing password file: %v", err)
	}
}
