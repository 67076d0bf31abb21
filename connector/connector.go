// Package connector is the second way mail enters a queue: it pulls the
// folder of each upstream IMAP account ([[account]], issue 17) and hands
// every new message to the router's inbound path, the same Deliver the MX
// calls (threading, content policy, antivirus, routing, auto-replies), and
// it reports whether each account works.
//
// Nothing upstream is changed by default (the folder is opened read-only,
// bodies fetched with BODY.PEEK) and \Seen is never looked at: what is new
// is what has a UID above the last one imported, kept in the store with
// the folder's UIDVALIDITY and advanced in the transaction that files the
// message. A Message-ID already in the store is not filed twice.
package connector

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"mxdesk/config"
	"mxdesk/router"
	"mxdesk/store"
)

// Deliverer is the router's inbound path (router.Router).
type Deliverer interface {
	Deliver(ctx context.Context, env router.Envelope, raw []byte) (router.Delivered, error)
}

// Options are the connector's dependencies.
type Options struct {
	Router Deliverer
	// Store keeps each account's import state; positions advanced
	// without a message (skipped mail) are written through it.
	Store  store.Store
	Logger *slog.Logger // slog.Default() when nil
	Now    func() time.Time
	// OnImport, if set, is told of every message filed (not of known
	// ones), after it committed: tests and metrics wait on it.
	OnImport func(account string, d router.Delivered)
	// MaxMessageBytes is the MX's smtp.max_message_bytes: a bigger
	// upstream message is left there (and logged), as the MX refuses it.
	MaxMessageBytes int64
	// DMARCReject and DMARCQuarantine are inbound.dmarc_reject and
	// inbound.dmarc_quarantine, applied to the DMARC result an account's
	// trusted upstream recorded (authentication_results).
	DMARCReject, DMARCQuarantine bool
}

// Status is how one account is doing.
type Status struct {
	Address   string
	Valid     bool   // logged in and the folder opened on the latest try
	LastError string // why it is invalid; "" while valid
	Imported  int64  // messages filed since the start
}

// Connector runs one worker per account.
type Connector struct {
	opts Options

	mu      sync.Mutex
	ctx     context.Context // Start's, for the workers Apply starts
	workers map[string]*worker
	// paused holds the accounts of disabled queues, which run no worker
	// (switches.go), with the status that says why.
	paused map[string]Status
	wg     sync.WaitGroup
}

// New builds a connector; Start runs it.
func New(opts Options) *Connector {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxMessageBytes <= 0 {
		opts.MaxMessageBytes = config.DefaultMaxMessageBytes
	}
	return &Connector{opts: opts, workers: map[string]*worker{}}
}

// Start runs a worker for each account of cfg until ctx ends; Wait waits
// for them.
// Started again (its duty taken back, gateway/duties.go), it drops the
// workers of the last run, which ended with that run's ctx.
func (c *Connector) Start(ctx context.Context, cfg *config.Config) {
	c.mu.Lock()
	for addr, w := range c.workers {
		w.stop()
		delete(c.workers, addr)
	}
	c.ctx = ctx
	c.mu.Unlock()
	c.Apply(cfg)
}

// Wait returns once every worker ended (after Start's ctx ended).
func (c *Connector) Wait() { c.wg.Wait() }

// Apply brings the workers in line with cfg (a reload): removed accounts
// stop, new ones start, and a changed or invalid one starts again at once
// (a fixed password file takes effect without waiting for the backoff).
func (c *Connector) Apply(cfg *config.Config) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx == nil {
		return
	}
	want := map[string]config.Account{}
	for _, a := range cfg.Account {
		want[a.Address] = a
	}
	c.paused = pausedAccounts(cfg)
	for addr, w := range c.workers {
		if a, ok := want[addr]; !ok || a != w.acct || !w.status().Valid || c.isPaused(addr) {
			w.stop()
			delete(c.workers, addr)
		}
	}
	if c.ctx.Err() != nil {
		return // stopped (another node holds the duty): the next Start starts them
	}
	for _, a := range cfg.Account {
		if _, running := c.workers[a.Address]; running || c.isPaused(a.Address) {
			continue
		}
		ctx, cancel := context.WithCancel(c.ctx)
		w := newWorker(c, a, queueAddress(cfg, a.Queue), cancel)
		c.workers[a.Address] = w
		c.wg.Go(func() { w.run(ctx) })
	}
}

// queueAddress is the address the account's mail is delivered to: the
// queue's first.
func queueAddress(cfg *config.Config, queue string) string {
	if q := cfg.QueueByName(queue); q != nil && len(q.Addresses) > 0 {
		return q.Addresses[0]
	}
	return ""
}

// Status lists every account's status, by address.
func (c *Connector) Status() []Status {
	c.mu.Lock()
	out := make([]Status, 0, len(c.workers))
	for _, w := range c.workers {
		out = append(out, w.status())
	}
	for _, st := range c.paused {
		out = append(out, st)
	}
	c.mu.Unlock()
	slices.SortFunc(out, func(a, b Status) int { return strings.Compare(a.Address, b.Address) })
	return out
}

// SentCopyQueued tells the worker of account that a reply waits to be
// copied to its sent_folder (the delivery worker recorded it).
func (c *Connector) SentCopyQueued(account string) {
	c.mu.Lock()
	w := c.workers[account]
	c.mu.Unlock()
	if w == nil {
		return
	}
	select {
	case w.sentCopies <- struct{}{}:
	default: // already signalled
	}
}
