package config

import (
	"strings"
	"testing"
)

// api.requests_per_minute defaults to 600 and must be positive, reported
// with its key and line.
func TestAPIRequestsPerMinute(t *testing.T) {
	c, errs := parse(t, base)
	if errs != nil {
		t.Fatal(errs)
	}
	if c.API.RequestsPerMinute != DefaultAPIRequestsPerMinute {
		t.Errorf("default api.requests_per_minute = %d", c.API.RequestsPerMinute)
	}
	_, errs = parse(t, edit(t, "[listen]", "[api]\nrequests_per_minute = 0\n[listen]"))
	for _, e := range errs {
		if e.Key == "api.requests_per_minute" && e.Line > 0 && strings.Contains(e.Msg, "must be a positive number") {
			return
		}
	}
	t.Errorf("requests_per_minute = 0: errors %v", errs)
}
