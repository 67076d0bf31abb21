package gateway_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"mxdesk/gateway"
	"mxdesk/testutil"
)

// On badger a node is alone: it holds every duty at once, says so on
// the admin API (GET /v1/duties) and in mxdesk_duty_held.
func TestBadgerNodeHoldsEveryDuty(t *testing.T) {
	cfg := testutil.Config(t, "")
	g := startGatewayCfg(t, cfg)
	want := []string{"campaigns", "connector", "timers"}
	held := func() bool {
		code, body := adminGet(t, gateway.AdminSocket(cfg), "/v1/duties")
		if code != 200 {
			t.Fatalf("GET /v1/duties: %d %s", code, body)
		}
		var got []gateway.DutyStatus
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		return allHeld(got, want)
	}
	waitFor(t, fmt.Sprintf("GET /v1/duties to show %v held", want), held, g)
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
