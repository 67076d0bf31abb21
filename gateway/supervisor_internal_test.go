package gateway

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"mxdesk/testutil"
)

// TestSupervisorCredentialsOnlyOverTLSOrLoopback: without insecure_auth a
// client on another host over plain HTTP is refused before its
// credentials are looked at; on loopback (a reverse proxy on this host)
// they are checked.
func TestSupervisorCredentialsOnlyOverTLSOrLoopback(t *testing.T) {
	cfg := testutil.Config(t, "")
	cfg.TLS.InsecureAuth = false
	g, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	h := g.http.Handler
	for _, tc := range []struct {
		remote string
		status int
	}{
		{"192.0.2.7:40000", http.StatusForbidden},
		{"[2001:db8::7]:40000", http.StatusForbidden},
		{"127.0.0.1:40000", http.StatusOK},
		{"[::1]:40000", http.StatusOK},
	} {
		req := httptest.NewRequest("GET", "/supervisor/snapshot", nil)
		req.RemoteAddr = tc.remote
		req.SetBasicAuth("carol@example.test", testutil.Password)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.status {
			t.Errorf("from %s: %d, want %d: %s", tc.remote, rec.Code, tc.status, rec.Body)
		}
		if rec.Code == http.StatusForbidden && !strings.Contains(rec.Body.String(), "only over TLS") {
			t.Errorf("from %s: %q does not say why", tc.remote, rec.Body)
		}
	}
}

func TestFormatAge(t *testing.T) {
	for sec, want := range map[int64]string{0: "0s", 59: "59s", 60: "1m 00s", 725: "12m 05s", 3600*3 + 7*60: "3h 07m", 86400*2 + 4*3600 + 5: "2d 04h"} {
		if got := formatAge(sec); got != want {
			t.Errorf("formatAge(%d) = %q, want %q", sec, got, want)
		}
	}
}

// TestAutoconfigNamesHostname: a listener on a public address is
// described by the configured hostname and port; one on loopback by its
// address, since only that machine reaches it.
func TestAutoconfigNamesHostname(t *testing.T) {
	cfg := testutil.Config(t, "")
	cfg.Listen.IMAP, cfg.Listen.IMAPS, cfg.Listen.Submission, cfg.Listen.Submissions = "127.0.0.2:1143", "0.0.0.0:993", "[::]:587", ""
	cfg.TLS.Cert, cfg.TLS.Key = testutil.TLSFiles(t, t.TempDir())
	g, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	want := []clientServer{{"imap", "mx.example.test", 993, socketSSL}, {"imap", "127.0.0.2", 1143, socketSTARTTLS}, {"smtp", "mx.example.test", 587, socketSTARTTLS}}
	if got := g.clientServers(); !slices.Equal(got, want) {
		t.Errorf("servers %v, want %v", got, want)
	}
}
