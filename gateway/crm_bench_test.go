package gateway_test

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"mxdesk/config"
	"mxdesk/gateway"
	"mxdesk/testutil"
)

// benchSenders is how many SMTP clients send at once in the benchmarks.
const benchSenders = 8

// benchConfig is the gateway configuration of the benchmarks: one
// sender sends them all.
func benchConfig(b *testing.B, extra string) *config.Config {
	return testutil.Config(b, "[limits]\nmessages_per_sender_per_hour = 0\ncommands_per_connection = 0\n"+extra)
}

// sendMany sends n new customer messages (each a new session) through the
// MX of g from benchSenders clients at once.
func sendMany(b *testing.B, g *gateway.Gateway, n int, prefix string) {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, benchSenders)
	for range benchSenders {
		wg.Go(func() {
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				id := fmt.Sprintf("%s-%d", prefix, i)
				msg := customerMail(id, "support@example.test", "")
				if err := sendPlain(g.Addr("smtp"), msg); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// BenchmarkIntakeWithCRM measures mail intake (messages per second
// through the MX, each a new session) with the CRM feed off and with a
// CRM that answers every webhook after 5 s: the feed only writes outbox
// rows in the intake's transaction, so the two should be within 10%
// (docs/performance.md).
func BenchmarkIntakeWithCRM(b *testing.B) {
	for _, mode := range []string{"off", "slow5s"} {
		b.Run("crm="+mode, func(b *testing.B) {
			extra := ""
			if mode != "off" {
				c := testutil.StartCRM(b)
				c.SetFail(func(int, testutil.CRMEvent) testutil.CRMAnswer { return testutil.CRMAnswer{Delay: 5 * time.Second} })
				extra = c.TOML(`content = "off"` + "\npdf = \"off\"")
			}
			g := startGatewayCfg(b, benchConfig(b, extra))
			b.ResetTimer()
			start := time.Now()
			sendMany(b, g, b.N, "in-"+mode)
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}

// BenchmarkCRMOutbox measures the events per second the outbox delivers
// to a CRM that answers at once: b.N sessions (two events each:
// ticket.created and the link) arrive through the MX, and the clock stops
// when the CRM has every event.
func BenchmarkCRMOutbox(b *testing.B) {
	c := testutil.StartCRM(b)
	g := startGatewayCfg(b, benchConfig(b, c.TOML(`content = "off"`+"\npdf = \"off\"")))
	b.ResetTimer()
	start := time.Now()
	sendMany(b, g, b.N, "ob")
	c.WaitFor(b, 10*time.Minute, "every event", func(ev []testutil.CRMEvent) bool { return len(ev) >= 2*b.N })
	b.ReportMetric(float64(2*b.N)/time.Since(start).Seconds(), "events/s")
}

// sendPlain sends msg from carla to support@ over one new SMTP connection
// without TLS (the test MX offers none).
func sendPlain(addr, msg string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SendMail("carla@customer.test", []string{"support@example.test"}, strings.NewReader(msg)); err != nil {
		return err
	}
	return c.Quit()
}
