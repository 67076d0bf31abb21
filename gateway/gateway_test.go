package gateway_test

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"

	"mxdesk/config"
	"mxdesk/gateway"
	"mxdesk/testutil"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func startGateway(t *testing.T, extra string) *gateway.Gateway {
	t.Helper()
	return startGatewayCfg(t, testutil.Config(t, extra))
}

// startGatewayCfg starts a gateway on cfg, closed (and checked) when the
// test ends.
func startGatewayCfg(t testing.TB, cfg *config.Config) *gateway.Gateway {
	t.Helper()
	return startGatewayClock(t, cfg, nil)
}

// startGatewayClock is startGatewayCfg with the router on clock (nil:
// the real one).
func startGatewayClock(t testing.TB, cfg *config.Config, clock *testutil.Clock) *gateway.Gateway {
	t.Helper()
	now := time.Now
	if clock != nil {
		now = clock.Now
	}
	g, err := gateway.NewClocked(cfg, quietLog(), now)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		g.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := g.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return g
}

// TestSMTPToIMAPIdle is the whole inbound path through the wired gateway:
// a message sent to the MX shows up as EXISTS on an agent's IDLE.
func TestSMTPToIMAPIdle(t *testing.T) {
	g := startGateway(t, "")

	exists := make(chan uint32, 4)
	c, err := imapclient.DialInsecure(g.Addr("imap"), &imapclient.Options{
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					exists <- *d.NumMessages
				}
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("alice@example.test", testutil.Password).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("Queues/Support", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}

	msg := "From: carla@customer.test\r\nSubject: where is my order\r\nMessage-ID: <gw-1@customer.test>\r\n\r\nhello\r\n"
	sc, err := smtp.Dial(g.Addr("smtp"))
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if err := sc.SendMail("carla@customer.test", []string{"support@example.test"}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-exists:
		if n != 1 {
			t.Errorf("EXISTS %d, want 1", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no EXISTS within 10s of the 250")
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
	bufs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Envelope: true}).Collect()
	if err != nil || len(bufs) != 1 || bufs[0].Envelope.Subject != "where is my order" {
		t.Fatalf("fetch: %v %+v", err, bufs)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	g := startGateway(t, "")
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := http.Get("http://" + g.Addr("http") + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: %s", path, resp.Status)
		}
	}
}

func TestListenerErrorNamesItsKey(t *testing.T) {
	g := startGateway(t, "")
	cfg := testutil.Config(t, "")
	cfg.Listen.IMAP = g.Addr("imap") // taken
	g2, err := gateway.New(cfg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	defer g2.Close()
	err = g2.Start()
	if err == nil || !strings.Contains(err.Error(), "listen.imap") {
		t.Fatalf("Start on a taken port: %v, want an error naming listen.imap", err)
	}
}

// TestCloseSaysBye: stopping the gateway (SIGTERM, restart) tells an agent
// whose client is in IDLE that the server is going away, then closes.
func TestCloseSaysBye(t *testing.T) {
	g, err := gateway.New(testutil.Config(t, ""), quietLog())
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(); err != nil {
		g.Close()
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", g.Addr("imap"))
	if err != nil {
		g.Close()
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	for _, cmd := range []string{"", "a login alice@example.test " + testutil.Password, "b select INBOX", "c idle"} {
		if cmd != "" {
			fmt.Fprintf(conn, "%s\r\n", cmd)
		}
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				g.Close()
				t.Fatalf("%q: %v", cmd, err)
			}
			if cmd == "" || strings.HasPrefix(l, cmd[:1]+" OK") || strings.HasPrefix(l, "+ ") {
				break
			}
		}
	}
	if err := g.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if l, err := r.ReadString('\n'); err != nil || l != "* BYE mxdesk is shutting down; reconnect in a moment\r\n" {
		t.Errorf("IDLE after Close got %q, %v; want the shutdown BYE", l, err)
	}
}
