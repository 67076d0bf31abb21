package gateway_test

import (
	"sync/atomic"
	"testing"

	"mxdesk/delivery"
	"mxdesk/panics"
	"mxdesk/testutil"
)

// TestRecoveredPanicIsCounted: a panic in a delivery attempt (here from
// the after-attempt hook, which runs inside the attempt) is recovered and
// counted: mxdesk_panics_total{where="delivery_attempt"} goes up, the
// server stays ready and the worker delivers the next reply.
func TestRecoveredPanicIsCounted(t *testing.T) {
	g, snk := metricsGateway(t)
	attempts := make(chan delivery.Report, 16)
	var panicked atomic.Bool
	g.AfterDeliveryAttempt(func(rep delivery.Report) {
		attempts <- rep
		if panicked.CompareAndSwap(false, true) {
			panic(panics.Deliberate("bug after a delivery attempt"))
		}
	})
	counted := panics.Counts()[panics.DeliveryAttempt]
	before := scrapeMetrics(t, g).value("mxdesk_panics_total", "where", "delivery_attempt")
	if before != float64(counted) {
		t.Errorf("mxdesk_panics_total{where=delivery_attempt} = %v, the process counted %d", before, counted)
	}

	sendMX(t, g, "support@example.test", "p0@customer.test", "order")
	submitReply(t, g, snk, attempts, "p0@customer.test", "pr1@example.test")
	// The hook panics after reporting the attempt: wait for the recovery.
	testutil.WaitPanics(t, panics.DeliveryAttempt, counted+1)
	if got := scrapeMetrics(t, g).value("mxdesk_panics_total", "where", "delivery_attempt"); got != before+1 {
		t.Errorf("mxdesk_panics_total{where=delivery_attempt} = %v after the panic, want %v", got, before+1)
	}

	submitReply(t, g, snk, attempts, "p0@customer.test", "pr2@example.test")
	if got := scrapeMetrics(t, g).value("mxdesk_ready"); got != 1 {
		t.Errorf("mxdesk_ready = %v after a recovered panic", got)
	}
}
