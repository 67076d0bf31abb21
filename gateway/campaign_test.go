package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
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
	"mxdesk/store"
	"mxdesk/testutil"
)

// campaignSink is a smarthost that keeps every message by recipient and
// counts what each recipient got.
type campaignSink struct {
	addr string
	mu   sync.Mutex
	got  map[string][]string // recipient -> messages
}

func startCampaignSink(t *testing.T) *campaignSink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &campaignSink{addr: ln.Addr().String(), got: map[string][]string{}}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &campaignSinkSession{s: s}, nil }))
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

// counts returns how many recipients got a message and the most any got.
func (s *campaignSink) counts() (rcpts, most int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, msgs := range s.got {
		most = max(most, len(msgs))
	}
	return len(s.got), most
}

func (s *campaignSink) message(rcpt string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.got[rcpt]; len(m) > 0 {
		return m[0]
	}
	return ""
}

type campaignSinkSession struct {
	s     *campaignSink
	rcpts []string
}

func (*campaignSinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (ss *campaignSinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if strings.HasPrefix(to, "nobody") {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	ss.rcpts = append(ss.rcpts, to)
	return nil
}
func (ss *campaignSinkSession) Reset()     { ss.rcpts = nil }
func (*campaignSinkSession) Logout() error { return nil }
func (ss *campaignSinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	for _, rc := range ss.rcpts {
		ss.s.got[rc] = append(ss.s.got[rc], string(b))
	}
	return nil
}

// campaignConfig is testutil.Config with the delivery going to sink, the
// campaign keys and a welcome template.
func campaignConfig(t *testing.T, sink string) *config.Config {
	t.Helper()
	return campaignConfigWith(t, sink, "")
}

// campaignConfigWith is campaignConfig with more tables.
func campaignConfigWith(t *testing.T, sink, extra string) *config.Config {
	t.Helper()
	secret := campaignSecretFile(t)
	return testutil.Config(t, extra+fmt.Sprintf(`
[delivery]
smarthost = %q
smarthost_tls = "none"
concurrency = 16

[campaign]
link_base_url = "https://desk.example.test"
secret_file = %q

[[template]]
name = "welcome"
subject = "Welcome ${name}"
body = "Hello ${name}, welcome to ${plan}."
`, sink, secret))
}

// campaignSecretFile writes a campaign.secret_file and returns its path.
func campaignSecretFile(t *testing.T) string {
	t.Helper()
	secret := filepath.Join(t.TempDir(), "campaign.secret")
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	if err := os.WriteFile(secret, []byte("whsec_"+key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return secret
}

// campaignList is a list of n rows: c1@customer.test ... cN@customer.test.
func campaignList(n int) string {
	var b strings.Builder
	b.WriteString("email,name,plan\r\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "c%d@customer.test,Customer %d,Gold\r\n", i, i)
	}
	return b.String()
}

// adminSend sends method path with body on the admin socket.
func adminSend(t *testing.T, sock, method, path, body string) (int, []byte) {
	t.Helper()
	hc := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
	req, err := http.NewRequest(method, "http://mxdesk"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/csv")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// createCampaign creates a campaign of the welcome template in Support
// over the admin socket.
func createCampaign(t *testing.T, g *gateway.Gateway, window, rate, list string) gateway.AdminCampaign {
	t.Helper()
	q := url.Values{"queue": {"Support"}, "template": {"welcome"}, "window": {window}, "rate": {rate}}
	status, body := adminSend(t, gateway.AdminSocket(g.Router().Config()), "POST", "/v1/campaigns?"+q.Encode(), list)
	var c gateway.AdminCampaign
	if status != http.StatusCreated || json.Unmarshal(body, &c) != nil {
		t.Fatalf("create: %d %s", status, body)
	}
	return c
}

func campaignCounts(t *testing.T, g *gateway.Gateway, id uint64) map[string]int {
	t.Helper()
	var c store.Campaign
	err := g.Router().View(func(rd store.Reader) (err error) {
		c, err = rd.Campaign(id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return c.Counts
}

// moveAndLook advances clock by d and waits for a look of the campaign
// sender that began after it.
func moveAndLook(t *testing.T, g *gateway.Gateway, clock *testutil.Clock, d time.Duration) {
	t.Helper()
	clock.Advance(d)
	p := g.CampaignPasses()
	g.KickCampaigns()
	waitFor(t, "a look of the campaign sender", func() bool {
		if g.CampaignPasses() < p+2 {
			g.KickCampaigns()
			return false
		}
		return true
	}, g)
}

// TestCampaignWindowAndRate sends a 1,000-row campaign with window
// "Mon-Fri 13:00-18:00" at 100/s on the injected clock: nothing before
// 13:00, a hundred messages per second of the clock, nothing from 18:00
// until the next day's 13:00, then the rest; each recipient gets exactly one
// message in the sink, each message a session of its own.
func TestCampaignWindowAndRate(t *testing.T) {
	sink := startCampaignSink(t)
	clock := testutil.NewClock() // Monday 2026-03-02 09:00 UTC
	g := startGatewayClock(t, campaignConfig(t, sink.addr), clock)
	c := createCampaign(t, g, "Mon-Fri 13:00-18:00", "100/s", campaignList(1000))
	if c.Rows != 1000 || c.State != store.CampaignRunning || c.Counts["queued"] != 1000 {
		t.Fatalf("created: %+v", c)
	}
	sent := func(want int) {
		t.Helper()
		waitFor(t, fmt.Sprintf("%d sent", want), func() bool { return campaignCounts(t, g, c.ID)["sent"] >= want }, g)
		if got := campaignCounts(t, g, c.ID)["sent"]; got != want {
			t.Fatalf("at %s: %d sent, want %d", clock.Now().Format("Mon 15:04:05.0"), got, want)
		}
	}
	moveAndLook(t, g, clock, 0)
	if n := campaignCounts(t, g, c.ID)["sent"]; n != 0 {
		t.Fatalf("%d sent at 09:00, before the window opens", n)
	}
	moveAndLook(t, g, clock, 8*time.Hour+59*time.Minute+58*time.Second) // 17:59:58
	sent(1)
	moveAndLook(t, g, clock, time.Second) // 17:59:59
	sent(101)
	moveAndLook(t, g, clock, time.Second) // 18:00:00: closed; 17:59:59.01 to .99 never went
	sent(101)
	moveAndLook(t, g, clock, 12*time.Hour) // Tuesday 06:00
	sent(101)
	moveAndLook(t, g, clock, 7*time.Hour) // Tuesday 13:00:00: afresh, no burst of the slots missed
	sent(102)
	for i := 1; i <= 8; i++ { // 13:00:01 ... 13:00:08
		moveAndLook(t, g, clock, time.Second)
		sent(102 + 100*i)
	}
	moveAndLook(t, g, clock, 970*time.Millisecond) // 13:00:08.97
	sent(999)
	moveAndLook(t, g, clock, time.Second) // 13:00:09.97: the last one
	sent(1000)
	waitFor(t, "the campaign done", func() bool {
		var cur store.Campaign
		g.Router().View(func(rd store.Reader) (err error) { cur, err = rd.Campaign(c.ID); return err })
		return cur.State == store.CampaignDone
	}, g)
	waitFor(t, "1000 recipients in the sink", func() bool { n, _ := sink.counts(); return n == 1000 }, g)
	if n, most := sink.counts(); n != 1000 || most != 1 {
		t.Errorf("sink: %d recipients, at most %d messages each", n, most)
	}
	sessions := map[string]bool{}
	g.Router().View(func(rd store.Reader) error {
		rows, err := rd.CampaignRecipients(c.ID, 0, 0)
		for _, r := range rows {
			sessions[r.Session] = true
		}
		return err
	})
	if len(sessions) != 1000 {
		t.Errorf("%d sessions for 1000 rows", len(sessions))
	}
	msg := sink.message("c17@customer.test")
	h, err := textproto.ReadHeader(bufio.NewReader(strings.NewReader(msg)))
	if err != nil {
		t.Fatal(err)
	}
	if h.Get("Subject") != "Welcome Customer 17" || !strings.Contains(msg, "Hello Customer 17, welcome to Gold.") {
		t.Errorf("message to c17:\n%s", msg)
	}
}

// TestCampaignUnsubscribeReplyAndSuppression: the one-click link of a
// campaign message works over real HTTP (GET shows a button, POST
// unsubscribes, a changed link is refused), a customer's reply threads
// into the campaign's session where the queue's agent sees it over IMAP,
// and a later campaign skips the unsubscribed address.
func TestCampaignUnsubscribeReplyAndSuppression(t *testing.T) {
	sink := startCampaignSink(t)
	clock := testutil.NewClock()
	g := startGatewayClock(t, campaignConfig(t, sink.addr), clock)
	c := createCampaign(t, g, "Mon-Sun 00:00-24:00", "1000/s", "email,name,plan\nann@customer.test,Ann,Gold\nbob@customer.test,Bob,Silver\n")
	moveAndLook(t, g, clock, 0) // the first at once, the second a slot later
	moveAndLook(t, g, clock, time.Second)
	waitFor(t, "both messages in the sink", func() bool { n, _ := sink.counts(); return n == 2 }, g)

	ann, _ := textproto.ReadHeader(bufio.NewReader(strings.NewReader(sink.message("ann@customer.test"))))
	link := unsubscribeLink(t, ann.Get("List-Unsubscribe"))
	base := "http://" + g.Addr("http")
	status, page := formDo(t, "GET", base+link.Path, "")
	if status != http.StatusOK || !strings.Contains(page, `<form method="post">`) {
		t.Fatalf("GET the link: %d\n%s", status, page)
	}
	if n := campaignCounts(t, g, c.ID)["unsubscribed"]; n != 0 {
		t.Fatalf("GET unsubscribed (%d): a link scanner would unsubscribe people", n)
	}
	if status, _ := formDo(t, "POST", base+link.Path+"x", "List-Unsubscribe=One-Click"); status != http.StatusForbidden {
		t.Errorf("POST a changed link: %d, want 403", status)
	}
	status, page = formDo(t, "POST", base+link.Path, "List-Unsubscribe=One-Click")
	if status != http.StatusOK || !strings.Contains(page, "ann@customer.test will receive no more") {
		t.Fatalf("POST the link: %d\n%s", status, page)
	}
	if n := campaignCounts(t, g, c.ID)["unsubscribed"]; n != 1 {
		t.Errorf("%d unsubscribed, want 1", n)
	}

	bob, _ := textproto.ReadHeader(bufio.NewReader(strings.NewReader(sink.message("bob@customer.test"))))
	reply := "From: Bob <bob@customer.test>\r\nTo: " + bob.Get("Reply-To") + "\r\nSubject: Re: Welcome Bob\r\n" +
		"Message-ID: <bob-reply@customer.test>\r\nIn-Reply-To: " + bob.Get("Message-Id") + "\r\nReferences: " + bob.Get("Message-Id") + "\r\n\r\nYes, call me.\r\n"
	mx, err := smtp.Dial(g.Addr("smtp"))
	if err != nil {
		t.Fatal(err)
	}
	defer mx.Close()
	if err := mx.SendMail("bob@customer.test", []string{bob.Get("Reply-To")}, strings.NewReader(reply)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reply counted", func() bool { return campaignCounts(t, g, c.ID)["replied"] == 1 }, g)
	var folder string
	g.Router().View(func(rd store.Reader) error {
		id, err := rd.SessionByMessageID("bob-reply@customer.test")
		if err != nil || id != bob.Get("X-Mxdesk-Session") {
			t.Errorf("the reply is in session %q (%v), the campaign's is %s", id, err, bob.Get("X-Mxdesk-Session"))
		}
		ms, _ := rd.SessionMessages(id)
		for _, m := range ms {
			mb, _ := rd.Mailbox(m.Mailbox)
			if mb.Owner == "alice@example.test" || strings.HasPrefix(mb.Name, "Queues/") {
				folder = mb.Name
			}
		}
		return nil
	})
	imapc := loginIMAP(t, g.Addr("imap"), "alice@example.test")
	if raw := fetchRaw(t, imapc, folder, "bob-reply@customer.test"); !bytes.Contains(raw, []byte("Yes, call me.")) {
		t.Errorf("alice's %s:\n%s", folder, raw)
	}

	c2 := createCampaign(t, g, "Mon-Sun 00:00-24:00", "1000/s", "email,name,plan\nAnn@customer.test,Ann,Gold\ncid@customer.test,Cid,Gold\n")
	moveAndLook(t, g, clock, 0)
	moveAndLook(t, g, clock, time.Second)
	waitFor(t, "the second campaign sent", func() bool { return campaignCounts(t, g, c2.ID)["queued"] == 0 }, g)
	if got := campaignCounts(t, g, c2.ID); got["suppressed"] != 1 || got["sent"] != 1 {
		t.Errorf("second campaign: %v, want Ann suppressed and Cid sent", got)
	}
}

// TestCampaignBadListByLine: a list with bad rows is refused with 422
// naming each by line, and nothing of it is stored.
func TestCampaignBadListByLine(t *testing.T) {
	g := startGatewayCfg(t, campaignConfig(t, "127.0.0.1:1"))
	sock := gateway.AdminSocket(g.Router().Config())
	q := url.Values{"queue": {"Support"}, "template": {"welcome"}, "window": {"Mon-Fri 13:00-18:00"}, "rate": {"10/s"}}
	list := campaignList(600) + "bad,Bad,Gold\r\nc5@customer.test,Again,Gold\r\n"
	status, body := adminSend(t, sock, "POST", "/v1/campaigns?"+q.Encode(), list)
	var e gateway.AdminListError
	if status != http.StatusUnprocessableEntity || json.Unmarshal(body, &e) != nil {
		t.Fatalf("%d %s", status, body)
	}
	want := []string{`line 602: email "bad" is not an address (want name@domain)`, "line 603: email c5@customer.test is already on line 6"}
	if strings.Join(e.Problems, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems %q, want %q", e.Problems, want)
	}
	g.Router().View(func(rd store.Reader) error {
		cs, _ := rd.Campaigns()
		rows, _ := rd.CampaignRecipients(1, 0, 0)
		if len(cs) != 0 || len(rows) != 0 {
			t.Errorf("stored: %d campaigns, %d rows", len(cs), len(rows))
		}
		return nil
	})
	q.Set("template", "nope")
	status, body = adminSend(t, sock, "POST", "/v1/campaigns?"+q.Encode(), campaignList(1))
	if status != http.StatusBadRequest || !strings.Contains(string(body), `--template \"nope\": no [[template]]`) {
		t.Errorf("unknown template: %d %s", status, body)
	}
	q.Set("template", "welcome")
	status, body = adminSend(t, sock, "POST", "/v1/campaigns?"+q.Encode(), "email,name\na@b.test,A\n")
	if status != http.StatusBadRequest || !strings.Contains(string(body), "${plan} in the template's body") {
		t.Errorf("unknown variable: %d %s", status, body)
	}
}

// unsubscribeLink is the https URL of a List-Unsubscribe header.
func unsubscribeLink(t *testing.T, header string) *url.URL {
	t.Helper()
	for _, part := range strings.Split(header, ",") {
		part = strings.Trim(strings.TrimSpace(part), "<>")
		if strings.HasPrefix(part, "https://desk.example.test/u/") {
			u, err := url.Parse(part)
			if err != nil {
				t.Fatal(err)
			}
			return u
		}
	}
	t.Fatalf("no unsubscribe URL in List-Unsubscribe %q", header)
	return nil
}

// formDo sends a form body (POST) or nothing (GET) to u.
func formDo(t *testing.T, method, u, form string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	if form != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestCampaignBouncePauseCancel: a permanent bounce marks the row bounced
// and suppresses the address; pause stops the sending until resume,
// cancel stops it for good; the metrics show each campaign's counts.
func TestCampaignBouncePauseCancel(t *testing.T) {
	sink := startCampaignSink(t)
	clock := testutil.NewClock()
	g := startGatewayClock(t, campaignConfig(t, sink.addr), clock)
	sock := gateway.AdminSocket(g.Router().Config())
	c := createCampaign(t, g, "Mon-Sun 00:00-24:00", "1/s", "email,name,plan\nnobody@customer.test,N,Gold\nann@customer.test,Ann,Gold\nbob@customer.test,Bob,Gold\n")
	moveAndLook(t, g, clock, 0)
	waitFor(t, "the bounce", func() bool { return campaignCounts(t, g, c.ID)["bounced"] == 1 }, g)
	g.Router().View(func(rd store.Reader) error {
		if sup, err := rd.Suppressed("nobody@customer.test"); err != nil || !strings.HasPrefix(sup.Reason, "bounced: ") {
			t.Errorf("suppression of the bounced address: %+v %v", sup, err)
		}
		return nil
	})

	if status, body := adminSend(t, sock, "POST", fmt.Sprintf("/v1/campaigns/%d/pause", c.ID), ""); status != http.StatusOK {
		t.Fatalf("pause: %d %s", status, body)
	}
	moveAndLook(t, g, clock, time.Minute)
	if n := campaignCounts(t, g, c.ID)["queued"]; n != 2 {
		t.Fatalf("paused, yet %d of 2 left queued", n)
	}
	if status, body := adminSend(t, sock, "POST", fmt.Sprintf("/v1/campaigns/%d/resume", c.ID), ""); status != http.StatusOK {
		t.Fatalf("resume: %d %s", status, body)
	}
	moveAndLook(t, g, clock, 0)
	if got := campaignCounts(t, g, c.ID); got["queued"] != 1 || got["sent"] != 1 {
		t.Fatalf("resumed at 1/s: %v, want one more sent", got)
	}
	status, body := adminSend(t, sock, "POST", fmt.Sprintf("/v1/campaigns/%d/cancel", c.ID), "")
	var ac gateway.AdminCampaign
	if status != http.StatusOK || json.Unmarshal(body, &ac) != nil || ac.State != store.CampaignCancelled || ac.Counts["cancelled"] != 1 {
		t.Fatalf("cancel: %d %s", status, body)
	}
	moveAndLook(t, g, clock, time.Minute)
	if n := campaignCounts(t, g, c.ID)["sent"]; n != 1 {
		t.Errorf("cancelled, yet %d sent", n)
	}
	if status, body := adminSend(t, sock, "POST", fmt.Sprintf("/v1/campaigns/%d/resume", c.ID), ""); status != http.StatusConflict {
		t.Errorf("resume a cancelled campaign: %d %s, want 409", status, body)
	}
	if status, _ := adminSend(t, sock, "GET", "/v1/campaigns/99", ""); status != http.StatusNotFound {
		t.Errorf("an unknown campaign: %d, want 404", status)
	}
	_, metrics := formDo(t, "GET", "http://"+g.Addr("http")+"/metrics", "")
	for _, want := range []string{
		fmt.Sprintf(`mxdesk_campaign_messages_total{campaign="%d",state="bounced"} 1`, c.ID),
		fmt.Sprintf(`mxdesk_campaign_messages_total{campaign="%d",state="cancelled"} 1`, c.ID),
		fmt.Sprintf(`mxdesk_campaign_messages_total{campaign="%d",state="sent"} 1`, c.ID),
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
