package crm

import (
	"context"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"mxdesk/store"
	"mxdesk/testutil"
)

// feedFor builds a feed posting to url, with the CRM's secret.
func feedFor(t *testing.T, c *testutil.CRM, url string, opts Options) *Feed {
	t.Helper()
	cfg := testutil.Config(t, c.TOML(""))
	cfg.CRM.URL = url
	f, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

var hook = store.Hook{ID: 1, WebhookID: "msg_TEST", Session: "S-TEST1", Type: TypeComment}

// TestTLSVerified: a CRM whose certificate the system roots don't trust
// is refused; with its CA in the roots the same request goes through.
func TestTLSVerified(t *testing.T) {
	c := testutil.StartCRM(t)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, `{"ticket_id": 42}`) }))
	defer srv.Close()
	rep := feedFor(t, c, srv.URL, Options{}).post(context.Background(), hook, []byte(`{}`))
	if rep.Err == nil || !strings.Contains(rep.Err.Error(), "certificate") {
		t.Fatalf("an untrusted certificate: %+v, want a certificate error", rep)
	}
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	tlsConf := srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	tlsConf.RootCAs = roots
	rep = feedFor(t, c, srv.URL, Options{TLSConfig: tlsConf}).post(context.Background(), hook, []byte(`{}`))
	if rep.Result != ResultDelivered || rep.TicketID != "42" {
		t.Fatalf("a trusted certificate: %+v, want delivered with ticket 42", rep)
	}
}

// TestAnswers: how each answer is classified, a redirect is not
// followed, and a huge answer is read only up to its limit.
func TestAnswers(t *testing.T) {
	c := testutil.StartCRM(t)
	for _, tt := range []struct {
		name   string
		serve  func(w http.ResponseWriter)
		result string
		ticket string
	}{
		{"400", func(w http.ResponseWriter) { w.WriteHeader(400) }, ResultDead, ""},
		{"404", func(w http.ResponseWriter) { w.WriteHeader(404) }, ResultDead, ""},
		{"408", func(w http.ResponseWriter) { w.WriteHeader(408) }, "", ""},
		{"503", func(w http.ResponseWriter) { w.WriteHeader(503) }, "", ""},
		{"redirect", func(w http.ResponseWriter) {
			w.Header().Set("Location", "https://elsewhere.example/")
			w.WriteHeader(307)
		}, "", ""},
		{"huge answer", func(w http.ResponseWriter) {
			io.WriteString(w, `{"ticket_id": "T-1", "pad": "`+strings.Repeat("x", 2*maxResponse)+`"}`)
		}, ResultDelivered, ""},
		{"ticket with a newline", func(w http.ResponseWriter) { io.WriteString(w, `{"ticket_id": "T\n1"}`) }, ResultDelivered, ""},
		{"not JSON", func(w http.ResponseWriter) { io.WriteString(w, `ok`) }, ResultDelivered, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { tt.serve(w) }))
			defer srv.Close()
			rep := feedFor(t, c, srv.URL, Options{}).post(context.Background(), hook, []byte(`{}`))
			if rep.Result != tt.result || rep.TicketID != tt.ticket || (tt.result != ResultDelivered && rep.Err == nil) {
				t.Errorf("%+v, want result %q ticket %q", rep, tt.result, tt.ticket)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{"120": 2 * time.Minute, "Thu, 03 Dec 2026 09:00:30 GMT": 30 * time.Second, "0": 0} {
		if got, ok := retryAfter(v, now); !ok || got != want {
			t.Errorf("Retry-After %q: %v %v, want %v", v, got, ok, want)
		}
	}
	for _, v := range []string{"", "soon", "-5"} {
		if _, ok := retryAfter(v, now); ok {
			t.Errorf("Retry-After %q accepted", v)
		}
	}
}

// TestResponseTimeout: a CRM that takes the request and never answers
// costs one attempt of crm.timeout, retried later, never a stuck worker.
func TestResponseTimeout(t *testing.T) {
	c := testutil.StartCRM(t)
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // the server notices a closed connection only after the body
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	defer srv.Close()
	defer close(stop)
	cfg := testutil.Config(t, c.TOML(""))
	cfg.CRM.URL = srv.URL
	cfg.CRM.Timeout.Duration = 200 * time.Millisecond
	f, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan Report, 1)
	go func() { done <- f.post(context.Background(), hook, []byte(`{}`)) }()
	select {
	case rep := <-done:
		if rep.Result != "" || rep.Err == nil || !strings.Contains(rep.Err.Error(), "Timeout") {
			t.Fatalf("%+v, want a retryable timeout", rep)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the attempt did not end at crm.timeout")
	}
}
