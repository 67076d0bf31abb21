package ratelimit

import (
	"testing"
	"time"
)

// RetryAfter is zero while events are admitted, then the time until the
// oldest counted one leaves the window.
func TestWindowRetryAfter(t *testing.T) {
	ck := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	w := NewWindow(2, time.Minute, ck.now)
	w.Allow("k")
	ck.t = ck.t.Add(20 * time.Second)
	if d := w.RetryAfter("k"); d != 0 {
		t.Errorf("one slot left: RetryAfter = %v", d)
	}
	w.Allow("k")
	ck.t = ck.t.Add(10 * time.Second)
	if d := w.RetryAfter("k"); d != 30*time.Second {
		t.Errorf("full: RetryAfter = %v, want 30s (the first event leaves the minute then)", d)
	}
	ck.t = ck.t.Add(30 * time.Second)
	if d := w.RetryAfter("k"); d != 0 || !w.Allow("k") {
		t.Errorf("after the first left: RetryAfter = %v", d)
	}
}
