// Package delivery sends the mail agents write (SPEC §7): it takes messages
// from the durable outbound queue in the store, signs them with the DKIM
// key of their From domain, and hands them to the configured smarthost or
// to each recipient domain's MX. Temporary failures are retried with
// exponential backoff until [delivery] retry_for; permanent failures, and
// expiry, become a bounce (an RFC 3464 DSN) that the router files into the
// agent's INBOX, threaded into the session.
//
// Delivery is at least once. After every SMTP transaction the recipients
// the remote accepted leave the queue in one durable commit, before
// anything else happens, so a restart never sends to them again; a crash
// between the remote's 250 and that commit sends the message again to
// those recipients. A bounce is filed before its recipients leave the
// queue, so a crash between the two can file a bounce twice, never lose
// one.
//
// The package reaches the store only through the router; nothing imports
// it but the gateway.
package delivery

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-sasl"

	"mxdesk/config"
	"mxdesk/outboxloop"
	"mxdesk/panics"
	"mxdesk/router"
	"mxdesk/store"
)

// Options are the worker's dependencies besides router and config.
type Options struct {
	Now    func() time.Time // the clock; time.Now when nil
	Logger *slog.Logger     // slog.Default() when nil
	// TLSConfig is the base of every client TLS configuration: its
	// RootCAs verify the smarthost (system roots when nil). MX hops are
	// not verified (see Worker); their certificates are checked against
	// the same roots only to log whether they would have passed.
	TLSConfig *tls.Config
	// AfterAttempt, if set, is called after each attempt has committed
	// its outcome (tests wait on it; metrics may count with it). It runs
	// on the attempt's goroutine and must be quick.
	AfterAttempt func(Report)
	// Lease, when not zero, makes the worker take each message with a
	// lease that long (router.LeaseOutbound) before sending it: nodes
	// sharing a store (PostgreSQL) never send one message at once, and
	// one that died sending loses the message after Lease
	// (delivery.lease). Zero: one node alone (badger), no lease.
	Lease time.Duration
}

// Report is the outcome of one delivery attempt of one queued message.
type Report struct {
	ID        uint64
	Session   string
	Delivered []string // accepted by the remote (2xx)
	Deferred  []string // failed temporarily, to be retried
	Bounced   []string // failed for good: a bounce is filed
	// Queued says whether the message is still in the queue.
	Queued bool
	// SentCopy is the [[account]] a copy for its sent_folder was
	// recorded for ("" when none).
	SentCopy string
	// Err is a local failure (store, bounce filing) that left the
	// message queued to be tried again.
	Err error
}

// Stats are the worker's counters since it was built, plus the queue size.
type Stats struct {
	Queued    int    // messages in the outbound queue
	Attempts  uint64 // delivery attempts
	Retries   uint64 // attempts of messages attempted before
	Delivered uint64 // recipients accepted by a remote server
	Deferred  uint64 // recipient attempts that failed temporarily
	Bounced   uint64 // recipients bounced (permanent failure or expiry)
	Failures  uint64 // attempts that ended in a local error
}

// Worker delivers the outbound queue. Build it with New, run it with Run.
//
// TLS: the smarthost's certificate is always verified (against
// Options.TLSConfig's roots). Direct delivery uses STARTTLS whenever the
// MX offers it but does not verify the certificate, as is common practice
// for MX hops (RFC 7435, opportunistic security): a sender that refused
// unverifiable certificates would fail on a large part of the Internet's
// MXes, and without MTA-STS or DANE (not implemented) a name mismatch
// proves nothing. When the TLS handshake fails mxdesk delivers to that
// host in clear text rather than not at all. The log line of each
// delivery says tls=none|unverified|verified.
type Worker struct {
	r    *router.Router
	cfg  *config.Config
	now  func() time.Time
	log  *slog.Logger
	tls  *tls.Config
	keys map[string]dkimKey // lower-case domain -> DKIM key
	auth func() sasl.Client // smarthost AUTH PLAIN, nil without a user
	dns  *net.Resolver

	// accounts holds the [[account]] SMTP settings in force: SetAccounts
	// swaps them at a reload.
	accounts atomic.Pointer[config.Config]

	timeout  time.Duration
	retryFor time.Duration

	afterAttempt func(Report)
	lease        time.Duration // Options.Lease; 0: none

	loop *outboxloop.Loop // wakes when a message was queued or an attempt ended
	sem  chan struct{}    // one token per running attempt

	mu       sync.Mutex
	inflight map[uint64]bool     // messages being attempted
	pending  map[uint64][]result // bounces that could not be filed yet

	attempts, retries, delivered, deferred, bounced, failures atomic.Uint64
}

// New builds a worker for cfg's [delivery] section. It loads every DKIM
// key and the smarthost password now: a key or file that can't be read
// fails New, naming its configuration key.
func New(r *router.Router, cfg *config.Config, opts Options) (*Worker, error) {
	w := &Worker{
		r: r, cfg: cfg, now: opts.Now, log: opts.Logger, tls: opts.TLSConfig,
		timeout:      cfg.Delivery.Timeout.Duration,
		retryFor:     cfg.Delivery.RetryFor.Duration,
		afterAttempt: opts.AfterAttempt,
		lease:        opts.Lease,
		loop:         outboxloop.New(),
		sem:          make(chan struct{}, max(cfg.Delivery.Concurrency, 1)),
		inflight:     map[uint64]bool{},
		pending:      map[uint64][]result{},
	}
	w.accounts.Store(cfg)
	if w.now == nil {
		w.now = time.Now
	}
	if w.log == nil {
		w.log = slog.Default()
	}
	if w.tls == nil {
		w.tls = &tls.Config{}
	}
	var err error
	if w.keys, err = loadKeys(cfg); err != nil {
		return nil, err
	}
	if d := cfg.Delivery; d.SmarthostUser != "" {
		password, err := config.ReadSecret(d.SmarthostPasswordFile)
		if err != nil {
			return nil, fmt.Errorf("delivery.smarthost_password_file: %w", err)
		}
		w.auth = func() sasl.Client { return sasl.NewPlainClient("", d.SmarthostUser, password) }
	}
	w.dns = newResolver(cfg.Delivery.Resolver, w.timeout)
	return w, nil
}

// pollInterval bounds how long Run sleeps without looking at the queue,
// so a clock jump or a missed wake-up delays delivery by a minute at most.
const pollInterval = time.Minute

// horizon is how far ahead Run looks for the next attempt to wake up for.
const horizon = 100 * 365 * 24 * time.Hour

// Run delivers until ctx ends: it starts every due message, up to
// [delivery] concurrency at once, wakes when a message is queued or an
// attempt ends, and otherwise sleeps until the earliest next attempt. The
// queue is in the store, so after a restart Run picks up everything due.
// When ctx ends Run closes the connections in progress, waits for their
// attempts to record what they achieved, and returns.
func (w *Worker) Run(ctx context.Context) {
	w.loop.Run(ctx, outboxloop.Outbox{
		Name: "delivery worker", Where: panics.DeliveryWorker, Log: w.log,
		Subscribe: w.r.Subscribe, Queued: store.OutboundQueued, Dispatch: w.dispatch,
	})
}

// Err is non-nil when Run stopped on its own (a bug): the gateway is then
// not ready.
func (w *Worker) Err() error { return w.loop.Err() }

// Kick makes Run look at the queue now, as after a clock change.
func (w *Worker) Kick() { w.loop.Kick() }

// dispatch starts every due message it has a free slot for and returns how
// long Run may wait before looking again.
func (w *Worker) dispatch(ctx context.Context, wg *sync.WaitGroup) time.Duration {
	now := w.now()
	n := cap(w.sem)
	list, err := w.due(now.Add(horizon), 2*n+1) // the running ones come first
	if err != nil {
		if ctx.Err() == nil {
			w.log.Error("delivery: reading the queue", "err", err)
		}
		return pollInterval
	}
	for _, ob := range list {
		if ob.NextAttempt.After(now) {
			return min(ob.NextAttempt.Sub(now), pollInterval)
		}
		if !w.claim(ob.ID) {
			continue // in flight
		}
		select {
		case w.sem <- struct{}{}:
		default: // every slot taken: the next attempt to end wakes Run
			w.unclaim(ob.ID)
			return pollInterval
		}
		wg.Go(func() { w.run(ctx, ob.ID) })
	}
	return pollInterval
}

// RunDue attempts every message due by the worker's clock, up to
// concurrency at once, waits for the attempts to end and returns how many
// there were. Each message is attempted at most once per call. Tests use
// it to step the worker with an injected clock.
func (w *Worker) RunDue(ctx context.Context) (int, error) {
	seen := map[uint64]bool{}
	var total atomic.Int64
	for {
		list, err := w.due(w.now(), 256)
		if err != nil {
			return int(total.Load()), err
		}
		var wg sync.WaitGroup
		started := 0
		for _, ob := range list {
			if seen[ob.ID] || !w.claim(ob.ID) {
				continue
			}
			seen[ob.ID] = true
			select {
			case w.sem <- struct{}{}:
			case <-ctx.Done():
				w.unclaim(ob.ID)
				wg.Wait()
				return int(total.Load()), ctx.Err()
			}
			started++
			wg.Go(func() {
				if w.run(ctx, ob.ID) {
					total.Add(1)
				}
			})
		}
		wg.Wait()
		if started == 0 {
			return int(total.Load()), nil
		}
	}
}

func (w *Worker) due(until time.Time, limit int) ([]store.Outbound, error) {
	var list []store.Outbound
	err := w.r.View(func(rd store.Reader) error {
		var err error
		list, err = rd.DueOutbound(until, limit)
		return err
	})
	return list, err
}

// claim marks id in flight; false if it already is.
func (w *Worker) claim(id uint64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.inflight[id] {
		return false
	}
	w.inflight[id] = true
	return true
}

func (w *Worker) unclaim(id uint64) {
	w.mu.Lock()
	delete(w.inflight, id)
	w.mu.Unlock()
}

// run is one attempt on its own goroutine, holding a slot of w.sem and
// the claim on id; a panic is logged and the message tried again later.
// It reports whether it made an attempt: the message is read again under
// the claim, and one that left the queue or was rescheduled since it was
// listed (by an attempt that ended in between) is left alone.
func (w *Worker) run(ctx context.Context, id uint64) (attempted bool) {
	defer func() {
		w.unclaim(id)
		<-w.sem
		w.Kick()
	}()
	ob, ok, err := w.take(ctx, id)
	if err != nil {
		w.log.Error("delivery: reading the queue", "queue_id", id, "err", err)
		return false
	}
	if !ok {
		return false
	}
	defer func() {
		if p := recover(); p != nil {
			w.failures.Add(1)
			panics.Recovered(w.log, panics.DeliveryAttempt, "delivery attempt panicked", p, "queue_id", ob.ID, "session", ob.Session, "queue", ob.Queue)
			w.record(ctx, ob.ID, router.OutboundProgress{
				Attempted: true, LastError: fmt.Sprintf("internal error: %v", p), NextAttempt: w.nextAttempt(ob),
			})
		}
	}()
	rep := w.attempt(ctx, ob)
	if w.afterAttempt != nil {
		w.afterAttempt(rep)
	}
	return true
}

// take reads queued message id for an attempt: ok is false when it left
// the queue or is not due. With a lease it is leased to this worker in
// the same step, and not ok when another node's worker holds it.
func (w *Worker) take(ctx context.Context, id uint64) (ob store.Outbound, ok bool, err error) {
	now := w.now()
	if w.lease > 0 {
		return w.r.LeaseOutbound(ctx, id, now, now.Add(w.lease))
	}
	err = w.r.View(func(rd store.Reader) error {
		var err error
		ob, err = rd.Outbound(id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) || (err == nil && ob.NextAttempt.After(now)) {
		return ob, false, nil
	}
	return ob, err == nil, err
}

// Stats returns the counters and the queue size.
func (w *Worker) Stats() (Stats, error) {
	s := Stats{
		Attempts: w.attempts.Load(), Retries: w.retries.Load(), Delivered: w.delivered.Load(), Deferred: w.deferred.Load(),
		Bounced: w.bounced.Load(), Failures: w.failures.Load(),
	}
	err := w.r.View(func(rd store.Reader) error {
		var err error
		s.Queued, err = rd.OutboundCount()
		return err
	})
	return s, err
}

// SetAccounts makes the [[account]] settings of cfg (smtp, smtp_tls,
// credentials, sent_folder) the ones deliveries use from now on: a reload.
// An attempt under way finishes with those it started with.
func (w *Worker) SetAccounts(cfg *config.Config) { w.accounts.Store(cfg) }

// account is the [[account]] of queue in force, or nil.
func (w *Worker) account(queue string) *config.Account {
	return w.accounts.Load().AccountByQueue(queue)
}
