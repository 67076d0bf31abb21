package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// sink is the delivery phase's loopback SMTP server: mxdesk's smarthost
// in the benchmark. It accepts every message and notes when each
// Message-ID arrived.
type sink struct {
	srv *smtp.Server
	ln  net.Listener

	mu      sync.Mutex
	arrived map[string]time.Time
	signal  chan struct{} // a message arrived
}

func startSink(addr string) (*sink, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--sink: %w", err)
	}
	s := &sink{ln: ln, arrived: map[string]time.Time{}, signal: make(chan struct{}, 1)}
	s.srv = smtp.NewServer(s)
	s.srv.Domain = "sink.bench.example"
	s.srv.MaxMessageBytes = 64 << 20
	s.srv.AllowInsecureAuth = true
	go s.srv.Serve(ln)
	return s, nil
}

func (s *sink) close() { s.srv.Close() }

// NewSession implements smtp.Backend.
func (s *sink) NewSession(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }

type sinkSession struct{ s *sink }

func (*sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (*sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (*sinkSession) Reset()                               {}
func (*sinkSession) Logout() error                        { return nil }

func (ss *sinkSession) Data(r io.Reader) error {
	h, err := textproto.NewReader(bufio.NewReader(r)).ReadMIMEHeader()
	if err != nil && len(h) == 0 {
		return err
	}
	io.Copy(io.Discard, r)
	id := strings.Trim(strings.TrimSpace(h.Get("Message-Id")), "<>")
	ss.s.mu.Lock()
	ss.s.arrived[id] = time.Now()
	ss.s.mu.Unlock()
	select {
	case ss.s.signal <- struct{}{}:
	default:
	}
	return nil
}

// wait returns once every id in want arrived, or at the deadline; it
// returns the arrival times it saw.
func (s *sink) wait(want map[string]time.Time, deadline time.Duration) map[string]time.Time {
	timeout := time.After(deadline)
	for {
		s.mu.Lock()
		n := 0
		for id := range want {
			if _, ok := s.arrived[id]; ok {
				n++
			}
		}
		done := n == len(want)
		s.mu.Unlock()
		if done {
			break
		}
		select {
		case <-s.signal:
		case <-timeout:
			return s.snapshot()
		}
	}
	return s.snapshot()
}

func (s *sink) snapshot() map[string]time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]time.Time, len(s.arrived))
	for k, v := range s.arrived {
		out[k] = v
	}
	return out
}

// deliveryResult is what the delivery phase measured: how fast mail
// submitted to mxdesk reached the sink.
type deliveryResult struct {
	Expected  int             // messages acknowledged at submission
	Delivered int             // of those, arrived at the sink
	Elapsed   time.Duration   // first submission to last arrival
	Latency   []time.Duration // 250 at submission -> arrival at the sink
}

// measureDelivery matches acknowledged submissions with arrivals.
func measureDelivery(acked map[string]time.Time, arrived map[string]time.Time, start time.Time) *deliveryResult {
	d := &deliveryResult{Expected: len(acked)}
	var last time.Time
	for id, at := range acked {
		got, ok := arrived[id]
		if !ok {
			continue
		}
		d.Delivered++
		d.Latency = append(d.Latency, got.Sub(at))
		if got.After(last) {
			last = got
		}
	}
	if d.Delivered > 0 {
		d.Elapsed = last.Sub(start)
	}
	return d
}

// messageIDOf finds the Message-ID of a generated message.
func messageIDOf(msg []byte) string {
	i := bytes.Index(msg, []byte("Message-ID: <"))
	if i < 0 {
		return ""
	}
	rest := msg[i+len("Message-ID: <"):]
	return string(rest[:bytes.IndexByte(rest, '>')])
}
