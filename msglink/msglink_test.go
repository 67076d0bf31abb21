package msglink

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestLinkRoundTripTamperExpiry(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	s := New([]byte("key"), "https://desk.example.test/", time.Hour, func() time.Time { return now })
	link := s.URL("S-34679", 42)
	if !strings.HasPrefix(link, "https://desk.example.test/m/S-34679/42?") {
		t.Fatalf("link %q", link)
	}
	u, _ := url.Parse(link)
	sess, blob, err := s.Verify(u)
	if err != nil || sess != "S-34679" || blob != 42 {
		t.Fatalf("Verify = %q %d %v", sess, blob, err)
	}
	for _, bad := range []string{
		strings.Replace(link, "/42?", "/43?", 1),
		strings.Replace(link, "S-34679", "S-34670", 1),
		strings.Replace(link, "exp=", "exp=9", 1),
	} {
		u, _ := url.Parse(bad)
		if _, _, err := s.Verify(u); !errors.Is(err, ErrInvalid) {
			t.Errorf("tampered %q: err %v", bad, err)
		}
	}
	other := New([]byte("other"), "https://desk.example.test", time.Hour, func() time.Time { return now })
	if _, _, err := other.Verify(u); !errors.Is(err, ErrInvalid) {
		t.Errorf("other key: err %v", err)
	}
	now = now.Add(time.Hour + time.Second)
	if _, _, err := s.Verify(u); !errors.Is(err, ErrExpired) {
		t.Errorf("expired: err %v", err)
	}
}
