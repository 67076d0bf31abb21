package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"mxdesk/gateway"
	"mxdesk/router"
	"mxdesk/store"
	"mxdesk/testutil"
)

// adminGet GETs path on the admin socket and returns status and body.
func adminGet(t *testing.T, sock, path string) (int, []byte) {
	t.Helper()
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
	resp, err := hc.Get("http://mxdesk" + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("GET %s: Content-Type %q", path, ct)
	}
	return resp.StatusCode, body
}

func deliverTo(t *testing.T, r *router.Router, to, msgID string) router.Delivered {
	t.Helper()
	raw := "From: Carla <carla@customer.test>\r\nSubject: where is my order\r\nMessage-ID: <" + msgID + ">\r\n\r\nhello\r\n"
	d, err := r.Deliver(context.Background(), router.Envelope{From: "carla@customer.test", To: []string{to}}, []byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestAdminSocketSessions(t *testing.T) {
	cfg := testutil.Config(t, "")
	g := startGatewayCfg(t, cfg)
	sock := gateway.AdminSocket(cfg)
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: mode %v, want a socket with 0600", sock, fi.Mode())
	}

	d := deliverTo(t, g.Router(), "support@example.test", "adm-1@customer.test")
	deliverTo(t, g.Router(), "billing@example.test", "adm-2@customer.test")

	status, body := adminGet(t, sock, "/v1/sessions?queue=support")
	var list []gateway.AdminSession
	if err := json.Unmarshal(body, &list); status != 200 || err != nil {
		t.Fatalf("list: %d %v\n%s", status, err, body)
	}
	if len(list) != 1 || list[0].ID != d.Session || list[0].Queue != "Support" || list[0].Customer != "carla@customer.test" {
		t.Errorf("list queue=support: %+v, want session %s of Support", list, d.Session)
	}
	for query, want := range map[string]int{"": 2, "?limit=1": 1, "?queue=Nope": 0, "?status=closed": 0} {
		status, body := adminGet(t, sock, "/v1/sessions"+query)
		var l []gateway.AdminSession
		if err := json.Unmarshal(body, &l); status != 200 || err != nil || len(l) != want || l == nil {
			t.Errorf("list%s: %d %v, %d sessions, want %d\n%s", query, status, err, len(l), want, body)
		}
	}

	status, body = adminGet(t, sock, "/v1/sessions/"+d.Session)
	var rep gateway.AdminReport
	if err := json.Unmarshal(body, &rep); status != 200 || err != nil {
		t.Fatalf("show: %d %v\n%s", status, err, body)
	}
	if rep.Session.ID != d.Session || len(rep.Messages) != 1 || rep.Messages[0].MessageID != "adm-1@customer.test" || len(rep.Events) == 0 {
		t.Errorf("show %s: %+v", d.Session, rep)
	}
	// The reply token is a secret: the admin API never shows it.
	var token string
	g.Router().View(func(rd store.Reader) error {
		s, err := rd.Session(d.Session)
		token = s.Token
		return err
	})
	if token == "" || strings.Contains(string(body), token) {
		t.Errorf("report shows the reply token %q:\n%s", token, body)
	}

	for path, want := range map[string]struct {
		status int
		err    string
	}{
		"/v1/sessions/S-ZZZZZ":    {404, "no session S-ZZZZZ"},
		"/v1/sessions?limit=many": {400, `limit "many": want a number, 0 for no limit`},
		"/v1/nothing":             {404, "no endpoint GET /v1/nothing"},
	} {
		status, body := adminGet(t, sock, path)
		var e gateway.AdminError
		if err := json.Unmarshal(body, &e); status != want.status || err != nil || e.Error != want.err {
			t.Errorf("%s: %d %s, want %d {\"error\": %q}", path, status, body, want.status, want.err)
		}
	}
}

// A socket left by a server that died (kill -9) is replaced; Close
// removes the socket.
func TestAdminSocketStaleReplaced(t *testing.T) {
	cfg := testutil.Config(t, "")
	sock := gateway.AdminSocket(cfg)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close() // the file stays; nobody answers on it

	g, err := gateway.New(cfg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		g.Close()
		t.Fatalf("Start with a stale socket: %v", err)
	}
	if status, body := adminGet(t, sock, "/v1/sessions"); status != 200 || strings.TrimSpace(string(body)) != "[]" {
		t.Errorf("list on the replaced socket: %d %s", status, body)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("socket after Close: %v, want it removed", err)
	}
}

// Start refuses a socket that a live server answers on, and leaves it.
func TestAdminSocketInUse(t *testing.T) {
	cfg := testutil.Config(t, "")
	sock := gateway.AdminSocket(cfg)
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	g, err := gateway.New(cfg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	err = g.Start()
	if err == nil || !strings.Contains(err.Error(), sock) || !strings.Contains(err.Error(), "another server answers") {
		t.Fatalf("Start with a live socket: %v, want an error naming %s", err, sock)
	}
	if _, err := os.Lstat(sock); err != nil {
		t.Errorf("the other server's socket: %v", err)
	}
}

// A second gateway on the same data_dir fails (badger's lock) and says why.
func TestSecondGatewaySameDataDir(t *testing.T) {
	cfg := testutil.Config(t, "")
	startGatewayCfg(t, cfg)
	g2, err := gateway.New(cfg, quietLog())
	if err == nil {
		g2.Close()
		t.Fatal("second gateway on the same data_dir: no error")
	}
	if !strings.Contains(err.Error(), cfg.DataDir) || !strings.Contains(err.Error(), "in use by another process") {
		t.Errorf("second gateway: %v, want it to name data_dir and say it is in use", err)
	}
}

// adminDo calls the admin API handler h in-process.
func adminDo(t *testing.T, h http.Handler, method, path, body string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, "http://mxdesk"+path, rd)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	return w.Code, w.Body.Bytes()
}

// adminJSON is adminDo that wants 200 and decodes the answer into v.
func adminJSON(t *testing.T, h http.Handler, method, path, body string, v any) {
	t.Helper()
	status, out := adminDo(t, h, method, path, body)
	if status != http.StatusOK {
		t.Fatalf("%s %s: %d %s", method, path, status, out)
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("%s %s: %v\n%s", method, path, err, out)
	}
}

// The agents, their states, the waiting statistics and the waiting
// sessions with their ages by the router's clock.
func TestAdminAgentsAndWaiting(t *testing.T) {
	cfg := testutil.Config(t, `[[queue]]
name = "Desk"
addresses = ["desk@example.test"]
kpi_wait_alarm = "1h"
`)
	clock := testutil.NewClock()
	r := testutil.RouterOpts(t, cfg, "", router.Options{Now: clock.Now})
	h := gateway.AdminHandler(r, quietLog())

	s1 := deliverTo(t, r, "desk@example.test", "w-1@customer.test").Session
	clock.Advance(time.Hour)
	s2 := deliverTo(t, r, "desk@example.test", "w-2@customer.test").Session
	clock.Advance(time.Hour)

	var stats []gateway.AdminQueueWaiting
	adminJSON(t, h, "GET", "/v1/queues/waiting", "", &stats)
	want := []gateway.AdminQueueWaiting{{Queue: "Support"}, {Queue: "Billing"}, {Queue: "Desk", Waiting: 2, OldestSeconds: 7200, Alarms: 1}}
	if !reflect.DeepEqual(stats, want) {
		t.Errorf("queues/waiting = %+v, want %+v", stats, want)
	}

	var waiting []gateway.AdminSession
	adminJSON(t, h, "GET", "/v1/sessions?waiting=1", "", &waiting)
	age := func(s gateway.AdminSession) int64 {
		if s.WaitingSeconds == nil {
			return -1
		}
		return *s.WaitingSeconds
	}
	if len(waiting) != 2 || waiting[0].ID != s1 || age(waiting[0]) != 7200 || waiting[1].ID != s2 || age(waiting[1]) != 3600 ||
		!waiting[0].WaitingSince.Equal(testutil.NewClock().Now()) {
		t.Errorf("waiting sessions = %+v, want %s (2h) then %s (1h)", waiting, s1, s2)
	}
	for query, n := range map[string]int{"?waiting=1&queue=support": 0, "?waiting=true&limit=1": 1, "?waiting=0": 2, "?waiting=1&status=Active": 0} {
		var l []gateway.AdminSession
		adminJSON(t, h, "GET", "/v1/sessions"+query, "", &l)
		if len(l) != n {
			t.Errorf("sessions%s: %d, want %d", query, len(l), n)
		}
	}

	var agents []gateway.AdminAgent
	adminJSON(t, h, "GET", "/v1/agents", "", &agents)
	wantAgents := []gateway.AdminAgent{
		{Login: "alice@example.test", State: "offline", PresenceKnown: true},
		{Login: "bob@example.test", State: "offline", PresenceKnown: true},
		{Login: "carol@example.test", State: "offline", PresenceKnown: true},
	}
	if !reflect.DeepEqual(agents, wantAgents) {
		t.Errorf("agents = %+v", agents)
	}
	p := r.Connect(&router.Agent{Login: "alice@example.test"}, nil)
	defer p.Close()
	var a gateway.AdminAgent
	adminJSON(t, h, "POST", "/v1/agents/Bob@example.test/state", `{"state": "away"}`, &a)
	if a != (gateway.AdminAgent{Login: "bob@example.test", State: "away", PresenceKnown: true}) {
		t.Errorf("POST state away: %+v", a)
	}
	adminJSON(t, h, "GET", "/v1/agents", "", &agents)
	wantAgents[0].State, wantAgents[0].Present = "available", true
	wantAgents[1].State = "away"
	if !reflect.DeepEqual(agents, wantAgents) {
		t.Errorf("agents after alice connected and bob went away = %+v", agents)
	}
	adminJSON(t, h, "POST", "/v1/agents/bob@example.test/state", `{"state": "available"}`, &a)
	if a.State != "offline" {
		t.Errorf("bob available again, not connected: %+v", a)
	}

	for _, tt := range []struct {
		method, path, body string
		status             int
		err                string
	}{
		{"GET", "/v1/sessions?waiting=maybe", "", 400, `waiting "maybe": want 1 or 0`},
		{"POST", "/v1/agents/bob@example.test/state", `{"state": "busy"}`, 400, `state "busy": want "away" or "available"`},
		{"POST", "/v1/agents/bob@example.test/state", ``, 400, `body: empty (want {"state": "away"} or {"state": "available"})`},
		{"POST", "/v1/agents/bob@example.test/state", `{"state": "away", "why": "lunch"}`, 400, `body: json: unknown field "why" (want {"state": "away"} or {"state": "available"})`},
		{"POST", "/v1/agents/nobody@example.test/state", `{"state": "away"}`, 404, `no agent "nobody@example.test"`},
		{"GET", "/v1/agents/bob@example.test/state", "", 404, "no endpoint GET /v1/agents/bob@example.test/state"},
	} {
		status, body := adminDo(t, h, tt.method, tt.path, tt.body)
		var e gateway.AdminError
		if err := json.Unmarshal(body, &e); status != tt.status || err != nil || e.Error != tt.err {
			t.Errorf("%s %s %s: %d %s, want %d {\"error\": %q}", tt.method, tt.path, tt.body, status, body, tt.status, tt.err)
		}
	}
}

// POST works over the socket of a running gateway too.
func TestAdminSocketAgentState(t *testing.T) {
	cfg := testutil.Config(t, "")
	startGatewayCfg(t, cfg)
	sock := gateway.AdminSocket(cfg)
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
	resp, err := hc.Post("http://mxdesk/v1/agents/alice@example.test/state", "application/json", strings.NewReader(`{"state":"away"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var a gateway.AdminAgent
	if err := json.Unmarshal(body, &a); resp.StatusCode != 200 || err != nil || a.State != "away" || !a.PresenceKnown {
		t.Fatalf("POST state: %d %s", resp.StatusCode, body)
	}
	status, body := adminGet(t, sock, "/v1/agents")
	if status != 200 || !strings.Contains(string(body), `"state": "away"`) {
		t.Errorf("agents after POST: %d %s", status, body)
	}
}
