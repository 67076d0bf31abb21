package gateway_test

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-message/textproto"
	"github.com/emersion/go-smtp"

	"mxdesk/config"
	"mxdesk/gateway"
	"mxdesk/router"
	"mxdesk/store"
	"mxdesk/testutil"
)

// deskTOML is one mxdesk for domain DOMAIN whose queue Support
// (support@DOMAIN) auto-replies, delivering through SMARTHOST.
const deskTOML = `hostname = "mx.DOMAIN"
data_dir = DATA
[inbound]
resolver = "127.0.0.1:1"   # nothing answers: DNS checks fail fast, never reach the network
[listen]
smtp = "127.0.0.1:0"
submission = ""
imap = ""
http = "127.0.0.1:0"
[delivery]
smarthost = "SMARTHOST"
smarthost_tls = "none"
[[domain]]
name = "DOMAIN"
dkim_selector = "s1"
dkim_key = KEY
[[queue]]
name = "Support"
addresses = ["support@DOMAIN"]
[queue.auto_reply]
enabled = true
body = "Hello @{consumer}, your ticket is @{ticket_id}."
`

// startDesk starts a gateway for domain that delivers through smarthost.
func startDesk(t *testing.T, domain, smarthost string) *gateway.Gateway {
	t.Helper()
	dir := t.TempDir()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	keyFile := filepath.Join(dir, "dkim.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := strings.NewReplacer("DOMAIN", domain, "SMARTHOST", smarthost, "DATA", fmt.Sprintf("%q", dir), "KEY", fmt.Sprintf("%q", keyFile)).Replace(deskTOML)
	cfg, err := config.Parse([]byte(doc), "desk.toml")
	if err != nil {
		t.Fatal(err)
	}
	g := startGatewayCfg(t, cfg)
	return g
}

// sendMX sends raw to rcpt through the MX of g.
func sendRawMX(t testing.TB, g *gateway.Gateway, from, rcpt, raw string) {
	t.Helper()
	c, err := smtp.Dial(g.Addr("smtp"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SendMail(from, []string{rcpt}, strings.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	c.Quit()
}

// The auto-reply leaves through the real delivery worker, signed, with
// the headers of SPEC §8.
func TestAutoReplyIsDelivered(t *testing.T) {
	sink := startSink(t)
	g := startDesk(t, "desk.test", sink.addr)
	sendRawMX(t, g, "carla@customer.test", "support@desk.test",
		"From: Carla Rossi <carla@customer.test>\r\nTo: support@desk.test\r\nSubject: Broken printer\r\nMessage-ID: <c1@customer.test>\r\n\r\nhelp\r\n")
	var got string
	select {
	case got = <-sink.got:
	case <-time.After(30 * time.Second):
		t.Fatal("no auto-reply reached the smarthost")
	}
	h, err := textproto.ReadHeader(bufio.NewReader(strings.NewReader(got)))
	if err != nil {
		t.Fatal(err)
	}
	var s store.Session
	g.Router().View(func(rd store.Reader) error {
		id, err := rd.SessionByMessageID("c1@customer.test")
		if err == nil {
			s, err = rd.Session(id)
		}
		return err
	})
	for k, want := range map[string]string{
		"From":           `"Support" <support@desk.test>`,
		"Subject":        "RE: Broken printer",
		"Auto-Submitted": "auto-replied",
		"In-Reply-To":    "<c1@customer.test>",
		"Reply-To":       "support+" + s.Token + "@desk.test",
	} {
		if h.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, h.Get(k), want)
		}
	}
	if !strings.Contains(h.Get("Dkim-Signature"), "d=desk.test") {
		t.Errorf("not DKIM-signed: %q", h.Get("Dkim-Signature"))
	}
	if !strings.Contains(got, "Hello Carla, your ticket is "+s.ID+".") {
		t.Errorf("body:\n%s", got)
	}
}

// proxy forwards every connection to the address set later with to: it
// lets two gateways deliver to each other's MX, whose ports are known
// only once both started.
type proxy struct {
	ln   net.Listener
	mu   sync.Mutex
	addr string
	wg   sync.WaitGroup
}

func startProxy(t *testing.T) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.forward(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.wg.Wait()
	})
	return p
}

func (p *proxy) to(addr string) {
	p.mu.Lock()
	p.addr = addr
	p.mu.Unlock()
}

func (p *proxy) forward(c net.Conn) {
	defer c.Close()
	p.mu.Lock()
	addr := p.addr
	p.mu.Unlock()
	u, err := net.Dial("tcp", addr)
	if err != nil {
		return
	}
	defer u.Close()
	done := make(chan struct{})
	go func() {
		io.Copy(u, c)
		u.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	io.Copy(c, u)
	c.(*net.TCPConn).CloseWrite()
	<-done
}

// waitFor re-checks cond after every commit of either gateway and on a
// short tick (the delivery counters change without a commit) until it
// holds, for at most 30 seconds.
func waitFor(t *testing.T, what string, cond func() bool, gs ...*gateway.Gateway) {
	t.Helper()
	rs := make([]*router.Router, len(gs))
	for i, g := range gs {
		rs[i] = g.Router()
	}
	testutil.WaitFor(t, what, cond, rs...)
}

// events lists every event of every session of g, "kind: detail".
func events(t *testing.T, g *gateway.Gateway) (sessions int, out []string) {
	t.Helper()
	err := g.Router().View(func(rd store.Reader) error {
		return rd.EachSession(func(s store.Session) error {
			sessions++
			evs, err := rd.Events(s.ID)
			for _, e := range evs {
				out = append(out, e.Kind+": "+e.Detail)
			}
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return sessions, out
}

func count(list []string, prefix string) int {
	n := 0
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			n++
		}
	}
	return n
}

// Two mxdesks with auto-replies on, each the other's customer: one
// message starts them, and they stop after one auto-reply, because the
// other side never answers automatic mail (SPEC §8: no mail loops).
func TestAutoRepliersFacingEachOtherDoNotLoop(t *testing.T) {
	pa, pb := startProxy(t), startProxy(t)
	a := startDesk(t, "a.test", pa.ln.Addr().String())
	b := startDesk(t, "b.test", pb.ln.Addr().String())
	pa.to(b.Addr("smtp")) // A delivers to B's MX
	pb.to(a.Addr("smtp")) // and B to A's

	// B's queue writes to A's queue (as its agents' customer would).
	sendRawMX(t, a, "support@b.test", "support@a.test",
		"From: Support B <support@b.test>\r\nTo: support@a.test\r\nSubject: Order 42\r\nMessage-ID: <start@b.test>\r\n\r\nwhere is it?\r\n")

	// A auto-replies; B files the auto-reply and does not answer it.
	waitFor(t, "B to receive A's auto-reply", func() bool {
		_, evs := events(t, b)
		return count(evs, "auto-reply-skipped: auto-submitted") == 1
	}, a, b)
	waitFor(t, "both outbound queues to drain", func() bool {
		sa, _ := a.Delivery().Stats()
		sb, _ := b.Delivery().Stats()
		return sa.Queued == 0 && sb.Queued == 0 && sa.Delivered == 1
	}, a, b)

	na, evA := events(t, a)
	nb, evB := events(t, b)
	if na != 1 || count(evA, "auto-replied") != 1 || count(evA, "received") != 1 {
		t.Errorf("A: %d sessions, events %q", na, evA)
	}
	if nb != 1 || count(evB, "auto-replied") != 0 || count(evB, "received") != 1 {
		t.Errorf("B: %d sessions, events %q", nb, evB)
	}
	sa, _ := a.Delivery().Stats()
	sb, _ := b.Delivery().Stats()
	if sa.Delivered != 1 || sb.Delivered != 0 || sa.Attempts != 1 || sb.Attempts != 0 {
		t.Errorf("deliveries: A %+v, B %+v", sa, sb)
	}

	// Even a responder that ignored Auto-Submitted would be stopped by
	// the interval: the same sender gets one auto-reply per day.
	sendRawMX(t, a, "support@b.test", "support@a.test",
		"From: Support B <support@b.test>\r\nTo: support@a.test\r\nSubject: Order 43\r\nMessage-ID: <again@b.test>\r\n\r\nand this?\r\n")
	waitFor(t, "A to skip the second message", func() bool {
		_, evs := events(t, a)
		return count(evs, "auto-reply-skipped: interval") == 1
	}, a)

	// Operators see the same in the metrics.
	ma, mb := scrapeMetrics(t, a), scrapeMetrics(t, b)
	for _, c := range []struct {
		m      scrape
		result string
		want   float64
	}{{ma, "sent", 1}, {ma, "interval", 1}, {mb, "auto_submitted", 1}, {mb, "sent", 0}} {
		if got := c.m.value("mxdesk_autoreplies_total", "queue", "Support", "result", c.result); got != c.want {
			t.Errorf("mxdesk_autoreplies_total{result=%q} = %v, want %v", c.result, got, c.want)
		}
	}
}
