package gateway_test

import (
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// TestCampaignThroughputAndMemory measures a 100,000-row campaign
// (opt-in, it takes minutes):
//
//	MXDESK_CAMPAIGN_BENCH=1 go test -count=1 -v -run TestCampaignThroughputAndMemory ./gateway/
//
// It uploads the list over the admin socket, then sends at 1000/s (the
// highest rate) into a loopback sink on the real clock and reports the
// upload time, the Go heap after the upload and its peak while sending,
// and the messages per second the sink received. It asserts nothing;
// docs/performance.md has the figures.
func TestCampaignThroughputAndMemory(t *testing.T) {
	if os.Getenv("MXDESK_CAMPAIGN_BENCH") == "" {
		t.Skip("set MXDESK_CAMPAIGN_BENCH=1 to run the campaign benchmark")
	}
	const rows, measured = 100_000, 3_000 // measured: messages timed into the sink
	sink := startCampaignSink(t)
	g := startGatewayCfg(t, campaignConfig(t, sink.addr))
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	start := time.Now()
	// Sending starts once the whole list is stored: the upload is
	// measured alone.
	c := createCampaign(t, g, "Mon-Sun 00:00-24:00", "1000/s", campaignList(rows))
	upload := time.Since(start)
	after := heap()
	t.Logf("upload of %d rows: %v; heap %d MB before, %d MB after", rows, upload, before>>20, after>>20)

	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				if m.HeapAlloc > peak.Load() {
					peak.Store(m.HeapAlloc)
				}
			}
		}
	}()
	t0 := time.Now()
	waitFor(t, fmt.Sprintf("%d messages at the sink", measured), func() bool {
		n, _ := sink.counts()
		return n >= measured
	}, g)
	elapsed := time.Since(t0)
	close(stop)
	<-done
	n, _ := sink.counts()
	t.Logf("sent %d of %d rows in %v: %.0f messages/s into the sink; heap peak while sending %d MB",
		n, rows, elapsed, float64(n)/elapsed.Seconds(), peak.Load()>>20)
	counts := campaignCounts(t, g, c.ID)
	t.Logf("counts when measured: %v", counts)
}
