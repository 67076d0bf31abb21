package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/emersion/go-message"

	"mxdesk/config"
	"mxdesk/gateway"
	"mxdesk/store"
	"mxdesk/testutil"
)

// ratingDesk is gestureDesk with Support asking for a rating under the
// public address https://desk.example.test.
func ratingDesk(t *testing.T) (*gateway.Gateway, *sink) {
	t.Helper()
	snk := startSink(t)
	cfg := testutil.Config(t, `[delivery]
smarthost = "`+snk.addr+`"
smarthost_tls = "none"
`)
	cfg.Listen.Submission = "127.0.0.1:0"
	q := cfg.QueueByName("Support")
	q.Signature = "@{agent}\nSupport team"
	q.Rating = config.Rating{Enabled: true, Title: "Rate our service", Scale: 5, Thanks: "Thank you, we read every rating.", BaseURL: "https://desk.example.test"}
	return startGatewayCfg(t, cfg), snk
}

// deliveredRaw waits for the message msgID at the smarthost and returns it.
func deliveredRaw(t *testing.T, snk *sink, msgID string) string {
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

// textParts decodes the text/plain and text/html parts of raw.
func textParts(t *testing.T, raw string) (plain, html string) {
	t.Helper()
	e, err := message.Read(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	e.Walk(func(_ []int, p *message.Entity, err error) error {
		if err != nil {
			return err
		}
		switch mt, _, _ := p.Header.ContentType(); mt {
		case "text/plain":
			b, _ := io.ReadAll(p.Body)
			plain = string(b)
		case "text/html":
			b, _ := io.ReadAll(p.Body)
			html = string(b)
		}
		return nil
	})
	return plain, html
}

var ratingLinkPattern = regexp.MustCompile(`https://desk\.example\.test/rate/[^\s"<]+`)

// onDesk points a public rating link at the running gateway's [listen] http.
func onDesk(t *testing.T, g *gateway.Gateway, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	u.Scheme, u.Host = "http", g.Addr("http")
	return u.String()
}

// ratingReply has carla write, alice answer in Thunderbird's HTML shape,
// and returns the session and the links of the reply's text and HTML
// parts as carla receives it.
func ratingReply(t *testing.T, g *gateway.Gateway, snk *sink) (session string, plainLinks, htmlLinks []string, plain, html string) {
	t.Helper()
	s := customerWrites(t, g, "support@example.test", carlaWrites)
	if _, err := submitAs(t, g, "alice@example.test", []string{"carla@customer.test", "dave@customer.test"}, crlf(thunderbirdReplyAll)); err != nil {
		t.Fatal(err)
	}
	plain, html = textParts(t, deliveredRaw(t, snk, "4b8e2f4c-1d3a-4f55-9a6e-3c2f1e7d9b10@example.test"))
	return s.ID, ratingLinkPattern.FindAllString(plain, -1), ratingLinkPattern.FindAllString(html, -1), plain, html
}

// rate sends method to a rating link and returns the status and page.
func rate(t *testing.T, method, link string) (int, string) {
	t.Helper()
	resp, body := httpDo(t, method, link, "")
	return resp.StatusCode, string(body)
}

// TestRatingLinksRecordThroughHTTP: an agent's reply in a queue with
// [queue.rating] carries, after the signature, one link per score in its
// text and its HTML part. GET shows the confirmation and records
// nothing (mail scanners fetch links); POST records the rating with the
// session's agent, files the rated event, counts the metric; a second
// rating replaces the first. A link changed to another session or score,
// or with a bad signature, is refused and records nothing. The
// supervisor view shows CSAT per queue and agent.
func TestRatingLinksRecordThroughHTTP(t *testing.T) {
	g, snk := ratingDesk(t)
	id, plainLinks, htmlLinks, plain, html := ratingReply(t, g, snk)
	if len(plainLinks) != 5 || len(htmlLinks) != 5 || plainLinks[3] != htmlLinks[3] {
		t.Fatalf("rating links: text %v, html %v; want 5 in each, the same\n%s\n%s", plainLinks, htmlLinks, plain, html)
	}
	if sig, rate := strings.Index(plain, "-- \r\nAlice"), strings.Index(plain, "Rate our service"); sig < 0 || rate < sig {
		t.Errorf("text part: the rating (at %d) is not after the signature (at %d):\n%s", rate, sig, plain)
	}
	if sig, rate := strings.Index(html, "moz-signature"), strings.Index(html, `class="mxdesk-rating"`); sig < 0 || rate < sig || !strings.Contains(html[rate:], "</body>") {
		t.Errorf("html part: the rating (at %d) is not after the signature (at %d) inside the body:\n%s", rate, sig, html)
	}

	four := onDesk(t, g, plainLinks[3])
	if code, body := rate(t, http.MethodGet, four); code != 200 || !strings.Contains(body, `<form method="post"`) || !strings.Contains(body, "4 of 5") {
		t.Fatalf("GET: %d\n%s", code, body)
	}
	if s := session(t, g, id); s.Rating != nil || len(sessionEvents(t, g, id, "rated")) != 0 {
		t.Fatalf("a GET recorded a rating: %+v", s.Rating)
	}
	if code, body := rate(t, http.MethodPost, four); code != 200 || !strings.Contains(body, "Thank you, we read every rating.") {
		t.Fatalf("POST: %d\n%s", code, body)
	}
	if r := session(t, g, id).Rating; r == nil || r.Score != 4 || r.Scale != 5 || r.Agent != "alice@example.test" || r.Queue != "Support" {
		t.Fatalf("rating after POST: %+v", r)
	}
	two := onDesk(t, g, htmlLinks[1])
	if code, _ := rate(t, http.MethodPost, two); code != 200 {
		t.Fatalf("second POST: %d", code)
	}
	if r := session(t, g, id).Rating; r == nil || r.Score != 2 {
		t.Fatalf("the second rating did not replace the first: %+v", r)
	}

	other := customerWrites(t, g, "support@example.test", strings.ReplaceAll(carlaWrites, "c1@customer.test", "c9@customer.test"))
	forged := map[string]string{
		"other session": strings.Replace(two, "/rate/"+id+"/", "/rate/"+other.ID+"/", 1),
		"other score":   strings.Replace(two, "/2?sig=", "/5?sig=", 1),
		"bad signature": strings.Replace(two, "sig=", "sig=A", 1),
		"no signature":  strings.Split(two, "?")[0],
	}
	for name, link := range forged {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			if code, body := rate(t, method, link); code != http.StatusForbidden || !strings.Contains(body, "not valid") {
				t.Errorf("%s %s: %d, want 403\n%s", name, method, code, body)
			}
		}
	}
	if code, _ := rate(t, http.MethodPost, onDesk(t, g, "https://desk.example.test/rate/"+id+"/x")); code != http.StatusNotFound {
		t.Errorf("a malformed score: %d, want 404", code)
	}
	if r, o := session(t, g, id).Rating, session(t, g, other.ID).Rating; r.Score != 2 || o != nil || len(sessionEvents(t, g, id, "rated")) != 2 {
		t.Errorf("after the forged links: rating %+v, other session's %+v, %d rated events (want 2)", r, o, len(sessionEvents(t, g, id, "rated")))
	}

	m := scrapeMetrics(t, g)
	if four, two := m.value("mxdesk_ratings_total", "queue", "Support", "score", "4"), m.value("mxdesk_ratings_total", "queue", "Support", "score", "2"); four != 1 || two != 1 {
		t.Errorf("mxdesk_ratings_total: score 4 %v, score 2 %v; want 1 and 1", four, two)
	}
	v := supervisorView(t, g)
	if q := v.Queues[0]; q.Name != "Support" || q.Ratings != 1 || q.CSAT != 0 {
		t.Errorf("Support's CSAT: %+v, want 1 rating, 0%% satisfied", q)
	}
	if a := v.Agents[0]; a.Login != "alice@example.test" || a.Ratings != 1 {
		t.Errorf("alice's CSAT: %+v, want 1 rating", a)
	}
	rate(t, http.MethodPost, four) // 4 of 5 is satisfied
	v = supervisorView(t, g)
	if q, a := v.Queues[0], v.Agents[0]; q.Ratings != 1 || q.CSAT != 100 || a.CSAT != 100 {
		t.Errorf("after a 4 of 5: Support %+v, alice %+v; want 1 rating, 100%%", q, a)
	}
}

// supervisorView reads /supervisor/snapshot as carol.
func supervisorView(t *testing.T, g *gateway.Gateway) gateway.SupervisorView {
	t.Helper()
	resp := supervisorGet(t, t.Context(), g, "/supervisor/snapshot", "carol@example.test", testutil.Password)
	defer resp.Body.Close()
	var v gateway.SupervisorView
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestRatingPageInBrowser: a customer opens a rating link in a real
// browser, with JavaScript off, clicks the button and reads the thanks.
func TestRatingPageInBrowser(t *testing.T) {
	exe := chromium(t)
	g, snk := ratingDesk(t)
	id, links, _, _, _ := ratingReply(t, g, snk)
	if len(links) != 5 {
		t.Fatalf("links %v", links)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("blink-settings", "scriptEnabled=false"))
	actx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}
	ctx, cancel := context.WithTimeout(bctx, 60*time.Second)
	defer cancel()
	err := chromedp.Do(ctx,
		chromedp.Navigate(onDesk(t, g, links[4])),
		chromedp.WaitVisible(chromedp.CSS(`#rate`)),
		chromedp.Click(chromedp.CSS(`#rate`)),
		chromedp.WaitVisible(chromedp.CSS(`#thanks`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	thanks, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#thanks`)))
	if err != nil {
		t.Fatal(err)
	}
	if thanks != "Thank you, we read every rating." {
		t.Errorf("thank-you page says %q", thanks)
	}
	if r := session(t, g, id).Rating; r == nil || r.Score != 5 {
		t.Errorf("rating after the click: %+v, want 5", r)
	}
}

// storedText is the decoded text/plain part of the message msgID as the
// store keeps it in its session.
func storedText(t *testing.T, g *gateway.Gateway, session, msgID string) string {
	t.Helper()
	var plain string
	g.Router().View(func(rd store.Reader) error {
		msgs, err := rd.SessionMessages(session)
		for _, m := range msgs {
			raw, _ := rd.Blob(m.Blob)
			if strings.Trim(header(t, string(raw)).Get("Message-Id"), "<>") == msgID {
				plain, _ = textParts(t, string(raw))
			}
		}
		return err
	})
	return plain
}

// TestRatingReachesTheCRM: with the CRM feed on, a rating is posted to
// the session's ticket as ticket.rated.
func TestRatingReachesTheCRM(t *testing.T) {
	c := testutil.StartCRM(t)
	cfg := testutil.Config(t, c.TOML(""))
	cfg.Listen.Submission = "127.0.0.1:0"
	cfg.QueueByName("Support").Rating = config.Rating{Enabled: true, Title: "Rate our service", Scale: 5, Thanks: "Thanks.", BaseURL: "https://desk.example.test"}
	g := startGatewayCfg(t, cfg)
	s := customerWrites(t, g, "support@example.test", carlaWrites)
	if _, err := submitAs(t, g, "alice@example.test", []string{"carla@customer.test"}, crlf(thunderbirdReplyAll)); err != nil {
		t.Fatal(err)
	}
	links := ratingLinkPattern.FindAllString(storedText(t, g, s.ID, "4b8e2f4c-1d3a-4f55-9a6e-3c2f1e7d9b10@example.test"), -1)
	if len(links) != 5 {
		t.Fatalf("rating links in the stored reply: %v", links)
	}
	if code, _ := rate(t, http.MethodPost, onDesk(t, g, links[3])); code != 200 {
		t.Fatalf("POST: %d", code)
	}
	var rated testutil.CRMEvent
	c.WaitFor(t, 20*time.Second, "ticket.rated", func(ev []testutil.CRMEvent) bool {
		for _, e := range ev {
			if e.Type == "ticket.rated" {
				rated = e
				return true
			}
		}
		return false
	})
	if rated.Session() != s.ID || rated.Data["score"] != 4.0 || rated.Data["scale"] != 5.0 || rated.Str("agent") != "alice@example.test" || rated.Str("queue") != "Support" || rated.Str("ticket_id") == "" {
		t.Errorf("ticket.rated: %+v", rated.Data)
	}
}
