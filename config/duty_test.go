package config

import (
	"strings"
	"testing"
	"time"
)

// delivery.lease defaults to 15m and must outlast twice delivery.timeout;
// the error names the key and its line.
func TestDeliveryLease(t *testing.T) {
	c, errs := parse(t, edit(t))
	if errs != nil {
		t.Fatal(errs)
	}
	if c.Delivery.Lease.Duration != 15*time.Minute {
		t.Errorf("delivery.lease default %v, want 15m", c.Delivery.Lease.Duration)
	}
	c, errs = parse(t, edit(t, "[listen]", "[delivery]\nlease = \"5m\"\n[listen]"))
	if errs != nil || c.Delivery.Lease.Duration != 5*time.Minute {
		t.Fatalf("lease 5m: %v, %v", c.Delivery.Lease, errs)
	}
	doc := edit(t, "[listen]", "[delivery]\ntimeout = \"1m\"\nlease = \"90s\"\n[listen]")
	_, errs = parse(t, doc)
	line := 1 + strings.Count(doc[:strings.Index(doc, "lease =")], "\n")
	for _, e := range errs {
		if e.Key == "delivery.lease" && strings.Contains(e.Msg, "at least twice delivery.timeout (2m0s)") && e.Line == line {
			return
		}
	}
	t.Errorf("want delivery.lease at line %d, at least twice delivery.timeout, got:\n%v", line, errs)
}
