package main

import (
	"bytes"
	"net/mail"
	"strings"
	"testing"
	"time"
)

func TestPercentiles(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	got := percentilesOf(ds)
	want := percentiles{P50: 50, P90: 90, P99: 99, Max: 100}
	if got != want {
		t.Errorf("percentilesOf(1..100 ms) = %+v, want %+v", got, want)
	}
	if got := percentilesOf(nil); got != (percentiles{}) {
		t.Errorf("percentilesOf(nil) = %+v, want zeros", got)
	}
	if got := percentilesOf([]time.Duration{3 * time.Millisecond}); got.P50 != 3 || got.P99 != 3 {
		t.Errorf("percentilesOf(3 ms) = %+v", got)
	}
}

func TestBenchMessage(t *testing.T) {
	gen := newMessageGen(&benchConfig{From: "a@b.example", To: "support@example.test", Size: 5000})
	seen := map[string]bool{}
	for n := range 3 {
		msg := gen.message(n)
		if len(msg) != 5000 {
			t.Errorf("message %d is %d bytes, want 5000", n, len(msg))
		}
		m, err := mail.ReadMessage(bytes.NewReader(msg))
		if err != nil {
			t.Fatalf("message %d does not parse: %v", n, err)
		}
		id := m.Header.Get("Message-ID")
		if seen[id] || !strings.HasPrefix(id, "<bench-") {
			t.Errorf("message %d: Message-ID %q repeated or malformed", n, id)
		}
		seen[id] = true
		if !bytes.HasSuffix(msg, []byte("\r\n")) || bytes.Contains(bytes.ReplaceAll(msg, []byte("\r\n"), nil), []byte("\n")) {
			t.Errorf("message %d has a bare LF or no final CRLF", n)
		}
	}
}

func TestBenchFlags(t *testing.T) {
	for _, args := range [][]string{
		{},                                    // --smtp missing
		{"--smtp", "x:25", "--conns", "0"},    // no connections
		{"--smtp", "x:25", "--imap", "y:143"}, // no login
		{"--smtp", "x:25", "extra"},
	} {
		if status, _, errOut := runBenchCmd(args...); status != 2 || errOut == "" {
			t.Errorf("bench %v: status %d, stderr %q; want 2 and a message", args, status, errOut)
		}
	}
	status, out, _ := runBenchCmd("--help")
	if status != 0 || !strings.Contains(out, "Usage: mxdesk bench") || !strings.Contains(out, "-idle-probes") {
		t.Errorf("bench --help: status %d, output:\n%s", status, out)
	}
}

// runBenchCmd runs mxdesk bench with args and captures its output (main.go
// hands bench the process's own streams).
func runBenchCmd(args ...string) (status int, stdout, stderr string) {
	var out, errOut strings.Builder
	status = benchMain(args, stdio{in: strings.NewReader(""), out: &out, err: &errOut})
	return status, out.String(), errOut.String()
}

// With --senders, messages cycle through that many senders, in the
// envelope and in From alike.
func TestBenchSenders(t *testing.T) {
	gen := newMessageGen(&benchConfig{From: "a@b.example", To: "support@example.test", Size: 2000, Senders: 3})
	seen := map[string]bool{}
	for n := range 6 {
		from := gen.sender(n)
		seen[from] = true
		m, err := mail.ReadMessage(bytes.NewReader(gen.message(n)))
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Header.Get("From"); !strings.Contains(got, "<"+from+">") {
			t.Errorf("message %d: From %q, envelope sender %s", n, got, from)
		}
	}
	if len(seen) != 3 || !seen["a-0@b.example"] || !seen["a-2@b.example"] {
		t.Errorf("senders %v, want a-0..a-2@b.example", seen)
	}
	if one := newMessageGen(&benchConfig{From: "a@b.example"}); one.sender(5) != "a@b.example" {
		t.Errorf("without --senders: %s, want --from", one.sender(5))
	}
}

func TestBenchIMAPFlags(t *testing.T) {
	run := func(args ...string) (int, string, string) {
		var out, errOut strings.Builder
		status := benchIMAPMain(args, stdio{in: strings.NewReader(""), out: &out, err: &errOut})
		return status, out.String(), errOut.String()
	}
	for _, args := range [][]string{
		{}, // --imap missing
		{"--imap", "x:143", "--login", "a", "--password", "p", "--clients", "0"},
		{"--imap", "x:143", "--login", "a", "--password", "p", "--tls", "maybe"},
		{"--imap", "x:143", "--login", "a", "--password", "p", "--seed", "1"},
		{"--imap", "x:143", "--login", "a", "--password", "p", "extra"},
	} {
		if status, _, errOut := run(args...); status != 2 || errOut == "" {
			t.Errorf("bench imap %v: status %d, stderr %q; want 2 and a message", args, status, errOut)
		}
	}
	if status, out, _ := run("--help"); status != 0 || !strings.Contains(out, "Usage: mxdesk bench imap") {
		t.Errorf("bench imap --help: status %d, output:\n%s", status, out)
	}
	// mxdesk bench hands "imap" to this mode.
	if status, out, _ := runBenchCmd("imap", "--help"); status != 0 || !strings.Contains(out, "Usage: mxdesk bench imap") {
		t.Errorf("bench imap --help through bench: status %d, output:\n%s", status, out)
	}
}

// --smtp with several addresses spreads the connections round-robin over
// them (the nodes of one desk): two loopback SMTP servers each receive
// half of the messages, over real connections.
func TestBenchSpreadsOverSeveralSMTP(t *testing.T) {
	a, b := startTestSink(t), startTestSink(t)
	status, out, errOut := runBenchCmd("--json", "--smtp", a.ln.Addr().String()+", "+b.ln.Addr().String(),
		"--conns", "4", "--messages", "40", "--size", "500", "--no-rset")
	if status != 0 {
		t.Fatalf("bench over two addresses: status %d\n%s%s", status, out, errOut)
	}
	if na, nb := a.count(), b.count(); na == 0 || nb == 0 || na+nb != 40 {
		t.Errorf("first address got %d messages, second %d; want both some, 40 in all", na, nb)
	}
	if status, _, errOut := runBenchCmd("--smtp", " , "); status != 2 || !strings.Contains(errOut, "names no address") {
		t.Errorf("bench --smtp ' , ': status %d, stderr %q; want 2 and a message", status, errOut)
	}
}

// startTestSink runs the bench's sink on a free loopback port until the
// test ends.
func startTestSink(t *testing.T) *sink {
	t.Helper()
	s, err := startSink("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close)
	return s
}

// count is the number of messages the sink received.
func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.arrived)
}
