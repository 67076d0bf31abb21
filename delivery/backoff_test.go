package delivery

import (
	"strings"
	"testing"
	"time"

	"mxdesk/store"
)

func TestBackoff(t *testing.T) {
	want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute,
		16 * time.Minute, 32 * time.Minute, time.Hour, time.Hour}
	for i, w := range want {
		if got := backoff(i + 1); got != w {
			t.Errorf("backoff(%d) = %v, want %v", i+1, got, w)
		}
	}
	if got := backoff(1000); got != time.Hour {
		t.Errorf("backoff(1000) = %v", got)
	}
}

// TestDSNWithoutOriginal: a bounce for a message whose body is gone
// still says who failed and why.
func TestDSNWithoutOriginal(t *testing.T) {
	dsn := string(buildDSN("mx.example.test", outboundForTest(), nil,
		[]result{localError("x@remote.test", "4.3.0", "reading the queued message: not found")}, time.Now()))
	for _, want := range []string{"Subject: Undelivered mail\r\n", "Final-Recipient: rfc822; x@remote.test\r\n",
		"Diagnostic-Code: X-mxdesk; reading the queued message: not found\r\n", "Status: 4.3.0\r\n"} {
		if !contains(dsn, want) {
			t.Errorf("DSN lacks %q:\n%s", want, dsn)
		}
	}
}

func outboundForTest() store.Outbound {
	return store.Outbound{ID: 7, Session: "S-AAAAA", From: "support@example.test", To: []string{"x@remote.test"}, Created: time.Now()}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
