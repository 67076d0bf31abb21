package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"strings"
	"time"
)

const benchUsage = `Usage: mxdesk bench --smtp ADDR [flags]

Load tool for a running mxdesk (or any SMTP server). It has two phases.

Throughput: --conns workers each keep one SMTP connection open and send
messages over it until --messages transactions have been attempted in
total. --smtp may list several addresses separated by commas (the nodes
of one desk): worker i connects to address i modulo their number. Between two messages a worker sends RSET and EHLO (go-smtp's client
greets again after RSET; --no-rset skips both); after an error it opens a
new connection. Every message is an RFC 5322 message of --size bytes with
a unique Message-ID. It reports the acknowledged messages, the failed
transactions (counted, never retried or hidden), the elapsed time,
messages/s and the latency of one SMTP transaction (MAIL FROM to the 250
reply to DATA): p50, p90, p99, max.

IDLE probe (only with --imap): afterwards, with the server otherwise idle, it
logs in over IMAP as --login, selects --folder, starts IDLE and sends
--idle-probes messages one at a time, to the first --smtp address (give
another node's --imap to measure the cross-node change feed). For each it measures the time from the
250 reply to DATA to the untagged EXISTS on the IDLE connection
(delivery-to-IDLE) and from the start of the SMTP transaction to that EXISTS
(transaction-to-IDLE). The server may announce EXISTS before its 250 reply
reaches the tool; such probes count as 0 ms delivery-to-IDLE and are
reported as "early".

Submission (--submission instead of --smtp): the same throughput phase
against mxdesk's submission port, each connection authenticated as
--login/--password (AUTH PLAIN; the server must allow it, e.g. the demo's
insecure_auth on loopback). Each message to --to (default an outside
address) starts a new outbound session.

Delivery (--sink ADDR, with --submission): the tool runs an SMTP server on
ADDR that accepts everything; point mxdesk's [delivery] smarthost at it
(smarthost_tls = "none" on loopback). After the submission phase it waits
(up to --sink-wait) until every acknowledged message arrived there and
reports delivery throughput (first submission to last arrival) and the
latency from the 250 at submission to the arrival.

IMAP load: mxdesk bench imap --help (a separate mode).

Exits 1 if any transaction or probe failed or a message did not arrive at
the sink, 2 on bad flags.

Example, against the demo (mxdesk serve with no flags):
  mxdesk bench --smtp 127.0.0.1:2525 --conns 64 --messages 20000 \
      --imap 127.0.0.1:1143 --login alice@example.test --password PASSWORD

Two nodes on one PostgreSQL, mail to node A, IDLE on node B:
  mxdesk bench --smtp nodea:25,nodeb:25 --conns 64 --messages 20000 \
      --imap nodeb:143 --login alice@example.test --password PASSWORD

Flags:
`

// benchConfig is the parsed command line of mxdesk bench.
type benchConfig struct {
	SMTP, From, To, Helo string
	Senders              int // distinct senders to cycle through (<= 1: From alone)
	Conns, Messages      int
	Size                 int
	NoRset               bool
	Timeout              time.Duration

	IMAP, Login, Password, Folder string
	IdleProbes                    int

	Submission string        // submission address: authenticate as Login
	Sink       string        // address of the delivery sink to run
	SinkWait   time.Duration // how long to wait for deliveries

	JSON       bool
	CPUProfile string
}

// targets are the addresses the throughput phase sends to: --submission,
// or each address of --smtp's comma-separated list (several nodes of one
// desk).
func (c *benchConfig) targets() []string {
	if c.Submission != "" {
		return []string{c.Submission}
	}
	var addrs []string
	for _, a := range strings.Split(c.SMTP, ",") {
		if a = strings.TrimSpace(a); a != "" {
			addrs = append(addrs, a)
		}
	}
	return addrs
}

// target is the address worker w connects to: the workers are spread
// round-robin over the targets, and the IDLE probe (worker 0) sends to
// the first.
func (c *benchConfig) target(w int) string {
	addrs := c.targets()
	return addrs[w%len(addrs)]
}

// newBenchFlags defines the flags of mxdesk bench on c.
func newBenchFlags(c *benchConfig) *flag.FlagSet {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&c.SMTP, "smtp", "", "SMTP `address` of the server under test (this or --submission); several nodes' addresses separated by commas share the connections round-robin")
	fs.StringVar(&c.Submission, "submission", "", "submission `address`: send as the agent --login instead")
	fs.StringVar(&c.Sink, "sink", "", "run a delivery sink on `address` (with --submission)")
	fs.DurationVar(&c.SinkWait, "sink-wait", 2*time.Minute, "how long to wait for deliveries at the sink")
	fs.StringVar(&c.To, "to", "", "recipient `address` (default: support@example.test, or customer@sink.example with --submission)")
	fs.StringVar(&c.From, "from", "customer@bench.example", "envelope and header sender `address`")
	fs.IntVar(&c.Senders, "senders", 1, "cycle through `n` distinct senders (1: --from alone; n > 1: --from with -<i> added to its local part), e.g. to make every message a new customer")
	fs.StringVar(&c.Helo, "helo", "bench.example", "EHLO `name`")
	fs.IntVar(&c.Conns, "conns", 64, "concurrent SMTP connections")
	fs.IntVar(&c.Messages, "messages", 10000, "messages to send in total")
	fs.IntVar(&c.Size, "size", 5000, "size of each message in `bytes`")
	fs.BoolVar(&c.NoRset, "no-rset", false, "send the next MAIL FROM right after a message, without RSET and EHLO")
	fs.DurationVar(&c.Timeout, "timeout", 60*time.Second, "timeout of one connection's reads and writes")
	fs.StringVar(&c.IMAP, "imap", "", "IMAP `address` for the IDLE probe (none: no probe)")
	fs.StringVar(&c.Login, "login", "", "`login` of an agent (IMAP probe: who sees --folder; submission: who sends)")
	fs.StringVar(&c.Password, "password", "", "`password` of --login")
	fs.StringVar(&c.Folder, "folder", "Queues/Support", "IMAP `folder` the messages to --to land in")
	fs.IntVar(&c.IdleProbes, "idle-probes", 200, "messages to send one at a time for the IDLE probe")
	fs.BoolVar(&c.JSON, "json", false, "print the summary as JSON")
	fs.StringVar(&c.CPUProfile, "cpuprofile", "", "write a CPU profile of the load tool itself to `file`")
	return fs
}

func (c *benchConfig) validate() error {
	if c.To == "" {
		c.To = "support@example.test"
		if c.Submission != "" {
			c.To = "customer@sink.example"
		}
	}
	switch {
	case (c.SMTP == "") == (c.Submission == ""):
		return errors.New("give one of --smtp and --submission")
	case c.Submission == "" && len(c.targets()) == 0:
		return fmt.Errorf("--smtp %q names no address", c.SMTP)
	case c.Submission != "" && (c.Login == "" || c.Password == ""):
		return errors.New("--submission needs --login and --password")
	case c.Sink != "" && c.Submission == "":
		return errors.New("--sink measures delivery of submitted mail: it needs --submission")
	case c.Conns < 1:
		return errors.New("--conns must be at least 1")
	case c.Messages < 0 || c.IdleProbes < 0:
		return errors.New("--messages and --idle-probes can't be negative")
	case c.Size < 0:
		return errors.New("--size can't be negative")
	case c.IMAP != "" && (c.Login == "" || c.Password == ""):
		return errors.New("--imap needs --login and --password")
	}
	return nil
}

func runBench(args []string) int {
	return benchMain(args, stdio{os.Stdin, os.Stdout, os.Stderr})
}

func benchMain(args []string, std stdio) int {
	if len(args) > 0 && args[0] == "imap" {
		return benchIMAPMain(args[1:], std)
	}
	c := &benchConfig{}
	if status, ok := parseFlags(newBenchFlags(c), benchUsage, args, std); !ok {
		return status
	}
	if err := c.validate(); err != nil {
		fmt.Fprintf(std.err, "mxdesk bench: %v\n", err)
		return 2
	}
	if c.CPUProfile != "" {
		stop, err := startCPUProfile(c.CPUProfile)
		if err != nil {
			fmt.Fprintf(std.err, "mxdesk bench: %v\n", err)
			return 1
		}
		defer stop()
	}
	sum := runBenchPhases(c)
	if err := sum.print(std.out, c.JSON); err != nil {
		fmt.Fprintf(std.err, "mxdesk bench: %v\n", err)
		return 1
	}
	if sum.failed() {
		return 1
	}
	return 0
}

// runBenchPhases runs the throughput phase, then the IDLE probe if asked.
func runBenchPhases(c *benchConfig) *benchSummary {
	sum := &benchSummary{Conns: c.Conns, Size: c.Size}
	var sk *sink
	if c.Sink != "" {
		var err error
		if sk, err = startSink(c.Sink); err != nil {
			sum.Throughput = &throughputResult{Errors: 1, Samples: []string{err.Error()}}
			return sum
		}
		defer sk.close()
	}
	start := time.Now()
	sum.Throughput = runThroughput(c)
	if sk != nil {
		arrived := sk.wait(sum.Throughput.Acked, c.SinkWait)
		sum.Delivery = measureDelivery(sum.Throughput.Acked, arrived, start)
	}
	if c.IMAP != "" {
		sum.Idle = runIdleProbe(c)
	}
	return sum
}

func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
