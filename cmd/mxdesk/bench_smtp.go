package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// throughputResult is what the throughput phase measured.
type throughputResult struct {
	Attempted int           `json:"attempted"`
	Messages  int           `json:"messages"` // acknowledged with 250
	Errors    int           `json:"errors"`   // failed transactions and connections
	Elapsed   time.Duration `json:"-"`
	Latency   []time.Duration
	Samples   []string // the first few distinct error messages
	// Acked maps the Message-ID of each acknowledged message to the time
	// of its 250 (only with --sink).
	Acked map[string]time.Time
}

// runThroughput sends c.Messages messages over c.Conns connections.
func runThroughput(c *benchConfig) *throughputResult {
	gen := newMessageGen(c)
	var next atomic.Int64
	results := make([]*workerResult, c.Conns)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range results {
		results[i] = &workerResult{}
		wg.Go(func() {
			w := &smtpWorker{c: c, addr: c.target(i), gen: gen, res: results[i]}
			w.run(func() (int, bool) {
				n := int(next.Add(1)) - 1
				return n, n < c.Messages
			})
		})
	}
	wg.Wait()
	return mergeResults(results, time.Since(start))
}

// workerResult is one worker's share of the throughput phase.
type workerResult struct {
	ok, errs int
	latency  []time.Duration
	samples  []string
	acked    map[string]time.Time
}

func (r *workerResult) fail(err error) {
	r.errs++
	if len(r.samples) < 5 {
		r.samples = append(r.samples, err.Error())
	}
}

func mergeResults(rs []*workerResult, elapsed time.Duration) *throughputResult {
	t := &throughputResult{Elapsed: elapsed, Acked: map[string]time.Time{}}
	seen := map[string]bool{}
	for _, r := range rs {
		for id, at := range r.acked {
			t.Acked[id] = at
		}
		t.Messages += r.ok
		t.Errors += r.errs
		t.Latency = append(t.Latency, r.latency...)
		for _, s := range r.samples {
			if !seen[s] && len(t.Samples) < 10 {
				seen[s] = true
				t.Samples = append(t.Samples, s)
			}
		}
	}
	t.Attempted = t.Messages + t.Errors
	return t
}

// smtpWorker sends messages over one persistent SMTP connection.
type smtpWorker struct {
	c      *benchConfig
	addr   string // the server it connects to
	gen    *messageGen
	res    *workerResult
	client *smtp.Client
	used   bool // a transaction ran on client since it was opened
}

// run sends the messages that claim hands out until it says stop.
func (w *smtpWorker) run(claim func() (int, bool)) {
	defer w.close()
	for {
		n, ok := claim()
		if !ok {
			return
		}
		msg := w.gen.message(n)
		d, err := w.send(w.gen.sender(n), msg)
		if err != nil {
			w.res.fail(err)
			w.close() // the next message reconnects
			continue
		}
		w.res.ok++
		w.res.latency = append(w.res.latency, d)
		if w.c.Sink != "" {
			if w.res.acked == nil {
				w.res.acked = map[string]time.Time{}
			}
			w.res.acked[messageIDOf(msg)] = time.Now()
		}
	}
}

// send runs one transaction and returns its latency, from MAIL FROM to the
// 250 reply to DATA. A connection error counts against the message that
// needed it.
func (w *smtpWorker) send(from string, msg []byte) (time.Duration, error) {
	if err := w.prepare(); err != nil {
		return 0, err
	}
	start := time.Now()
	if err := transaction(w.client, from, w.c.To, msg); err != nil {
		return 0, err
	}
	w.used = true
	return time.Since(start), nil
}

// prepare connects if needed, or resets the previous transaction.
func (w *smtpWorker) prepare() error {
	if w.client == nil {
		cl, err := dialSMTP(w.c, w.addr)
		if err != nil {
			return err
		}
		w.client, w.used = cl, false
		return nil
	}
	if w.used && !w.c.NoRset {
		if err := w.client.Reset(); err != nil {
			return fmt.Errorf("RSET: %w", err)
		}
		// go-smtp's client greets again after RSET; with our name, not
		// "localhost".
		if err := w.client.Hello(w.c.Helo); err != nil {
			return fmt.Errorf("EHLO after RSET: %w", err)
		}
	}
	return nil
}

func (w *smtpWorker) close() {
	if w.client != nil {
		w.client.Quit() // closes the connection even if QUIT fails
		w.client = nil
	}
}

// dialSMTP connects to addr and greets with EHLO; on the submission port
// it authenticates too.
func dialSMTP(c *benchConfig, addr string) (*smtp.Client, error) {
	conn, err := net.DialTimeout("tcp", addr, c.Timeout)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	cl := smtp.NewClient(conn)
	cl.CommandTimeout = c.Timeout
	cl.SubmissionTimeout = c.Timeout
	if err := cl.Hello(c.Helo); err != nil {
		cl.Close()
		return nil, fmt.Errorf("EHLO: %w", err)
	}
	if c.Submission != "" {
		if err := cl.Auth(sasl.NewPlainClient("", c.Login, c.Password)); err != nil {
			cl.Close()
			return nil, fmt.Errorf("AUTH: %w", err)
		}
	}
	return cl, nil
}

// transaction sends one message: MAIL FROM, RCPT TO, DATA.
func transaction(cl *smtp.Client, from, to string, msg []byte) error {
	if err := cl.Mail(from, nil); err != nil {
		return fmt.Errorf("MAIL FROM: %w", err)
	}
	if err := cl.Rcpt(to, nil); err != nil {
		return fmt.Errorf("RCPT TO: %w", err)
	}
	wc, err := cl.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := wc.Write(msg); err != nil {
		wc.Close()
		return fmt.Errorf("DATA body: %w", err)
	}
	if err := wc.Close(); err != nil {
		return fmt.Errorf("end of DATA: %w", err)
	}
	return nil
}

// messageGen builds the benchmark's messages: each an RFC 5322 message of
// exactly size bytes (unless the headers alone are longer) with a unique
// Message-ID.
type messageGen struct {
	run, from, to string
	senders       int
	size          int
	date          string
}

func newMessageGen(c *benchConfig) *messageGen {
	b := make([]byte, 6)
	rand.Read(b)
	return &messageGen{run: hex.EncodeToString(b), from: c.From, to: c.To, senders: c.Senders, size: c.Size,
		date: time.Now().Format(time.RFC1123Z)}
}

// messageID is the Message-ID of message n, without angle brackets.
func (g *messageGen) messageID(n int) string {
	return fmt.Sprintf("bench-%s-%d@bench.example", g.run, n)
}

// sender is the sender of message n: --from, or with --senders one of
// that many addresses made from it.
func (g *messageGen) sender(n int) string {
	if g.senders <= 1 {
		return g.from
	}
	local, domain, _ := strings.Cut(g.from, "@")
	return fmt.Sprintf("%s-%d@%s", local, n%g.senders, domain)
}

func (g *messageGen) message(n int) []byte {
	return g.messageWithID(g.messageID(n), fmt.Sprintf("Benchmark message %d", n), g.sender(n))
}

func (g *messageGen) messageWithID(id, subject, from string) []byte {
	var b bytes.Buffer
	b.Grow(g.size + 512)
	fmt.Fprintf(&b, "From: Bench Customer <%s>\r\nTo: <%s>\r\n", from, g.to)
	fmt.Fprintf(&b, "Subject: %s\r\nDate: %s\r\nMessage-ID: <%s>\r\n", subject, g.date, id)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n")
	b.WriteString("Content-Transfer-Encoding: 7bit\r\n\r\n")
	b.WriteString("Hello, this is a message from the mxdesk load tool.\r\n\r\n")
	pad(&b, g.size)
	return b.Bytes()
}

// loremLine is the body padding, one line of 70 characters plus CRLF.
var loremLine = strings.Repeat("lorem ipsum ", 6)[:70] + "\r\n"

// pad fills b with text lines up to size bytes, ending with CRLF.
func pad(b *bytes.Buffer, size int) {
	for b.Len()+len(loremLine) <= size {
		b.WriteString(loremLine)
	}
	if rest := size - b.Len(); rest >= 3 {
		b.WriteString(strings.Repeat("x", rest-2) + "\r\n")
	}
}
