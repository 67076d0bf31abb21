package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"mxdesk/api"
	"mxdesk/gateway"
	"mxdesk/router"
	"mxdesk/store"
	"mxdesk/testutil"
)

// requestsQueue adds the auto-assigning queue Requests (requests@),
// served by dora whether or not she is logged in.
const requestsQueue = `
[[queue]]
name = "Requests"
addresses = ["requests@example.test"]
auto_assign = true
logged_in_only = false
[[agent]]
login = "dora@example.test"
name = "Dora Lind"
password_hash = %q
queues = ["Requests"]
`

// apiDesk starts a gateway with the Requests queue and submission, on
// clock (nil: the real one).
func apiDesk(t testing.TB, clock *testutil.Clock, extra string) *gateway.Gateway {
	t.Helper()
	cfg := testutil.Config(t, fmt.Sprintf(requestsQueue, testutil.PasswordHash())+extra)
	cfg.Listen.Submission = "127.0.0.1:0"
	return startGatewayClock(t, cfg, clock)
}

// apiClient calls the public API of a gateway with one token.
type apiClient struct {
	t     testing.TB
	base  string
	token string
}

// newAPIClient makes a token with role and a client using it.
func newAPIClient(t testing.TB, g *gateway.Gateway, name, role string) apiClient {
	t.Helper()
	secret, _, err := g.Router().CreateAPIToken(context.Background(), name, role, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return apiClient{t: t, base: "http://" + g.Addr("http"), token: secret}
}

// do sends one request (body: JSON-encoded unless a string or nil).
func (c apiClient) do(method, path string, body any) (*http.Response, []byte) {
	c.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp, data
}

// call sends a request that must answer want, and decodes the JSON answer
// into out (if not nil).
func (c apiClient) call(method, path string, body any, want int, out any) *http.Response {
	c.t.Helper()
	resp, data := c.do(method, path, body)
	if resp.StatusCode != want {
		c.t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, data, want)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, path, err, data)
		}
	}
	return resp
}

// wantProblem checks a problem+json answer: status, and field for 422.
func (c apiClient) wantProblem(method, path string, body any, status int, field string) api.Problem {
	c.t.Helper()
	resp, data := c.do(method, path, body)
	var p api.Problem
	if resp.StatusCode != status || resp.Header.Get("Content-Type") != "application/problem+json" || json.Unmarshal(data, &p) != nil ||
		p.Status != status || p.Detail == "" || p.Field != field {
		c.t.Fatalf("%s %s %v: %d %s %s, want a problem %d with field %q", method, path, body, resp.StatusCode, resp.Header.Get("Content-Type"), data, status, field)
	}
	return p
}

var printerCase = api.RequestAdd{From: "Carla Rossi <carla@customer.test>", To: "requests@example.test", Subject: "Case 4711: printer jammed",
	URI: "https://crm.example.test/case/4711", Text: "The printer in room 3 is jammed.\nSince Monday."}

// TestAPIRequestAdd (seed 003, RequestAdd): a posted item becomes a
// session in its queue, auto-assigned to dora, whose INBOX shows the
// generated mail (the URI as a link and in X-Mxdesk-Request-URI); posting
// the same URI again answers 200 with the same session and files nothing.
func TestAPIRequestAdd(t *testing.T) {
	g := apiDesk(t, nil, "")
	c := newAPIClient(t, g, "crm", router.RoleIntegrator)
	var added api.RequestAdded
	resp := c.call("POST", "/api/v1/requests", printerCase, http.StatusCreated, &added)
	if !strings.HasPrefix(added.Session, "S-") || added.Queue != "Requests" || !added.Created ||
		resp.Header.Get("Location") != "/api/v1/sessions/"+added.Session {
		t.Fatalf("RequestAdd = %+v, Location %q", added, resp.Header.Get("Location"))
	}

	dora := loginIMAP(t, g.Addr("imap"), "dora@example.test")
	if n := countIn(t, dora, "INBOX"); n != 1 {
		t.Fatalf("dora's INBOX holds %d, want the request's mail", n)
	}
	raw := string(fetchRaw(t, dora, "INBOX", added.MessageID))
	for _, want := range []string{"X-Mxdesk-Request-URI: https://crm.example.test/case/4711", "Subject: Case 4711: printer jammed",
		"From: \"Carla Rossi\" <carla@customer.test>", "Content-Type: multipart/alternative", `<a href=3D"https://crm.example.test/case/4711">`,
		"The printer in room 3 is jammed."} {
		if !strings.Contains(raw, want) {
			t.Errorf("the request's mail lacks %q:\n%s", want, raw)
		}
	}
	var detail api.SessionDetail
	c.call("GET", "/api/v1/sessions/"+added.Session, nil, http.StatusOK, &detail)
	if detail.Session.Agent != "dora@example.test" || detail.Session.Customer != "carla@customer.test" || len(detail.Messages) != 1 {
		t.Errorf("the session: %+v", detail)
	}

	var again api.RequestAdded
	c.call("POST", "/api/v1/requests", printerCase, http.StatusOK, &again)
	if again.Session != added.Session || again.Created {
		t.Errorf("the same URI again: %+v, want session %s, not created", again, added.Session)
	}
	if n := countIn(t, dora, "INBOX"); n != 1 {
		t.Errorf("dora's INBOX holds %d after the second post, want 1", n)
	}
}

// Two posts of one URI at once make one session: the second one's
// delivery finds the URI recorded and answers it.
func TestAPIRequestAddConcurrent(t *testing.T) {
	g := apiDesk(t, nil, "")
	c := newAPIClient(t, g, "crm", router.RoleIntegrator)
	const n = 4
	got := make([]api.RequestAdded, n)
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			resp, data := c.do("POST", "/api/v1/requests", printerCase)
			codes[i] = resp.StatusCode
			json.Unmarshal(data, &got[i])
		})
	}
	wg.Wait()
	created := 0
	for i := range n {
		if codes[i] == http.StatusCreated {
			created++
		}
		if got[i].Session == "" || got[i].Session != got[0].Session {
			t.Errorf("answers %v %+v: want one session", codes, got)
		}
	}
	if created != 1 {
		t.Errorf("statuses %v: want one 201", codes)
	}
	list, err := g.Router().ListSessions(router.SessionFilter{Queue: "Requests"})
	if err != nil || len(list) != 1 {
		t.Errorf("Requests holds %d sessions (%v), want 1", len(list), err)
	}
}

// A request from a name (no email customer) comes from the queue's
// no-reply placeholder; dora's reply to it is refused at RCPT with a 550
// saying so.
func TestAPIRequestWithoutEmailCustomer(t *testing.T) {
	g := apiDesk(t, nil, "")
	c := newAPIClient(t, g, "forms", router.RoleIntegrator)
	form := api.RequestAdd{From: "Website contact form", To: "Requests", Subject: "Call me back", URI: "urn:form:981"}
	var added api.RequestAdded
	c.call("POST", "/api/v1/requests", form, http.StatusCreated, &added)
	dora := loginIMAP(t, g.Addr("imap"), "dora@example.test")
	raw := string(fetchRaw(t, dora, "INBOX", added.MessageID))
	if !strings.Contains(raw, `From: "Website contact form" <request-noreply@example.test>`) || strings.Contains(raw, "<a href") {
		t.Errorf("the request's mail:\n%s", raw)
	}
	reply := crlf("From: Dora Lind <dora@example.test>\nTo: \"Website contact form\" <request-noreply@example.test>\nSubject: Re: Call me back\n" +
		"In-Reply-To: <" + added.MessageID + ">\nMessage-ID: <r1@laptop.example.test>\n\nI'll call.\n")
	_, err := submitAs(t, g, "dora@example.test", []string{"request-noreply@example.test"}, reply)
	if err == nil || !strings.Contains(err.Error(), "550") || !strings.Contains(err.Error(), "no email customer") {
		t.Errorf("reply to the placeholder: %v, want 550 saying the request has no email customer", err)
	}
}

// Every field is checked, each named in a 422; a body that is not one
// JSON object of the fields is a 400.
func TestAPIRequestAddInvalid(t *testing.T) {
	g := apiDesk(t, nil, "")
	c := newAPIClient(t, g, "crm", router.RoleIntegrator)
	edit := func(f func(*api.RequestAdd)) api.RequestAdd { r := printerCase; f(&r); return r }
	for _, tc := range []struct {
		field string
		body  api.RequestAdd
	}{
		{"from", edit(func(r *api.RequestAdd) { r.From = "" })},
		{"from", edit(func(r *api.RequestAdd) { r.From = "a\r\nBcc: x@evil.test" })},
		{"to", edit(func(r *api.RequestAdd) { r.To = "Nowhere" })},
		{"subject", edit(func(r *api.RequestAdd) { r.Subject = " " })},
		{"uri", edit(func(r *api.RequestAdd) { r.URI = "" })},
		{"uri", edit(func(r *api.RequestAdd) { r.URI = "case 4711" })},
		{"text", edit(func(r *api.RequestAdd) { r.Text = strings.Repeat("x", 70000) })},
	} {
		c.wantProblem("POST", "/api/v1/requests", tc.body, http.StatusUnprocessableEntity, tc.field)
	}
	c.wantProblem("POST", "/api/v1/requests", `{"from": "a@b.test",`, http.StatusBadRequest, "")
	c.wantProblem("POST", "/api/v1/requests", `{"from": "a@b.test", "queue": "Support"}`, http.StatusBadRequest, "")
	c.wantProblem("POST", "/api/v1/requests", "", http.StatusBadRequest, "")
	if list, _ := g.Router().ListSessions(router.SessionFilter{}); len(list) != 0 {
		t.Errorf("refused requests made %d sessions", len(list))
	}
}

// TestAPIAuthentication: no token, a wrong one, an expired and a revoked
// one are 401 problems with a Bearer challenge; an integrator is refused
// the supervisor's routes (403); an unknown route is a 404 problem. Each
// call is logged with the token's name, never its secret.
func TestAPIAuthentication(t *testing.T) {
	clock := testutil.NewClock()
	cfg := testutil.Config(t, fmt.Sprintf(requestsQueue, testutil.PasswordHash()))
	logged := &testutil.SyncBuffer{}
	g, err := gateway.NewClocked(cfg, slog.New(slog.NewTextHandler(logged, nil)), clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })

	crm := newAPIClient(t, g, "crm", router.RoleIntegrator)
	anon := apiClient{t: t, base: crm.base}
	for _, token := range []string{"", "mxd_not-a-token", crm.token + "x", "Basic " + crm.token} {
		anon.token = token
		anon.wantProblem("GET", "/api/v1/sessions", nil, http.StatusUnauthorized, "")
	}
	resp, _ := anon.do("GET", "/api/v1/sessions", nil)
	if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("401 without a Bearer challenge: %q", resp.Header.Get("WWW-Authenticate"))
	}
	crm.call("GET", "/api/v1/sessions", nil, http.StatusOK, nil)
	crm.wantProblem("GET", "/api/v1/agents", nil, http.StatusForbidden, "")
	crm.wantProblem("GET", "/api/v1/nothing", nil, http.StatusNotFound, "")
	boss := newAPIClient(t, g, "boss", router.RoleSupervisor)
	boss.call("GET", "/api/v1/agents", nil, http.StatusOK, nil)

	secret, _, err := g.Router().CreateAPIToken(context.Background(), "temp", router.RoleIntegrator, clock.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	temp := apiClient{t: t, base: crm.base, token: secret}
	temp.call("GET", "/api/v1/queues", nil, http.StatusOK, nil)
	clock.Advance(time.Hour)
	temp.wantProblem("GET", "/api/v1/queues", nil, http.StatusUnauthorized, "")

	if err := g.Router().RevokeAPIToken(context.Background(), "crm"); err != nil {
		t.Fatal(err)
	}
	crm.wantProblem("GET", "/api/v1/sessions", nil, http.StatusUnauthorized, "")

	log := logged.String()
	if !strings.Contains(log, `msg="api call" token=boss role=supervisor method=GET path=/api/v1/agents status=200`) ||
		!strings.Contains(log, `token=crm role=integrator method=GET path=/api/v1/agents status=403`) {
		t.Errorf("no audit line naming the token:\n%s", log)
	}
	if strings.Contains(log, crm.token) || strings.Contains(log, boss.token) {
		t.Errorf("a token's secret is in the log:\n%s", log)
	}
}

// TestAPIRateLimit: over api.requests_per_minute a token gets 429 with
// Retry-After, another token does not; a minute later it is served again.
func TestAPIRateLimit(t *testing.T) {
	clock := testutil.NewClock()
	g := apiDesk(t, clock, "[api]\nrequests_per_minute = 2\n")
	crm := newAPIClient(t, g, "crm", router.RoleIntegrator)
	crm.call("GET", "/api/v1/queues", nil, http.StatusOK, nil)
	clock.Advance(20 * time.Second)
	crm.call("GET", "/api/v1/queues", nil, http.StatusOK, nil)
	resp, _ := crm.do("GET", "/api/v1/queues", nil)
	crm.wantProblem("GET", "/api/v1/queues", nil, http.StatusTooManyRequests, "")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "40" {
		t.Errorf("third call: %d, Retry-After %q; want 429 and 40", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	newAPIClient(t, g, "other", router.RoleIntegrator).call("GET", "/api/v1/queues", nil, http.StatusOK, nil)
	clock.Advance(40 * time.Second)
	crm.call("GET", "/api/v1/queues", nil, http.StatusOK, nil)
}

// A reload applies a new api.requests_per_minute at once.
func TestAPIRateLimitReload(t *testing.T) {
	e := startFromFile(t)
	crm := newAPIClient(t, e.g, "crm", router.RoleIntegrator)
	crm.call("GET", "/api/v1/queues", nil, http.StatusOK, nil)
	e.write(t, "[api]\nrequests_per_minute = 1\n")
	if res, err := e.g.Reload(""); err != nil || len(res.Restart) != 0 {
		t.Fatalf("Reload: %+v %v", res, err)
	}
	crm.wantProblem("GET", "/api/v1/queues", nil, http.StatusTooManyRequests, "")
}

// TestAPIRefusesPlainHTTPFromAfar: over plain HTTP from another host the
// API answers 403 (tokens would cross the network in clear), unless the
// peer is a proxy of listen.http_trusted_proxies. The peer is this
// host's own non-loopback address.
func TestAPIRefusesPlainHTTPFromAfar(t *testing.T) {
	ip := nonLoopbackIP(t)
	for _, trusted := range []bool{false, true} {
		cfg := testutil.Config(t, "")
		cfg.Listen.HTTP = net.JoinHostPort(ip, "0")
		if trusted {
			cfg.Listen.HTTPTrustedProxies = []string{ip}
		}
		g := startGatewayCfg(t, cfg)
		c := newAPIClient(t, g, "crm", router.RoleIntegrator)
		if trusted {
			c.call("GET", "/api/v1/sessions", nil, http.StatusOK, nil)
		} else {
			p := c.wantProblem("GET", "/api/v1/sessions", nil, http.StatusForbidden, "")
			if !strings.Contains(p.Detail, "TLS") {
				t.Errorf("403 says %q", p.Detail)
			}
		}
	}
}

// nonLoopbackIP is an address of this host that is not loopback (the
// test is skipped on a host without one).
func nonLoopbackIP(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	t.Skip("no non-loopback IPv4 address on this host")
	return ""
}

// TestAPISessions: the list filters by queue, customer, text, status and
// date, newest first, a page at a time by cursor; one session shows its
// messages decoded and its events, and no response carries the session's
// reply token (nor its note address).
func TestAPISessions(t *testing.T) {
	g := apiDesk(t, nil, "")
	for i, from := range []string{"carla@customer.test", "dan@customer.test", "eve@customer.test"} {
		sendRawMX(t, g, from, "support@example.test", fmt.Sprintf("From: <%s>\r\nTo: support@example.test\r\n"+
			"Subject: =?utf-8?q?Caf=C3=A9_order_%d?=\r\nMessage-ID: <m%d@customer.test>\r\n\r\nMy order %d is late.\r\n", from, i, i, i))
	}
	c := newAPIClient(t, g, "crm", router.RoleIntegrator)
	var page api.SessionPage
	c.call("GET", "/api/v1/sessions?queue=Support&limit=2", nil, http.StatusOK, &page)
	if len(page.Sessions) != 2 || page.Next == "" || page.Sessions[0].Customer != "eve@customer.test" || page.Sessions[1].Customer != "dan@customer.test" {
		t.Fatalf("first page: %+v", page)
	}
	var rest api.SessionPage
	c.call("GET", "/api/v1/sessions?queue=Support&limit=2&cursor="+page.Next, nil, http.StatusOK, &rest)
	if len(rest.Sessions) != 1 || rest.Next != "" || rest.Sessions[0].Customer != "carla@customer.test" {
		t.Fatalf("second page: %+v", rest)
	}
	for query, want := range map[string]int{
		"customer=CARLA": 1, "text=order+1": 1, "text=café": 3, "status=Unopened": 3, "status=Closed": 0, "queue=Billing": 0,
		"since=2000-01-01T00:00:00Z": 3, "until=2000-01-01T00:00:00Z": 0,
	} {
		var p api.SessionPage
		c.call("GET", "/api/v1/sessions?"+query, nil, http.StatusOK, &p)
		if len(p.Sessions) != want {
			t.Errorf("?%s: %d sessions, want %d", query, len(p.Sessions), want)
		}
	}
	for param, query := range map[string]string{"status": "status=Lost", "since": "since=yesterday", "limit": "limit=0", "cursor": "cursor=%21"} {
		c.wantProblem("GET", "/api/v1/sessions?"+query, nil, http.StatusUnprocessableEntity, param)
	}

	id := rest.Sessions[0].ID
	var token string
	g.Router().View(func(rd store.Reader) error {
		s, err := rd.Session(id)
		token = s.Token
		return err
	})
	// Alice's note to the session's note address, as Thunderbird sends it.
	noteAddr := "support+note-" + token + "@example.test"
	if _, err := submitAs(t, g, "alice@example.test", []string{noteAddr}, crlf("From: Alice Rossi <alice@example.test>\nTo: "+noteAddr+
		"\nSubject: Re: Café order 0\nIn-Reply-To: <m0@customer.test>\nMessage-ID: <n1@laptop.example.test>\n\nChecked: "+noteAddr+"\n")); err != nil {
		t.Fatalf("note: %v", err)
	}
	resp, data := c.do("GET", "/api/v1/sessions/"+id, nil)
	var d api.SessionDetail
	if resp.StatusCode != http.StatusOK || json.Unmarshal(data, &d) != nil {
		t.Fatalf("GET session: %d %s", resp.StatusCode, data)
	}
	if len(d.Messages) != 2 || d.Messages[1].Direction != "internal" || d.Messages[1].To != "support+note-[token]@example.test" || d.Messages[0].Subject != "Café order 0" || !strings.Contains(d.Messages[0].Text, "My order 0 is late.") ||
		d.Messages[0].Direction != "inbound" || !slices.ContainsFunc(d.Events, func(e api.Event) bool { return e.Kind == "received" && e.Actor == "customer" }) {
		t.Errorf("session %s: %+v", id, d)
	}
	for _, body := range [][]byte{data, mustGet(t, c, "/api/v1/sessions")} {
		if token == "" || bytes.Contains(body, []byte(token)) {
			t.Errorf("the reply token %q is in an answer: %s", token, body)
		}
	}
	c.wantProblem("GET", "/api/v1/sessions/S-NONE0", nil, http.StatusNotFound, "")
}

func mustGet(t *testing.T, c apiClient, path string) []byte {
	t.Helper()
	resp, data := c.do("GET", path, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, data)
	}
	return data
}

// TestAPIQueuesAndAgents: the queues show the supervisor page's lines
// (waiting counts, sessions per status); a supervisor sets dora away, so
// a new request waits in Queues/Requests, and available again, so it
// reaches her INBOX, as her IMAP client sees.
func TestAPIQueuesAndAgents(t *testing.T) {
	g := apiDesk(t, nil, "")
	sendRawMX(t, g, "carla@customer.test", "support@example.test", "From: <carla@customer.test>\r\nTo: support@example.test\r\nSubject: hi\r\nMessage-ID: <q1@customer.test>\r\n\r\nhi\r\n")
	boss := newAPIClient(t, g, "boss", router.RoleSupervisor)
	var queues struct {
		Statuses []string
		Queues   []gateway.SupervisorQueue
	}
	boss.call("GET", "/api/v1/queues", nil, http.StatusOK, &queues)
	var support *gateway.SupervisorQueue
	for i, q := range queues.Queues {
		if q.Name == "Support" {
			support = &queues.Queues[i]
		}
	}
	if support == nil || support.Waiting != 1 || len(support.Counts) != len(queues.Statuses) || support.Counts[0] != 1 {
		t.Fatalf("queues: %+v", queues)
	}

	var agent api.Agent
	boss.call("PUT", "/api/v1/agents/DORA@example.test/state", api.AgentState{State: "away"}, http.StatusOK, &agent)
	if agent.Login != "dora@example.test" || agent.State != "away" || agent.Name != "Dora Lind" {
		t.Fatalf("after away: %+v", agent)
	}
	boss.call("GET", "/api/v1/agents/dora@example.test", nil, http.StatusOK, &agent)
	if agent.State != "away" {
		t.Errorf("GET agent: %+v", agent)
	}
	var added api.RequestAdded
	boss.call("POST", "/api/v1/requests", printerCase, http.StatusCreated, &added)
	dora := loginIMAP(t, g.Addr("imap"), "dora@example.test")
	if n := countIn(t, dora, "Queues/Requests"); n != 1 {
		t.Errorf("with dora away, Queues/Requests holds %d, want the request waiting", n)
	}
	boss.call("PUT", "/api/v1/agents/dora@example.test/state", api.AgentState{State: "available"}, http.StatusOK, &agent)
	waitFor(t, "the request assigned to dora", func() bool { return countIn(t, dora, "INBOX") == 1 }, g)

	boss.wantProblem("PUT", "/api/v1/agents/dora@example.test/state", api.AgentState{State: "asleep"}, http.StatusUnprocessableEntity, "state")
	boss.wantProblem("PUT", "/api/v1/agents/nobody@example.test/state", api.AgentState{State: "away"}, http.StatusNotFound, "")
	boss.wantProblem("GET", "/api/v1/agents/nobody@example.test", nil, http.StatusNotFound, "")
	crm := newAPIClient(t, g, "crm", router.RoleIntegrator)
	crm.wantProblem("PUT", "/api/v1/agents/dora@example.test/state", api.AgentState{State: "away"}, http.StatusForbidden, "")
	var list []api.Agent
	boss.call("GET", "/api/v1/agents", nil, http.StatusOK, &list)
	if len(list) != 4 || list[3].Login != "dora@example.test" || list[3].State != "available" {
		t.Errorf("agents: %+v", list)
	}
}

// TestAPISessionActions: assign, a note, a transfer with a note, a status
// change and a reply through the API, each seen by the agents' IMAP
// clients and recorded as events of api:<token>; the router's rules
// refuse what they refuse for a person (422 naming the field, 409 for a
// desk rule, 403 for an integrator's token).
func TestAPISessionActions(t *testing.T) {
	g := apiDesk(t, nil, "")
	sendRawMX(t, g, "carla@customer.test", "support@example.test", "From: Carla <carla@customer.test>\r\nTo: support@example.test\r\n"+
		"Subject: Invoice twice\r\nMessage-ID: <a1@customer.test>\r\n\r\nI was billed twice.\r\n")
	boss := newAPIClient(t, g, "boss", router.RoleSupervisor)
	crm := newAPIClient(t, g, "crm", router.RoleIntegrator)
	var page api.SessionPage
	boss.call("GET", "/api/v1/sessions", nil, http.StatusOK, &page)
	id := page.Sessions[0].ID
	path := "/api/v1/sessions/" + id
	alice := loginIMAP(t, g.Addr("imap"), "alice@example.test")
	bob := loginIMAP(t, g.Addr("imap"), "bob@example.test")

	crm.wantProblem("POST", path+"/assign", api.Assign{Agent: "alice@example.test"}, http.StatusForbidden, "")
	boss.wantProblem("POST", path+"/assign", api.Assign{Agent: "zed@example.test"}, http.StatusUnprocessableEntity, "agent")
	var s api.Session
	boss.call("POST", path+"/assign", api.Assign{Agent: "alice@example.test"}, http.StatusOK, &s)
	if s.Agent != "alice@example.test" || countIn(t, alice, "INBOX") != 1 {
		t.Fatalf("after assign: %+v, alice's INBOX holds %d", s, countIn(t, alice, "INBOX"))
	}

	crm.call("POST", path+"/notes", api.Note{Text: "Customer is a key account."}, http.StatusOK, &s)
	crm.wantProblem("POST", path+"/notes", api.Note{Text: ""}, http.StatusUnprocessableEntity, "text")
	if n := countIn(t, alice, "INBOX"); n != 2 {
		t.Errorf("after the note alice's INBOX holds %d, want the mail and the note", n)
	}

	boss.wantProblem("POST", path+"/status", api.StatusChange{Status: "paused"}, http.StatusConflict, "")
	boss.wantProblem("POST", path+"/status", api.StatusChange{Status: "gone"}, http.StatusUnprocessableEntity, "status")
	boss.call("POST", path+"/transfer", api.Transfer{To: "Billing", Note: "Billing question."}, http.StatusOK, &s)
	if s.Queue != "Billing" || s.Agent != "" || countIn(t, alice, "INBOX") != 0 || countIn(t, bob, "Queues/Billing") == 0 {
		t.Fatalf("after transfer: %+v", s)
	}
	boss.call("POST", path+"/assign", api.Assign{Agent: "bob@example.test"}, http.StatusOK, nil)
	var sent api.ReplySent
	boss.call("POST", path+"/replies", api.Reply{Text: "Refunded, sorry.\nBilling"}, http.StatusOK, &sent)
	if sent.Queued != 1 || sent.Session != id {
		t.Errorf("reply: %+v", sent)
	}
	raw := string(fetchRaw(t, bob, "INBOX", sent.MessageID))
	if !strings.Contains(raw, "From: ") || !strings.Contains(raw, "billing@example.test") || !strings.Contains(raw, "Refunded, sorry.") {
		t.Errorf("the reply as filed:\n%s", raw)
	}
	boss.call("POST", path+"/status", api.StatusChange{Status: "resolved"}, http.StatusOK, &s)
	if s.Status != router.StatusResolved || s.Agent != "bob@example.test" || countIn(t, bob, "Resolved") == 0 {
		t.Errorf("after resolve: %+v", s)
	}
	var d api.SessionDetail
	boss.call("GET", path, nil, http.StatusOK, &d)
	if !slices.ContainsFunc(d.Messages, func(m api.Message) bool {
		return m.Direction == "internal" && strings.Contains(m.Text, "Billing question.")
	}) {
		t.Errorf("the transfer's note is not in the session: %+v", d.Messages)
	}
	actors := map[string]bool{}
	for _, e := range d.Events {
		if strings.HasPrefix(e.Actor, "api:") {
			actors[e.Kind+" "+e.Actor] = true
		}
	}
	for _, want := range []string{"assigned api:boss", "note api:crm", "transferred api:boss", "replied api:boss", "status api:boss"} {
		if !actors[want] {
			t.Errorf("no event %q among %v", want, actors)
		}
	}
	boss.wantProblem("POST", "/api/v1/sessions/S-NONE0/status", api.StatusChange{Status: "closed"}, http.StatusNotFound, "")
}

// A reply through the API to a request without an email customer is
// refused, as the agent's is at RCPT.
func TestAPIReplyToRequestWithoutEmailCustomer(t *testing.T) {
	g := apiDesk(t, nil, "")
	boss := newAPIClient(t, g, "boss", router.RoleSupervisor)
	var added api.RequestAdded
	boss.call("POST", "/api/v1/requests", api.RequestAdd{From: "Kiosk 7", To: "Requests", Subject: "Paper", URI: "urn:kiosk:7"}, http.StatusCreated, &added)
	p := boss.wantProblem("POST", "/api/v1/sessions/"+added.Session+"/replies", api.Reply{Text: "On its way"}, http.StatusConflict, "")
	if !strings.Contains(p.Detail, "no email customer") {
		t.Errorf("refusal: %q", p.Detail)
	}
}

// TestAPITokens: an admin token manages tokens over the API (the secret
// only in the creation's answer, a taken name 409, a bad role 422); a
// supervisor's may not; a revoked token is refused at once.
func TestAPITokens(t *testing.T) {
	g := apiDesk(t, nil, "")
	admin := newAPIClient(t, g, "root", router.RoleAdmin)
	boss := newAPIClient(t, g, "boss", router.RoleSupervisor)
	boss.wantProblem("GET", "/api/v1/tokens", nil, http.StatusForbidden, "")
	admin.call("GET", "/api/v1/sessions", nil, http.StatusOK, nil)

	var made api.Token
	admin.call("POST", "/api/v1/tokens", api.NewToken{Name: "forms", Role: "integrator"}, http.StatusCreated, &made)
	if made.Name != "forms" || !strings.HasPrefix(made.Token, "mxd_") {
		t.Fatalf("created: %+v", made)
	}
	forms := apiClient{t: t, base: admin.base, token: made.Token}
	forms.call("GET", "/api/v1/queues", nil, http.StatusOK, nil)
	admin.wantProblem("POST", "/api/v1/tokens", api.NewToken{Name: "forms", Role: "integrator"}, http.StatusConflict, "")
	admin.wantProblem("POST", "/api/v1/tokens", api.NewToken{Name: "x", Role: "god"}, http.StatusUnprocessableEntity, "role")
	admin.wantProblem("POST", "/api/v1/tokens", api.NewToken{Name: "bad name", Role: "admin"}, http.StatusUnprocessableEntity, "name")

	var list []api.Token
	resp := admin.call("GET", "/api/v1/tokens", nil, http.StatusOK, &list)
	_, raw := admin.do("GET", "/api/v1/tokens", nil)
	if len(list) != 3 || bytes.Contains(raw, []byte("mxd_")) || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("token list: %s", raw)
	}
	admin.call("DELETE", "/api/v1/tokens/forms", nil, http.StatusNoContent, nil)
	forms.wantProblem("GET", "/api/v1/queues", nil, http.StatusUnauthorized, "")
	admin.wantProblem("DELETE", "/api/v1/tokens/forms", nil, http.StatusNotFound, "")
}
