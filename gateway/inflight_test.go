package gateway_test

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"mxdesk/gateway"
	"mxdesk/testutil"
)

// inflightBody is the size of the tests' messages: inflightConfig has
// room for one, not two.
const inflightBody = 80_000

// heldOfStalled is how much a stalled inflightBody surely holds: with a
// second inflightBody, more than inflightConfig's 150000.
const heldOfStalled = inflightBody - 1000

// inflightConfig is a small limits.inflight_message_bytes, with smtp.read_timeout.
func inflightConfig(readTimeout time.Duration) string {
	return fmt.Sprintf("[smtp]\nmax_message_bytes = 100000\nread_timeout = %q\n[limits]\ninflight_message_bytes = 150000\n", readTimeout)
}

// inflight is mxdesk_inflight_message_bytes as /metrics shows it now.
func inflight(t *testing.T, g *gateway.Gateway) float64 {
	t.Helper()
	return scrapeMetrics(t, g).value("mxdesk_inflight_message_bytes")
}

// openData dials the MX and goes as far as DATA's 354.
func openData(t *testing.T, addr, subject string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, br := smtpConn(t, addr)
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	startData(t, c, br)
	return c, br
}

// startData sends a transaction on c up to DATA's 354.
func startData(t *testing.T, c net.Conn, br *bufio.Reader) {
	t.Helper()
	for _, cmd := range []string{"EHLO client.customer.test", "MAIL FROM:<carla@customer.test>", "RCPT TO:<support@example.test>", "DATA"} {
		fmt.Fprintf(c, "%s\r\n", cmd)
		if line := lastReplyLine(t, br); line[0] != '2' && line[0] != '3' {
			t.Fatalf("%s: %q", cmd, line)
		}
	}
}

// messageOf is a message of at least size bytes in lines of 78.
func messageOf(subject string, size int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: carla@customer.test\r\nTo: support@example.test\r\nSubject: %s\r\n\r\n", subject)
	for b.Len() < size {
		b.WriteString(strings.Repeat("x", 76) + "\r\n")
	}
	return b.String()
}

// endData ends the message on c and returns the reply.
func endData(t *testing.T, c net.Conn, br *bufio.Reader) string {
	t.Helper()
	fmt.Fprint(c, ".\r\n")
	return lastReplyLine(t, br)
}

// waitInflight waits until the MX and submission hold want bytes, or at
// least want when atLeast.
// A stalled body holds a little less than was sent: go-smtp keeps its
// last line until it knows whether it is the end (see heldOfStalled).
func waitInflight(t *testing.T, g *gateway.Gateway, want float64, atLeast bool) {
	t.Helper()
	waitFor(t, fmt.Sprintf("mxdesk_inflight_message_bytes %v (at least: %v)", want, atLeast), func() bool {
		v := inflight(t, g)
		return v == want || (atLeast && v > want)
	}, g)
}

// TestInflightMessageBytes: a message that would take the bodies held in
// memory by all connections past limits.inflight_message_bytes gets a
// temporary 451 4.3.2 naming the key while another is stalled mid-DATA,
// its body is thrown away (the connection goes on), and once the first
// ends a new one is taken. The MX and submission share the budget.
// Before, every body was held whatever the total.
func TestInflightMessageBytes(t *testing.T) {
	cfg := testutil.Config(t, inflightConfig(time.Minute))
	cfg.Listen.Submission = "127.0.0.1:0"
	g := startGatewayCfg(t, cfg)

	stalled, stalledBR := openData(t, g.Addr("smtp"), "stalled")
	fmt.Fprint(stalled, messageOf("stalled", inflightBody))
	waitInflight(t, g, heldOfStalled, true)

	c, br := openData(t, g.Addr("smtp"), "second")
	fmt.Fprint(c, messageOf("second", inflightBody))
	if reply := endData(t, c, br); !strings.HasPrefix(reply, "451 4.3.2 ") || !strings.Contains(reply, "limits.inflight_message_bytes") {
		t.Fatalf("second message while the first is held: %q, want 451 4.3.2 naming limits.inflight_message_bytes", reply)
	}

	agent := authedSubmission(t, g, "alice@example.test")
	if err := agent.SendMail("alice@example.test", []string{"carla@customer.test"}, strings.NewReader(messageOf("reply", inflightBody))); !isReply(err, 451, smtp.EnhancedCode{4, 3, 2}, "limits.inflight_message_bytes") {
		t.Fatalf("a submission while the MX holds the stalled message: %v, want 451 4.3.2", err)
	}

	if reply := endData(t, stalled, stalledBR); !strings.HasPrefix(reply, "250 ") {
		t.Fatalf("the stalled message, ended: %q", reply)
	}
	// The refused body was read to its end: the same connection goes on.
	startData(t, c, br)
	fmt.Fprint(c, messageOf("second, again", inflightBody))
	if reply := endData(t, c, br); !strings.HasPrefix(reply, "250 ") {
		t.Fatalf("the second message again, after the first ended: %q", reply)
	}
	if v := inflight(t, g); v != 0 {
		t.Errorf("after both were taken %v bytes are still held", v)
	}
}

// TestInflightReleasedOnFailure: a client that drops the connection mid-
// DATA, or stalls until smtp.read_timeout, gives back what its body held.
func TestInflightReleasedOnFailure(t *testing.T) {
	g := startGateway(t, inflightConfig(shortReadTimeout))
	for _, tc := range []struct {
		name string
		fail func(c net.Conn, br *bufio.Reader)
	}{
		{"dropped", func(c net.Conn, _ *bufio.Reader) { c.Close() }},
		{"timed out", func(c net.Conn, br *bufio.Reader) { closedWithin(t, c, br, 4*shortReadTimeout) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, br := openData(t, g.Addr("smtp"), tc.name)
			fmt.Fprint(c, messageOf(tc.name, inflightBody))
			waitInflight(t, g, heldOfStalled, true)
			tc.fail(c, br)
			waitInflight(t, g, 0, false)

			// Had the failed body kept its bytes, this one would not fit.
			c, br = openData(t, g.Addr("smtp"), "after "+tc.name)
			fmt.Fprint(c, messageOf("after "+tc.name, inflightBody))
			if reply := endData(t, c, br); !strings.HasPrefix(reply, "250 ") {
				t.Fatalf("a message after one that %s: %q", tc.name, reply)
			}
		})
	}
}

// TestInflightRefusedGivesBackAtOnce: a refused message gives its bytes
// back when it is refused, not when the client has sent the rest (which
// is read and thrown away), so the messages still arriving get the room.
// Were it held until the end, many large messages at once would each be
// refused part way and none taken.
func TestInflightRefusedGivesBackAtOnce(t *testing.T) {
	g := startGateway(t, inflightConfig(time.Minute))

	// Half a message: the next is refused after it took some room.
	first, firstBR := openData(t, g.Addr("smtp"), "first")
	fmt.Fprint(first, messageOf("first", inflightBody/2))
	waitInflight(t, g, inflightBody/2-1000, true)

	// Refused part way, and still sending: it never ends its message.
	refused, _ := openData(t, g.Addr("smtp"), "refused")
	fmt.Fprint(refused, messageOf("refused", inflightBody))
	waitFor(t, "a message refused for limits.inflight_message_bytes", func() bool {
		return scrapeMetrics(t, g).value("mxdesk_messages_rejected_total", "service", "smtp", "reason", "in_transit") == 1
	}, g)

	if reply := endData(t, first, firstBR); !strings.HasPrefix(reply, "250 ") {
		t.Fatalf("the first message, ended: %q", reply)
	}
	c, br := openData(t, g.Addr("smtp"), "third")
	fmt.Fprint(c, messageOf("third", inflightBody))
	if reply := endData(t, c, br); !strings.HasPrefix(reply, "250 ") {
		t.Fatalf("a message while a refused one is still being thrown away: %q", reply)
	}
}
