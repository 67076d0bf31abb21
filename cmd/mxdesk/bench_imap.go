package main

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

const benchIMAPUsage = `Usage: mxdesk bench imap --imap ADDR --login L --password P [flags]

Steady IMAP load for a running mxdesk (or any IMAP server, e.g. Dovecot, to
compare). --clients connections log in as --login; each creates its own
folder (<prefix>-<n>; with --shared all use one folder, <prefix>, and see
each other's changes as untagged updates), fills it with --seed messages of
--size bytes, then repeats one round until --duration has passed:

  select   SELECT the folder
  flags    FETCH 1:* (UID FLAGS)                          (a client's resync)
  headers  UID FETCH <newest 20> (ENVELOPE RFC822.SIZE BODY.PEEK[HEADER])
  body     UID FETCH <one> (BODY.PEEK[])
  store    UID STORE <one> +FLAGS.SILENT (\Seen), and (\Deleted) below
  append   APPEND one message
  expunge  UID STORE <its append> +FLAGS.SILENT (\Deleted), then EXPUNGE

so the folder keeps its size. It reports the commands per second of all
clients together and p50/p99 per command. Any failed command is counted and
exits 1. The folders are deleted at the end unless --keep.

Example, against the demo (mxdesk serve with no flags):
  mxdesk bench imap --imap 127.0.0.1:1143 --login alice@example.test \
      --password PASSWORD --clients 10 --duration 30s

Flags:
`

// benchIMAPConfig is the parsed command line of mxdesk bench imap.
type benchIMAPConfig struct {
	Addr, Login, Password string
	TLS                   string // "none", "implicit" or "starttls"
	Clients, Seed, Size   int
	Duration, Timeout     time.Duration
	Prefix                string
	Keep, JSON, Shared    bool
}

func newBenchIMAPFlags(c *benchIMAPConfig) *flag.FlagSet {
	fs := flag.NewFlagSet("bench imap", flag.ContinueOnError)
	fs.StringVar(&c.Addr, "imap", "", "IMAP `address` of the server under test")
	fs.StringVar(&c.Login, "login", "", "`login` every client uses")
	fs.StringVar(&c.Password, "password", "", "`password` of --login")
	fs.StringVar(&c.TLS, "tls", "none", "`mode`: none, implicit or starttls (certificates are not verified)")
	fs.IntVar(&c.Clients, "clients", 10, "concurrent IMAP connections")
	fs.IntVar(&c.Seed, "seed", 200, "messages in each client's folder")
	fs.IntVar(&c.Size, "size", 5000, "size of each message in `bytes`")
	fs.DurationVar(&c.Duration, "duration", 30*time.Second, "how long the load runs")
	fs.DurationVar(&c.Timeout, "timeout", 60*time.Second, "timeout of one command (the connection is closed after it)")
	fs.StringVar(&c.Prefix, "prefix", "mxdesk-bench", "folder name `prefix`")
	fs.BoolVar(&c.Shared, "shared", false, "every client works in one folder")
	fs.BoolVar(&c.Keep, "keep", false, "keep the folders at the end")
	fs.BoolVar(&c.JSON, "json", false, "print the summary as JSON")
	return fs
}

func (c *benchIMAPConfig) validate() error {
	switch {
	case c.Addr == "" || c.Login == "" || c.Password == "":
		return errors.New("--imap, --login and --password are required")
	case c.Clients < 1:
		return errors.New("--clients must be at least 1")
	case c.Seed < 2:
		return errors.New("--seed must be at least 2")
	case c.Size < 200:
		return errors.New("--size must be at least 200 bytes")
	case c.Duration <= 0:
		return errors.New("--duration must be positive")
	case c.TLS != "none" && c.TLS != "implicit" && c.TLS != "starttls":
		return fmt.Errorf("--tls %q: want none, implicit or starttls", c.TLS)
	}
	return nil
}

func benchIMAPMain(args []string, std stdio) int {
	c := &benchIMAPConfig{}
	if status, ok := parseFlags(newBenchIMAPFlags(c), benchIMAPUsage, args, std); !ok {
		return status
	}
	if err := c.validate(); err != nil {
		fmt.Fprintf(std.err, "mxdesk bench imap: %v\n", err)
		return 2
	}
	sum := runIMAPLoad(c)
	if err := sum.print(std.out, c.JSON); err != nil {
		fmt.Fprintf(std.err, "mxdesk bench imap: %v\n", err)
		return 1
	}
	if sum.Errors > 0 || sum.SetupError != "" {
		return 1
	}
	return 0
}

// imapCommands are the measured commands, in report order.
var imapCommands = []string{"select", "flags", "headers", "body", "store", "append", "expunge"}

// imapLoadResult is what mxdesk bench imap measured.
type imapLoadResult struct {
	Clients    int
	Elapsed    time.Duration
	Latency    map[string][]time.Duration
	Errors     int
	Samples    []string
	SetupError string
}

type imapClientLoad struct {
	c       *benchIMAPConfig
	client  *imapclient.Client
	folder  string
	uids    []imap.UID // the folder's messages, oldest first
	mine    []imap.UID // what this client appended and has not expunged yet
	rng     *rand.Rand
	latency map[string][]time.Duration
	errs    []error
}

func runIMAPLoad(c *benchIMAPConfig) *imapLoadResult {
	res := &imapLoadResult{Clients: c.Clients, Latency: map[string][]time.Duration{}}
	loads := make([]*imapClientLoad, c.Clients)
	var wg sync.WaitGroup
	setupErrs := make([]error, c.Clients)
	for i := range loads {
		folder := fmt.Sprintf("%s-%d", c.Prefix, i)
		if c.Shared {
			folder = c.Prefix
		}
		loads[i] = &imapClientLoad{c: c, folder: folder,
			rng: rand.New(rand.NewPCG(uint64(i), 1)), latency: map[string][]time.Duration{}}
		if c.Shared { // one after the other: the first one fills the folder
			setupErrs[i] = loads[i].setup()
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); setupErrs[i] = loads[i].setup() }()
	}
	wg.Wait()
	defer func() {
		for _, l := range loads {
			l.close()
		}
	}()
	if err := errors.Join(setupErrs...); err != nil {
		res.SetupError = err.Error()
		return res
	}
	start := time.Now()
	deadline := start.Add(c.Duration)
	for _, l := range loads {
		clear(l.latency) // the set-up is not the load
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && len(l.errs) < 10 {
				l.round()
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	for _, l := range loads {
		for name, ds := range l.latency {
			res.Latency[name] = append(res.Latency[name], ds...)
		}
		res.Errors += len(l.errs)
		for _, err := range l.errs {
			if len(res.Samples) < 10 {
				res.Samples = append(res.Samples, err.Error())
			}
		}
	}
	return res
}

func (l *imapClientLoad) dial() (*imapclient.Client, error) {
	opts := &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}} // a load tool against test servers
	switch l.c.TLS {
	case "implicit":
		return imapclient.DialTLS(l.c.Addr, opts)
	case "starttls":
		return imapclient.DialStartTLS(l.c.Addr, opts)
	}
	return imapclient.DialInsecure(l.c.Addr, opts)
}

// setup logs in, creates the client's folder and fills it to --seed.
func (l *imapClientLoad) setup() error {
	cl, err := l.dial()
	if err != nil {
		return fmt.Errorf("connect to %s: %w", l.c.Addr, err)
	}
	l.client = cl
	if err := cl.Login(l.c.Login, l.c.Password).Wait(); err != nil {
		return fmt.Errorf("LOGIN %s: %w", l.c.Login, err)
	}
	if err := cl.Create(l.folder, nil).Wait(); err != nil && !isAlreadyExists(err) {
		return fmt.Errorf("CREATE %s: %w", l.folder, err)
	}
	if err := l.resync(); err != nil {
		return err
	}
	for len(l.uids) < l.c.Seed {
		if err := l.append(); err != nil {
			return err
		}
	}
	l.mine = l.mine[:0] // the seed stays
	return nil
}

func isAlreadyExists(err error) bool {
	var ie *imap.Error
	return errors.As(err, &ie) && ie.Code == imap.ResponseCodeAlreadyExists
}

func (l *imapClientLoad) close() {
	if l.client == nil {
		return
	}
	if !l.c.Keep {
		l.client.Unselect().Wait()
		l.client.Delete(l.folder).Wait()
	}
	l.client.Logout().Wait()
	l.client.Close()
}

// timed runs one command and records its latency under name.
func (l *imapClientLoad) timed(name string, fn func() error) error {
	// A server that stops answering fails the command instead of hanging
	// the tool: closing the connection ends the wait.
	watchdog := time.AfterFunc(l.c.Timeout, func() { l.client.Close() })
	start := time.Now()
	err := fn()
	watchdog.Stop()
	if err != nil {
		err = fmt.Errorf("%s in %s: %w", name, l.folder, err)
		l.errs = append(l.errs, err)
		return err
	}
	l.latency[name] = append(l.latency[name], time.Since(start))
	return nil
}

// resync selects the folder and reads every UID, as a client reconnecting.
func (l *imapClientLoad) resync() error {
	var sel *imap.SelectData
	err := l.timed("select", func() (err error) {
		sel, err = l.client.Select(l.folder, nil).Wait()
		return err
	})
	if err != nil {
		return err
	}
	l.uids = l.uids[:0]
	if sel.NumMessages == 0 {
		return nil // 1:* of an empty folder is an error to some servers
	}
	return l.timed("flags", func() error {
		msgs, err := l.client.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}},
			&imap.FetchOptions{UID: true, Flags: true}).Collect()
		if err != nil {
			return err
		}
		for _, m := range msgs {
			l.uids = append(l.uids, m.UID)
		}
		slices.Sort(l.uids)
		return nil
	})
}

// round is one cycle of the steady load.
func (l *imapClientLoad) round() {
	if l.resync() != nil {
		return
	}
	newest := l.uids[max(0, len(l.uids)-20):]
	l.timed("headers", func() error {
		_, err := l.client.Fetch(imap.UIDSetNum(newest...), &imap.FetchOptions{UID: true, Envelope: true, RFC822Size: true,
			BodySection: []*imap.FetchItemBodySection{{Specifier: imap.PartSpecifierHeader, Peek: true}}}).Collect()
		return err
	})
	one := l.uids[l.rng.IntN(len(l.uids))]
	l.timed("body", func() error {
		_, err := l.client.Fetch(imap.UIDSetNum(one), &imap.FetchOptions{UID: true,
			BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
		return err
	})
	l.timed("store", func() error {
		return l.client.Store(imap.UIDSetNum(one), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true,
			Flags: []imap.Flag{imap.FlagSeen}}, nil).Close()
	})
	if l.append() != nil || len(l.mine) == 0 {
		return
	}
	// Its own message, so the folder keeps its size with shared clients.
	own := l.mine[0]
	if l.timed("store", func() error {
		return l.client.Store(imap.UIDSetNum(own), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true,
			Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close()
	}) != nil {
		return
	}
	if l.timed("expunge", func() error { return l.client.Expunge().Close() }) == nil {
		l.mine = l.mine[1:]
	}
}

func (l *imapClientLoad) append() error {
	msg := benchIMAPMessage(l.c.Size, l.rng)
	return l.timed("append", func() error {
		cmd := l.client.Append(l.folder, int64(len(msg)), nil)
		if _, err := cmd.Write(msg); err != nil {
			cmd.Close()
			return err
		}
		if err := cmd.Close(); err != nil {
			return err
		}
		data, err := cmd.Wait()
		if err != nil {
			return err
		}
		if data.UID != 0 {
			l.uids = append(l.uids, data.UID)
			l.mine = append(l.mine, data.UID)
		}
		return nil
	})
}

// benchIMAPMessage is a plain-text message of size bytes.
func benchIMAPMessage(size int, rng *rand.Rand) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: Customer <customer@bench.example>\r\nTo: support@example.test\r\n"+
		"Subject: bench %d\r\nDate: %s\r\nMessage-ID: <%d.%d@bench.example>\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\n\r\n",
		rng.Uint32(), time.Now().Format(time.RFC1123Z), time.Now().UnixNano(), rng.Uint64())
	line := "The quick brown fox jumps over the lazy dog, again and again.\r\n"
	for b.Len()+len(line) <= size {
		b.WriteString(line)
	}
	return []byte(b.String())
}

type imapCommandJSON struct {
	Count int         `json:"count"`
	Rate  float64     `json:"per_second"`
	Lat   percentiles `json:"latency"`
}

type imapLoadJSON struct {
	Clients      int                        `json:"clients"`
	ElapsedSec   float64                    `json:"elapsed_seconds"`
	Commands     int                        `json:"commands"`
	CommandsPerS float64                    `json:"commands_per_second"`
	Errors       int                        `json:"errors"`
	ErrorSamples []string                   `json:"error_samples,omitempty"`
	SetupError   string                     `json:"setup_error,omitempty"`
	PerCommand   map[string]imapCommandJSON `json:"per_command"`
}

func (r *imapLoadResult) json() imapLoadJSON {
	j := imapLoadJSON{Clients: r.Clients, ElapsedSec: r.Elapsed.Seconds(), Errors: r.Errors,
		ErrorSamples: r.Samples, SetupError: r.SetupError, PerCommand: map[string]imapCommandJSON{}}
	for name, ds := range r.Latency {
		j.Commands += len(ds)
		j.PerCommand[name] = imapCommandJSON{Count: len(ds), Rate: rate(len(ds), r.Elapsed), Lat: percentilesOf(ds)}
	}
	j.CommandsPerS = rate(j.Commands, r.Elapsed)
	return j
}

func (r *imapLoadResult) print(w io.Writer, asJSON bool) error {
	j := r.json()
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(j)
	}
	var b strings.Builder
	if j.SetupError != "" {
		fmt.Fprintf(&b, "could not start: %s\n", j.SetupError)
		_, err := io.WriteString(w, b.String())
		return err
	}
	fmt.Fprintf(&b, "clients    %d\nelapsed    %.1fs\ncommands   %d: %.1f/s\nerrors     %d\n",
		j.Clients, j.ElapsedSec, j.Commands, j.CommandsPerS, j.Errors)
	writeSamples(&b, j.ErrorSamples)
	for _, name := range imapCommands {
		if p, ok := j.PerCommand[name]; ok {
			fmt.Fprintf(&b, "%-9s  %6d  %7.1f/s  p50 %.2f ms  p99 %.2f ms\n", name, p.Count, p.Rate, p.Lat.P50, p.Lat.P99)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
