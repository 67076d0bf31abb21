package gateway_test

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"mxdesk/testutil"
)

// shortReadTimeout is smtp.read_timeout in these tests: long enough for
// a loopback round trip under -race, short enough to keep them fast.
const shortReadTimeout = 500 * time.Millisecond

// closedWithin reads c until the server closes it and returns what it
// said; the test fails if that takes longer than bound.
func closedWithin(t *testing.T, c net.Conn, br *bufio.Reader, bound time.Duration) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(bound))
	var said strings.Builder
	for {
		line, err := br.ReadString('\n')
		said.WriteString(line)
		// A reset: the client was still writing when the server closed.
		if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
			return said.String()
		}
		if err != nil {
			t.Fatalf("not closed within %v (%v); read %q", bound, err, said.String())
		}
	}
}

// smtpConn dials the MX and reads its greeting.
func smtpConn(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, line := firstLine(t, addr)
	if !strings.HasPrefix(line, "220 ") {
		t.Fatalf("greeting %q", line)
	}
	return c, bufio.NewReader(c)
}

// trickle writes stream to c again and again, four writes per
// shortReadTimeout: a byte per write when byByte, else the whole stream.
// The returned func stops it.
func trickle(c net.Conn, stream string, byByte bool) (stop func()) {
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(shortReadTimeout / 4)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			chunk := stream
			if byByte {
				chunk = stream[i%len(stream) : i%len(stream)+1]
			}
			if _, err := c.Write([]byte(chunk)); err != nil {
				return
			}
		}
	}()
	return func() { close(done) }
}

// TestSMTPReadTimeoutEndsSessions: smtp.read_timeout bounds each step of
// a session, not each line, so neither a silent client nor one that keeps
// sending bad commands (each answered 500) outlives it, and a message
// that stops arriving gets a temporary answer that names no address.
func TestSMTPReadTimeoutEndsSessions(t *testing.T) {
	g := startGateway(t, "[smtp]\nread_timeout = \""+shortReadTimeout.String()+"\"\n")
	bound := 4 * shortReadTimeout

	t.Run("silent", func(t *testing.T) {
		c, br := smtpConn(t, g.Addr("smtp"))
		if said := closedWithin(t, c, br, bound); !strings.HasPrefix(said, "421 4.4.2 ") || !strings.Contains(strings.ToLower(said), "idle timeout") {
			t.Errorf("silent client read %q, want 421 4.4.2 idle timeout", said)
		}
	})

	// Before, every line gave the client a fresh read_timeout: a bad
	// command trickled a byte at a time lived for four of them (until
	// "too many errors"), NOOPs for ever.
	for _, tc := range []struct{ name, stream string }{
		{"trickled bad commands", "X\r\n"},
		{"NOOPs", "NOOP\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, br := smtpConn(t, g.Addr("smtp"))
			stop := trickle(c, tc.stream, tc.stream == "X\r\n")
			defer stop()
			said := closedWithin(t, c, br, 2*shortReadTimeout)
			lines := strings.Split(strings.TrimSpace(said), "\n")
			if last := lines[len(lines)-1]; !strings.HasPrefix(last, "421 4.4.2 ") {
				t.Errorf("last reply %q, want 421 4.4.2 idle timeout (all: %q)", last, said)
			}
		})
	}

	for _, tc := range []struct{ verb, partial string }{
		{"DATA", "From: carla@customer.test\r\nSubject: half a message\r\n\r\nand then nothing"},
		{"BDAT 1000 LAST", "From: carla@customer.test\r\nSubject: half a chunk\r\n\r\nand then nothing"},
	} {
		t.Run("stalled "+tc.verb, func(t *testing.T) {
			c, br := smtpConn(t, g.Addr("smtp"))
			cmds := []string{"EHLO client.customer.test", "MAIL FROM:<carla@customer.test>", "RCPT TO:<support@example.test>"}
			if tc.verb == "DATA" {
				cmds = append(cmds, "DATA")
			}
			for _, cmd := range cmds {
				c.Write([]byte(cmd + "\r\n"))
				if line := lastReplyLine(t, br); line[0] != '2' && line[0] != '3' {
					t.Fatalf("%s: %q", cmd, line)
				}
			}
			if tc.verb != "DATA" {
				c.Write([]byte(tc.verb + "\r\n"))
			}
			c.Write([]byte(tc.partial))
			said := closedWithin(t, c, br, bound)
			if !strings.HasPrefix(said, "451 4.4.2 ") || strings.Count(said, "\n") != 1 {
				t.Errorf("stalled %s answered %q, want one 451 4.4.2 (temporary), then the connection closed", tc.verb, said)
			}
			if strings.Contains(said, "127.0.0.1") || strings.Contains(said, "i/o timeout") {
				t.Errorf("stalled %s answer shows the network error: %q", tc.verb, said)
			}
		})
	}
}

// lastReplyLine reads one SMTP reply and returns its last line.
func lastReplyLine(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if len(line) < 4 || line[3] != '-' {
			return line
		}
	}
}

// TestTLSHandshakeTimeout: a TCP connect to an implicit TLS listener that
// never sends a ClientHello is closed after limits.tls_handshake_timeout
// (before, imaps kept it for ever and submissions for smtp.read_timeout),
// and a client that does the handshake in time is served.
func TestTLSHandshakeTimeout(t *testing.T) {
	cfg := testutil.Config(t, "[limits]\ntls_handshake_timeout = \""+shortReadTimeout.String()+"\"\n")
	cfg.Listen.Submissions, cfg.Listen.IMAPS = "127.0.0.1:0", "127.0.0.1:0"
	cfg.TLS.Cert, cfg.TLS.Key = testutil.TLSFiles(t, t.TempDir())
	g := startGatewayCfg(t, cfg)
	for _, name := range []string{"submissions", "imaps"} {
		t.Run(name, func(t *testing.T) {
			c, err := net.Dial("tcp", g.Addr(name))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			start := time.Now()
			if said := closedWithin(t, c, bufio.NewReader(c), 4*shortReadTimeout); said != "" {
				t.Errorf("silent client read %q", said)
			}
			if took := time.Since(start); took < shortReadTimeout/2 {
				t.Errorf("closed after %v, before the handshake timeout", took)
			}

			tc, err := tls.Dial("tcp", g.Addr(name), &tls.Config{InsecureSkipVerify: true})
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			defer tc.Close()
			tc.SetReadDeadline(time.Now().Add(5 * time.Second))
			if line, _ := bufio.NewReader(tc).ReadString('\n'); !strings.HasPrefix(line, "220 ") && !strings.HasPrefix(line, "* OK") {
				t.Errorf("greeting after the handshake %q", line)
			}
		})
	}
}

// TestHTTPIdleTimeout: an HTTP keep-alive connection left idle after a
// request is closed after limits.http_idle_timeout.
func TestHTTPIdleTimeout(t *testing.T) {
	g := startGateway(t, "[limits]\nhttp_idle_timeout = \""+shortReadTimeout.String()+"\"\n")
	c, err := net.Dial("tcp", g.Addr("http"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: mx.example.test\r\n\r\n"))
	br := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("first request: %s, close=%v; want 200 on a kept-alive connection", resp.Status, resp.Close)
	}
	if said := closedWithin(t, c, br, 4*shortReadTimeout); said != "" {
		t.Errorf("idle connection read %q", said)
	}
}
