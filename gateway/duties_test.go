package gateway_test

import (
	"encoding/json"
	"testing"
	"time"

	"mxdesk/gateway"
	"mxdesk/testutil"
)

// On badger a node is alone: it holds every duty at once, says so on
// the admin API (GET /v1/duties) and in mxdesk_duty_held.
func TestBadgerNodeHoldsEveryDuty(t *testing.T) {
	cfg := testutil.Config(t, "")
	g := startGatewayCfg(t, cfg)
	want := []string{"campaigns", "connector", "timers"}
	deadline := time.Now().Add(20 * time.Second)
	var got []gateway.DutyStatus
	for {
		code, body := adminGet(t, gateway.AdminSocket(cfg), "/v1/duties")
		if code != 200 {
			t.Fatalf("GET /v1/duties: %d %s", code, body)
		}
		got = nil
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		if allHeld(got, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /v1/duties = %s, want %v held", body, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	m := scrapeMetrics(t, g)
	for _, d := range want {
		if v := m.value("mxdesk_duty_held", "duty", d); v != 1 {
			t.Errorf("mxdesk_duty_held{duty=%q} = %v, want 1", d, v)
		}
	}
}

func allHeld(got []gateway.DutyStatus, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for i, d := range got {
		if d.Duty != want[i] || !d.Held {
			return false
		}
	}
	return true
}
