package gateway_test

import (
	"fmt"
	"os"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"mxdesk/router"
	"mxdesk/testutil/dovecottest"
)

// connectorBenchMessages is the size of the backfill measured.
const connectorBenchMessages = 10000

// TestAccountBackfillThroughput (opt-in: MXDESK_CONNECTOR_BENCH=1)
// reports the import throughput of a 10,000-message backfill from a real
// Dovecot (since = an old day) and the IDLE-to-queue latency of 50 single
// messages appended afterwards. Figures go to docs/performance.md.
func TestAccountBackfillThroughput(t *testing.T) {
	if os.Getenv("MXDESK_CONNECTOR_BENCH") == "" {
		t.Skip("opt-in: MXDESK_CONNECTOR_BENCH=1")
	}
	u := dovecottest.Shared(t).NewUser(t)
	up := u.Client(t)
	appendMany(t, up, connectorBenchMessages)

	var n atomic.Int64
	done := make(chan struct{})
	latest := make(chan router.Delivered, 1)
	start := time.Now()
	e := startFromFileWith(t, "", accountTable(u, "INBOX", u.PasswordFile, `since = "2000-01-01"`))
	e.g.OnImport(func(_ string, d router.Delivered) {
		switch got := n.Add(1); {
		case got == connectorBenchMessages:
			close(done)
		case got > connectorBenchMessages:
			latest <- d
		}
	})
	select {
	case <-done:
	case <-time.After(10 * time.Minute):
		t.Fatalf("%d of %d imported after 10 minutes", n.Load(), connectorBenchMessages)
	}
	took := time.Since(start)
	t.Logf("backfill: %d messages in %v: %.0f messages/s", connectorBenchMessages, took.Round(time.Millisecond), connectorBenchMessages/took.Seconds())

	var lat []time.Duration
	for i := range 50 {
		sent := time.Now()
		u.Append(t, up, "INBOX", upstreamMail(fmt.Sprintf("lat-%d", i), "lat@customer.test", "latency"))
		select {
		case <-latest:
			lat = append(lat, time.Since(sent))
		case <-time.After(20 * time.Second):
			t.Fatal("a message appended after the backfill was not imported")
		}
	}
	slices.Sort(lat)
	t.Logf("IDLE to queue (APPEND acknowledged to filed), 50 messages: median %v, p90 %v, max %v",
		lat[len(lat)/2].Round(time.Microsecond), lat[len(lat)*9/10].Round(time.Microsecond), lat[len(lat)-1].Round(time.Microsecond))
}

// appendMany appends n distinct small messages, 200 commands in flight.
func appendMany(t *testing.T, c *imapclient.Client, n int) {
	t.Helper()
	var pending []*imapclient.AppendCommand
	flush := func() {
		for _, cmd := range pending {
			if _, err := cmd.Wait(); err != nil {
				t.Fatal(err)
			}
		}
		pending = pending[:0]
	}
	for i := range n {
		raw := []byte(fmt.Sprintf("From: c%d@customer.test\r\nTo: help@upstream.test\r\nSubject: backfill %d\r\nMessage-ID: <bf-%d@customer.test>\r\n\r\nhello %d\r\n", i, i, i, i))
		cmd := c.Append("INBOX", int64(len(raw)), nil)
		if _, err := cmd.Write(raw); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Close(); err != nil {
			t.Fatal(err)
		}
		pending = append(pending, cmd)
		if len(pending) == 200 {
			flush()
		}
	}
	flush()
}
