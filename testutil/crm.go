package testutil

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// CRM is a CRM on loopback that receives mxdesk's webhooks the way a CRM
// developer following docs/crm.md would: it checks each Standard Webhooks
// signature with the shared secret, and answers ticket.created with a
// ticket_id. SetFail scripts its answers.
type CRM struct {
	URL        string
	SecretFile string // whsec_ secret, for crm.secret_file
	secret     []byte

	mu       sync.Mutex
	accepted []CRMEvent             // answered 2xx, in arrival order
	attempts map[string][]time.Time // webhook-id -> when each request came
	bad      []string               // requests that failed verification
	tickets  map[string]string      // session -> ticket_id given
	requests int
	fail     func(n int, e CRMEvent) CRMAnswer // SetFail
	changed  chan struct{}
}

// CRMEvent is one webhook as received.
type CRMEvent struct {
	ID        string // webhook-id
	Timestamp int64  // webhook-timestamp
	Type      string
	Time      string // the body's timestamp
	Data      map[string]any
	Body      []byte
}

// Session is the event's data.session.
func (e CRMEvent) Session() string { s, _ := e.Data["session"].(string); return s }

// Str is a string field of the event's data.
func (e CRMEvent) Str(name string) string { s, _ := e.Data[name].(string); return s }

// CRMAnswer is a scripted answer: a status (with Retry-After seconds when
// not negative), a dropped connection, or a request held unanswered until
// Hold closes or the client goes away (then it is answered 503). Delay
// makes a slow CRM: the answer (whatever it is) comes that much later.
type CRMAnswer struct {
	Status     int
	RetryAfter int
	Drop       bool
	Hold       <-chan struct{}
	Delay      time.Duration
}

// StartCRM starts a CRM on loopback, stopped when the test ends.
func StartCRM(t testing.TB) *CRM {
	t.Helper()
	c := &CRM{secret: make([]byte, 32), attempts: map[string][]time.Time{}, tickets: map[string]string{}, changed: make(chan struct{}, 1)}
	rand.Read(c.secret)
	c.SecretFile = filepath.Join(t.TempDir(), "crm.secret")
	if err := os.WriteFile(c.SecretFile, []byte("whsec_"+base64.StdEncoding.EncodeToString(c.secret)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(c.serve))
	t.Cleanup(srv.Close)
	c.URL = srv.URL + "/hooks/mxdesk"
	return c
}

// TOML is the [crm] table pointing at this CRM, with retries fast enough
// for a test.
func (c *CRM) TOML(extra string) string {
	return fmt.Sprintf("[crm]\nurl = %q\nsecret_file = %q\nlink_base_url = \"https://desk.example.test\"\nretry_initial = \"20ms\"\n%s\n", c.URL, c.SecretFile, extra)
}

// verify checks a request as docs/crm.md tells CRM developers to.
func (c *CRM) verify(req *http.Request, body []byte) (CRMEvent, error) {
	e := CRMEvent{ID: req.Header.Get("webhook-id"), Body: body}
	ts, err := strconv.ParseInt(req.Header.Get("webhook-timestamp"), 10, 64)
	if err != nil || e.ID == "" {
		return e, fmt.Errorf("missing webhook-id or webhook-timestamp")
	}
	if d := time.Since(time.Unix(ts, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return e, fmt.Errorf("webhook-timestamp %d is not within 5 minutes of now", ts)
	}
	e.Timestamp = ts
	m := hmac.New(sha256.New, c.secret)
	fmt.Fprintf(m, "%s.%d.%s", e.ID, ts, body)
	want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	if !slices.ContainsFunc(strings.Fields(req.Header.Get("webhook-signature")), func(sig string) bool {
		return hmac.Equal([]byte(sig), []byte(want))
	}) {
		return e, fmt.Errorf("no valid v1 signature in %q", req.Header.Get("webhook-signature"))
	}
	var p struct {
		Type      string         `json:"type"`
		Timestamp string         `json:"timestamp"`
		Data      map[string]any `json:"data"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return e, err
	}
	if _, err := time.Parse(time.RFC3339, p.Timestamp); err != nil {
		return e, fmt.Errorf("timestamp %q: %v", p.Timestamp, err)
	}
	e.Type, e.Time, e.Data = p.Type, p.Timestamp, p.Data
	return e, nil
}

func (c *CRM) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	e, err := c.verify(req, body)
	a := c.script(e, err)
	if a.Delay > 0 {
		select {
		case <-time.After(a.Delay):
		case <-req.Context().Done():
			return
		}
	}
	if a.Hold != nil {
		select {
		case <-a.Hold:
		case <-req.Context().Done():
		}
		http.Error(w, "held", http.StatusServiceUnavailable)
		return
	}
	c.answer(w, e, a, err)
}

// script counts a verified request and asks the script how to answer it.
func (c *CRM) script(e CRMEvent, err error) (a CRMAnswer) {
	if err != nil {
		return a
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.signal()
	c.requests++
	c.attempts[e.ID] = append(c.attempts[e.ID], time.Now())
	if c.fail != nil {
		a = c.fail(c.requests, e)
	}
	return a
}

func (c *CRM) answer(w http.ResponseWriter, e CRMEvent, a CRMAnswer, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.signal()
	if err != nil {
		c.bad = append(c.bad, err.Error())
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	switch {
	case a.Drop:
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
		return
	case a.Status > 0:
		if a.RetryAfter >= 0 {
			w.Header().Set("Retry-After", strconv.Itoa(a.RetryAfter))
		}
		w.WriteHeader(a.Status)
		return
	}
	c.accepted = append(c.accepted, e)
	w.Header().Set("Content-Type", "application/json")
	if e.Type == "ticket.created" {
		id := c.tickets[e.Session()]
		if id == "" {
			id = fmt.Sprintf("T-%d", 1000+len(c.tickets))
			c.tickets[e.Session()] = id
		}
		fmt.Fprintf(w, `{"ticket_id": %q}`, id)
		return
	}
	io.WriteString(w, `{}`)
}

// SetFail scripts the answers: fn is asked before each verified request
// (n counts them from 1), and a non-zero CRMAnswer is given instead of
// accepting it.
func (c *CRM) SetFail(fn func(n int, e CRMEvent) CRMAnswer) {
	c.mu.Lock()
	c.fail = fn
	c.mu.Unlock()
}

func (c *CRM) signal() {
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

// Accepted lists the events answered 2xx, in arrival order.
func (c *CRM) Accepted() []CRMEvent {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.accepted)
}

// Attempts is how many verified requests carried webhook-id id.
func (c *CRM) Attempts(id string) int { return len(c.AttemptTimes(id)) }

// AttemptTimes says when each verified request with webhook-id id came.
func (c *CRM) AttemptTimes(id string) []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.attempts[id])
}

// Bad lists the requests that failed verification.
func (c *CRM) Bad() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.bad)
}

// Requests counts the verified requests so far.
func (c *CRM) Requests() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.requests
}

// Ticket is the ticket_id the CRM gave session ("" if none).
func (c *CRM) Ticket(session string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tickets[session]
}

// WaitFor waits until done holds for the accepted events (checked after
// every request), failing the test after timeout.
func (c *CRM) WaitFor(t testing.TB, timeout time.Duration, what string, done func([]CRMEvent) bool) []CRMEvent {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if got := c.Accepted(); done(got) {
			return got
		}
		select {
		case <-c.changed:
		case <-deadline:
			t.Fatalf("the CRM did not get %s within %s; accepted %s; refused %v", what, timeout, Summary(c.Accepted()), c.Bad())
		}
	}
}

// Summary shows events as "S-XXXXX ticket.comment/link, ...".
func Summary(events []CRMEvent) string {
	var parts []string
	for _, e := range events {
		parts = append(parts, e.Session()+" "+TypeKind(e))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// TypeKind is "ticket.comment/link", "ticket.attachment/application/pdf",
// "ticket.created".
func TypeKind(e CRMEvent) string {
	switch e.Type {
	case "ticket.comment":
		return e.Type + "/" + e.Str("kind")
	case "ticket.attachment":
		return e.Type + "/" + e.Str("content_type")
	}
	return e.Type
}

// PerSession groups events by session, each in arrival order, the same
// webhook-id kept once (at least once delivery may repeat one).
func PerSession(events []CRMEvent) map[string][]CRMEvent {
	out := map[string][]CRMEvent{}
	seen := map[string]bool{}
	for _, e := range events {
		if seen[e.ID] {
			continue
		}
		seen[e.ID] = true
		out[e.Session()] = append(out[e.Session()], e)
	}
	return out
}
