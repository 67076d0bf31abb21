package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"mxdesk/gateway"
	"mxdesk/testutil"
)

// supervisorGet GETs path on g's HTTP listener as login (no credentials
// when login is "").
func supervisorGet(t *testing.T, ctx context.Context, g *gateway.Gateway, path, login, password string) *http.Response {
	t.Helper()
	return supervisorGetVia(t, ctx, g, path, "", login, password)
}

// supervisorGetVia is supervisorGet with an X-Forwarded-For header (none
// when forwardedFor is ""), as a reverse proxy sends it.
func supervisorGetVia(t *testing.T, ctx context.Context, g *gateway.Gateway, path, forwardedFor, login, password string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+g.Addr("http")+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if login != "" {
		req.SetBasicAuth(login, password)
	}
	if forwardedFor != "" {
		req.Header.Set("X-Forwarded-For", forwardedFor)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSupervisorPageAuth(t *testing.T) {
	g := startGateway(t, "")
	ctx := t.Context()
	for _, tc := range []struct {
		name, login, password string
		status                int
		want                  string
	}{
		{"no credentials", "", "", http.StatusUnauthorized, "Log in"},
		{"wrong password", "carol@example.test", "wrong", http.StatusUnauthorized, "Invalid login or password"},
		{"unknown login", "nobody@example.test", testutil.Password, http.StatusUnauthorized, "Invalid login or password"},
		{"plain agent", "alice@example.test", testutil.Password, http.StatusForbidden, "not a supervisor"},
		{"supervisor", "carol@example.test", testutil.Password, http.StatusOK, `data-queue="Billing"`},
	} {
		for _, path := range []string{"/supervisor", "/supervisor/snapshot", "/supervisor/events"} {
			if tc.status == http.StatusOK && path == "/supervisor/events" {
				continue // a stream: TestSupervisorEventsAfterSMTP
			}
			resp := supervisorGet(t, ctx, g, path, tc.login, tc.password)
			body := readAll(t, resp)
			if resp.StatusCode != tc.status {
				t.Errorf("%s: GET %s: %s, want %d: %s", tc.name, path, resp.Status, tc.status, body)
				continue
			}
			if tc.status == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") != `Basic realm="mxdesk supervisor", charset="UTF-8"` {
				t.Errorf("%s: GET %s: WWW-Authenticate %q", tc.name, path, resp.Header.Get("WWW-Authenticate"))
			}
			if path == "/supervisor" && !strings.Contains(body, tc.want) {
				t.Errorf("%s: GET %s: body lacks %q:\n%s", tc.name, path, tc.want, body)
			}
		}
	}
}

func TestSupervisorSnapshot(t *testing.T) {
	g := startGateway(t, `
[[queue]]
name = "Sales"
addresses = ["sales@example.test"]
kpi_wait_alarm = "1s"
`)
	sendToQueue(t, g, "sales@example.test", "<snap-1@customer.test>", "a very long subject "+strings.Repeat("x", 200))
	resp := supervisorGet(t, t.Context(), g, "/supervisor/snapshot", "carol@example.test", testutil.Password)
	var v gateway.SupervisorView
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var names []string
	for _, q := range v.Queues {
		names = append(names, q.Name)
	}
	if strings.Join(names, ",") != "Support,Billing,Sales" {
		t.Fatalf("queues %v", names)
	}
	sales := v.Queues[2]
	if sales.Waiting != 1 || sales.AlarmSeconds != 1 || len(sales.Counts) != len(v.Statuses) {
		t.Errorf("Sales: %+v", sales)
	}
	if len(v.Agents) != 3 || v.Agents[2].Login != "carol@example.test" || v.Agents[2].Name != "Carol Nilsen" || v.Agents[2].State != "offline" {
		t.Errorf("agents: %+v", v.Agents)
	}
	if len(v.Waiting) != 1 || v.Waiting[0].Queue != "Sales" || len([]rune(v.Waiting[0].Subject)) != 80 || !strings.HasSuffix(v.Waiting[0].Subject, "…") {
		t.Errorf("waiting: %+v", v.Waiting)
	}
}

func TestSupervisorLockedLogin(t *testing.T) {
	g := startGateway(t, "[limits]\nlogin_lock_after = 2\n")
	ctx := t.Context()
	for range 2 {
		readAll(t, supervisorGet(t, ctx, g, "/supervisor", "carol@example.test", "wrong"))
	}
	resp := supervisorGet(t, ctx, g, "/supervisor", "carol@example.test", testutil.Password)
	body := readAll(t, resp)
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "too many failed logins") {
		t.Fatalf("after 2 failures with login_lock_after = 2: %s %q, want 429 saying why", resp.Status, body)
	}
	m := scrapeMetrics(t, g)
	for reason, want := range map[string]float64{"credentials": 2, "locked": 1} {
		if got := m.value("mxdesk_auth_failures_total", "protocol", "http", "reason", reason); got != want {
			t.Errorf("mxdesk_auth_failures_total{protocol=http,reason=%s} = %v, want %v", reason, got, want)
		}
	}
}

// sendToQueue sends a customer's message to a queue address over the
// gateway's MX.
func sendToQueue(t *testing.T, g *gateway.Gateway, to, msgID, subject string) {
	t.Helper()
	msg := "From: carla@customer.test\r\nTo: " + to + "\r\nSubject: " + subject + "\r\nMessage-ID: " + msgID + "\r\n\r\nhello\r\n"
	c, err := smtp.Dial(g.Addr("smtp"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SendMail("carla@customer.test", []string{to}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
}

// readSnapshots decodes the snapshot events of an event stream into a
// channel, closed when the stream ends.
func readSnapshots(t *testing.T, body io.Reader) <-chan gateway.SupervisorView {
	ch := make(chan gateway.SupervisorView, 16)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(body)
		sc.Buffer(nil, 1<<20)
		event := ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: ") && event == "snapshot":
				var v gateway.SupervisorView
				if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &v); err != nil {
					t.Errorf("snapshot: %v: %s", err, line)
					return
				}
				ch <- v
			case line == "":
				event = ""
			}
		}
	}()
	return ch
}

// nextSnapshot waits for a snapshot that satisfies ok.
func nextSnapshot(t *testing.T, ch <-chan gateway.SupervisorView, what string, ok func(gateway.SupervisorView) bool) gateway.SupervisorView {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case v, open := <-ch:
			if !open {
				t.Fatalf("stream ended waiting for %s", what)
			}
			if ok(v) {
				return v
			}
		case <-timeout:
			t.Fatalf("no snapshot with %s within 15s", what)
		}
	}
}

func waiting(v gateway.SupervisorView, queue string) int {
	for _, q := range v.Queues {
		if q.Name == queue {
			return q.Waiting
		}
	}
	return -1
}

// TestSupervisorEventsAfterSMTP: the stream sends the view at once, and a
// new one when a message arrives over SMTP.
func TestSupervisorEventsAfterSMTP(t *testing.T) {
	g := startGateway(t, "")
	resp := supervisorGet(t, t.Context(), g, "/supervisor/events", "carol@example.test", testutil.Password)
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%s %q", resp.Status, resp.Header.Get("Content-Type"))
	}
	snaps := readSnapshots(t, resp.Body)
	nextSnapshot(t, snaps, "Support empty", func(v gateway.SupervisorView) bool { return waiting(v, "Support") == 0 })

	sendToQueue(t, g, "support@example.test", "<events-1@customer.test>", "where is my order")
	v := nextSnapshot(t, snaps, "1 waiting in Support", func(v gateway.SupervisorView) bool { return waiting(v, "Support") == 1 })
	if len(v.Waiting) != 1 || v.Waiting[0].Subject != "where is my order" || v.Waiting[0].Queue != "Support" {
		t.Errorf("waiting sessions: %+v", v.Waiting)
	}
}

// TestSupervisorCloseEndsStreams: Close does not hang on an open event
// stream, and the stream ends.
func TestSupervisorCloseEndsStreams(t *testing.T) {
	g, err := gateway.New(testutil.Config(t, ""), quietLog())
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		g.Close()
		t.Fatal(err)
	}
	resp := supervisorGet(t, t.Context(), g, "/supervisor/events", "carol@example.test", testutil.Password)
	defer resp.Body.Close()
	snaps := readSnapshots(t, resp.Body)
	nextSnapshot(t, snaps, "a first snapshot", func(gateway.SupervisorView) bool { return true })

	closed := make(chan error, 1)
	go func() { closed <- g.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close hangs with a supervisor stream open")
	}
	for range snaps { // the stream must end
	}
}

// TestSupervisorStreamLimit: beyond the bound, a stream is refused with
// 503.
func TestSupervisorStreamLimit(t *testing.T) {
	g := startGateway(t, "")
	var open []*http.Response
	defer func() {
		for _, r := range open {
			r.Body.Close()
		}
	}()
	for len(open) < 33 {
		resp := supervisorGet(t, t.Context(), g, "/supervisor/events", "carol@example.test", testutil.Password)
		if resp.StatusCode != 200 {
			readAll(t, resp)
			if len(open) != 32 || resp.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("stream %d: %s", len(open)+1, resp.Status)
			}
			break
		}
		open = append(open, resp)
	}
	if len(open) != 32 {
		t.Fatalf("%d streams open, want the limit of 32", len(open))
	}
}
