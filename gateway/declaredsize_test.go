package gateway_test

import (
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// TestDeclaredSizeReserved: the size a client declares at MAIL FROM
// (SIZE=, RFC 1870; Thunderbird always sends it) is held of
// limits.inflight_message_bytes from MAIL on: a declared size the cap
// has no room for is refused at once with 452 4.3.2 naming the key,
// before the client sends its body; one that fits keeps its room against
// later messages, and is given back by RSET, by the connection's end, or
// once the body is in (what it really holds counting from then).
// Before, nothing was held until the body arrived.
func TestDeclaredSizeReserved(t *testing.T) {
	g := startGateway(t, inflightConfig(time.Minute))
	stalled, stalledBR := openData(t, g.Addr("smtp"), "stalled")
	stalled.Write([]byte(messageOf("stalled", inflightBody)))
	waitInflight(t, g, heldOfStalled, true)
	heldByStalled := inflight(t, g)

	refused := dialSMTP(t, g.Addr("smtp"))
	if err := refused.Mail("carla@customer.test", &smtp.MailOptions{Size: inflightBody}); !isReply(err, 452, smtp.EnhancedCode{4, 3, 2}, "limits.inflight_message_bytes") {
		t.Fatalf("MAIL with a SIZE= the cap has no room for: %v, want 452 4.3.2 naming limits.inflight_message_bytes", err)
	}
	if n := scrapeMetrics(t, g).value("mxdesk_messages_rejected_total", "service", "smtp", "reason", "in_transit"); n != 1 {
		t.Errorf("in_transit refusals: %v, want 1", n)
	}

	const declared = 50_000
	reserved := dialSMTP(t, g.Addr("smtp"))
	if err := reserved.Mail("carla@customer.test", &smtp.MailOptions{Size: declared}); err != nil {
		t.Fatalf("MAIL with a SIZE= that fits: %v", err)
	}
	if held := inflight(t, g); held != heldByStalled+declared {
		t.Fatalf("after MAIL SIZE=%d: %v bytes held, want %v", declared, held, heldByStalled+declared)
	}
	// The reservation keeps its room: a message without SIZE= finds none.
	undeclared, undeclaredBR := openData(t, g.Addr("smtp"), "undeclared")
	undeclared.Write([]byte(messageOf("undeclared", 40_000)))
	if reply := endData(t, undeclared, undeclaredBR); !strings.HasPrefix(reply, "451 4.3.2 ") {
		t.Fatalf("a message past the room another declared: %q, want 451 4.3.2", reply)
	}
	// Less than declared: what the body holds counts from then on.
	if err := reserved.Rcpt("support@example.test", nil); err != nil {
		t.Fatal(err)
	}
	w, err := reserved.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(messageOf("declared", declared/2)))
	if err := w.Close(); err != nil {
		t.Fatalf("the declared message: %v", err)
	}
	if reply := endData(t, stalled, stalledBR); !strings.HasPrefix(reply, "250 ") {
		t.Fatalf("the stalled message, ended: %q", reply)
	}
	waitInflight(t, g, 0, false)

	// RSET and the end of the connection give a reservation back.
	if err := reserved.Mail("carla@customer.test", &smtp.MailOptions{Size: 100_000}); err != nil {
		t.Fatal(err)
	}
	waitInflight(t, g, 100_000, false)
	if err := reserved.Reset(); err != nil {
		t.Fatal(err)
	}
	waitInflight(t, g, 0, false)
	if err := reserved.Mail("carla@customer.test", &smtp.MailOptions{Size: 100_000}); err != nil {
		t.Fatal(err)
	}
	waitInflight(t, g, 100_000, false)
	reserved.Close()
	waitInflight(t, g, 0, false)
}
