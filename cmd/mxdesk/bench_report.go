package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// benchSummary is everything mxdesk bench measured.
type benchSummary struct {
	Conns      int
	Size       int
	Throughput *throughputResult
	Delivery   *deliveryResult // nil without --sink
	Idle       *idleResult     // nil without --imap
}

// failed reports whether any transaction or probe failed, or a message
// did not reach the sink.
func (s *benchSummary) failed() bool {
	return s.Throughput.Errors > 0 || (s.Idle != nil && s.Idle.Errors > 0) ||
		(s.Delivery != nil && s.Delivery.Delivered < s.Delivery.Expected)
}

// percentiles of a set of durations, in milliseconds for JSON.
type percentiles struct {
	P50 float64 `json:"p50_ms"`
	P90 float64 `json:"p90_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

// percentilesOf uses the nearest-rank method; an empty set gives zeros.
func percentilesOf(ds []time.Duration) percentiles {
	if len(ds) == 0 {
		return percentiles{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := func(p float64) float64 {
		i := int(p*float64(len(s))+0.999999) - 1
		return ms(s[max(0, min(i, len(s)-1))])
	}
	return percentiles{P50: rank(0.50), P90: rank(0.90), P99: rank(0.99), Max: ms(s[len(s)-1])}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (p percentiles) String() string {
	return fmt.Sprintf("p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.2f ms", p.P50, p.P90, p.P99, p.Max)
}

// benchJSON is the --json form of the summary.
type benchJSON struct {
	Conns         int           `json:"conns"`
	Size          int           `json:"size"`
	Attempted     int           `json:"attempted"`
	Messages      int           `json:"messages"`
	Errors        int           `json:"errors"`
	ErrorSamples  []string      `json:"error_samples,omitempty"`
	ElapsedString string        `json:"elapsed"`
	ElapsedSec    float64       `json:"elapsed_seconds"`
	MessagesPerS  float64       `json:"messages_per_second"`
	SMTPLatency   percentiles   `json:"smtp_latency"`
	Delivery      *deliveryJSON `json:"delivery,omitempty"`
	Idle          *idleJSON     `json:"idle,omitempty"`
}

type deliveryJSON struct {
	Expected     int         `json:"expected"`
	Delivered    int         `json:"delivered"`
	ElapsedSec   float64     `json:"elapsed_seconds"`
	MessagesPerS float64     `json:"messages_per_second"`
	Latency      percentiles `json:"submission_to_sink"`
}

type idleJSON struct {
	Probes       int         `json:"probes"`
	Errors       int         `json:"errors"`
	Early        int         `json:"early"`
	ErrorSamples []string    `json:"error_samples,omitempty"`
	SetupError   string      `json:"setup_error,omitempty"`
	ToIdle       percentiles `json:"delivery_to_idle"`
	TxnToIdle    percentiles `json:"transaction_to_idle"`
}

func (s *benchSummary) json() benchJSON {
	t := s.Throughput
	j := benchJSON{
		Conns: s.Conns, Size: s.Size, Attempted: t.Attempted, Messages: t.Messages, Errors: t.Errors,
		ErrorSamples: t.Samples, ElapsedSec: t.Elapsed.Seconds(), MessagesPerS: rate(t.Messages, t.Elapsed),
		SMTPLatency: percentilesOf(t.Latency), ElapsedString: t.Elapsed.Round(time.Millisecond).String(),
	}
	if d := s.Delivery; d != nil {
		j.Delivery = &deliveryJSON{Expected: d.Expected, Delivered: d.Delivered, ElapsedSec: d.Elapsed.Seconds(),
			MessagesPerS: rate(d.Delivered, d.Elapsed), Latency: percentilesOf(d.Latency)}
	}
	if i := s.Idle; i != nil {
		j.Idle = &idleJSON{Probes: i.Probes, Errors: i.Errors, Early: i.Early, ErrorSamples: i.Samples,
			SetupError: i.SetupErr, ToIdle: percentilesOf(i.ToIdle), TxnToIdle: percentilesOf(i.TxnToIdle)}
	}
	return j
}

func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func (s *benchSummary) print(w io.Writer, asJSON bool) error {
	j := s.json()
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(j)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "connections       %d\nmessage size      %d bytes\n", j.Conns, j.Size)
	fmt.Fprintf(&b, "messages          %d acknowledged of %d attempted\n", j.Messages, j.Attempted)
	fmt.Fprintf(&b, "errors            %d\n", j.Errors)
	writeSamples(&b, j.ErrorSamples)
	fmt.Fprintf(&b, "elapsed           %s\nthroughput        %.1f messages/s\n", j.ElapsedString, j.MessagesPerS)
	fmt.Fprintf(&b, "SMTP transaction  %v\n", j.SMTPLatency)
	if d := j.Delivery; d != nil {
		fmt.Fprintf(&b, "delivered         %d of %d at the sink in %.3fs: %.1f messages/s\n", d.Delivered, d.Expected, d.ElapsedSec, d.MessagesPerS)
		fmt.Fprintf(&b, "submit-to-sink    %v   (250 at submission -> arrival)\n", d.Latency)
	}
	if i := j.Idle; i != nil {
		writeIdle(&b, i)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeIdle(b *strings.Builder, i *idleJSON) {
	if i.SetupError != "" {
		fmt.Fprintf(b, "IDLE probe        could not start: %s\n", i.SetupError)
		return
	}
	fmt.Fprintf(b, "IDLE probes       %d measured, %d errors, %d EXISTS before the 250\n", i.Probes, i.Errors, i.Early)
	writeSamples(b, i.ErrorSamples)
	fmt.Fprintf(b, "delivery-to-IDLE  %v   (250 reply to DATA -> EXISTS)\n", i.ToIdle)
	fmt.Fprintf(b, "txn-to-IDLE       %v   (MAIL FROM -> EXISTS)\n", i.TxnToIdle)
}

func writeSamples(b *strings.Builder, samples []string) {
	for _, s := range samples {
		fmt.Fprintf(b, "  error: %s\n", s)
	}
}
