package smtpserver_test

import (
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/miekg/dns"

	"mxdesk/msgauth"
	"mxdesk/router"
	"mxdesk/smtpserver"
	"mxdesk/store"
	"mxdesk/testutil"
)

// dnsServer serves TXT records on loopback (SPF and DMARC of the test
// domains); every other name is NXDOMAIN.
func dnsServer(t *testing.T, txt map[string]string) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		name := strings.ToLower(q.Question[0].Name)
		if v, ok := txt[name]; ok && q.Question[0].Qtype == dns.TypeTXT {
			m.Answer = append(m.Answer, &dns.TXT{Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60}, Txt: []string{v}})
		} else if !ok {
			m.Rcode = dns.RcodeNameError
		}
		w.WriteMsg(m)
	})}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String()
}

// TestDMARC sends through the real MX: a p=reject failure is refused at
// DATA with the reason, a p=quarantine failure lands in the queue's Spam
// folder, a pass is delivered with our Authentication-Results, and a
// forged one claiming to be ours is removed.
func TestDMARC(t *testing.T) {
	resolver := dnsServer(t, map[string]string{
		"reject.test.":        "v=spf1 -all",
		"_dmarc.reject.test.": "v=DMARC1; p=reject",
		"quar.test.":          "v=spf1 -all",
		"_dmarc.quar.test.":   "v=DMARC1; p=quarantine",
		"good.test.":          "v=spf1 ip4:127.0.0.1 -all",
		"_dmarc.good.test.":   "v=DMARC1; p=reject",
	})
	cfg := testutil.Config(t, "")
	r := testutil.Router(t, cfg, "")
	addr := startAuthMX(t, r, resolver)

	send := func(from string) error {
		c, err := smtp.Dial(addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		msg := "Authentication-Results: mx.example.test; dmarc=pass header.from=" + strings.Split(from, "@")[1] + "\r\n" +
			"From: <" + from + ">\r\nTo: support@example.test\r\nSubject: hi from " + from + "\r\n\r\nhello\r\n"
		return c.SendMail(from, []string{"support@example.test"}, strings.NewReader(msg))
	}
	err := send("ceo@reject.test")
	if code, _ := smtpCode(err); code != 550 || !strings.Contains(err.Error(), "DMARC policy of reject.test rejects") {
		t.Errorf("p=reject failure: %v, want 550 naming the DMARC policy", err)
	}
	if err := send("billing@quar.test"); err != nil {
		t.Fatalf("p=quarantine failure refused: %v", err)
	}
	if err := send("friend@good.test"); err != nil {
		t.Fatalf("DMARC pass refused: %v", err)
	}
	sessions, _ := r.ListSessions(router.SessionFilter{})
	if len(sessions) != 2 {
		t.Fatalf("%d sessions, want 2 (the rejected one made none)", len(sessions))
	}
	for _, s := range sessions {
		rep, _ := r.Report(s.ID)
		var raw []byte
		r.View(func(rd store.Reader) error {
			msgs, _ := rd.SessionMessages(s.ID)
			raw, _ = rd.Blob(msgs[0].Blob)
			return nil
		})
		head := string(raw[:strings.Index(string(raw), "\r\n\r\n")])
		if n := strings.Count(head, "Authentication-Results: mx.example.test"); n != 1 {
			t.Errorf("%s: %d Authentication-Results of ours, want exactly 1 (the forged one removed):\n%s", s.Customer, n, head)
		}
		switch s.Customer {
		case "billing@quar.test":
			if !s.Spam || !strings.Contains(head, "dmarc=fail") || !slices.Contains(rep.Messages[0].Folders, "Queues/Support/Spam") {
				t.Errorf("quarantine: spam %v, folders %v\n%s", s.Spam, rep.Messages[0].Folders, head)
			}
		case "friend@good.test":
			if s.Spam || !strings.Contains(head, "dmarc=pass") || !strings.Contains(head, "spf=pass") {
				t.Errorf("pass: spam %v\n%s", s.Spam, head)
			}
		}
	}
}

// startAuthMX serves an MX for r on loopback that checks SPF, DKIM and
// DMARC through resolver and enforces DMARC reject and quarantine, and
// returns its address.
func startAuthMX(t *testing.T, r *router.Router, resolver string) string {
	t.Helper()
	srv := smtpserver.New(r, smtpserver.Options{
		Hostname: "mx.example.test", MaxMessageBytes: 1 << 20, MaxRecipients: 10, MaxLineLength: 2000,
		ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second,
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		Auth:        msgauth.New(msgauth.Options{Resolver: resolver, Timeout: 2 * time.Second, Hostname: "mx.example.test"}),
		DMARCReject: true, DMARCQuarantine: true,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}
