// Package duty runs background work that must have one runner across the
// nodes sharing a store (issue 22): session timers and assignment, the CRM
// feed, archive runs, campaigns, connector imports. A duty is held with a
// Locker: PostgreSQL advisory locks held on a connection of their own
// (pgstore), or Local, always granted, for the embedded store that only
// one node can open.
//
// Run keeps trying to take its duty: the node that holds it runs the
// work until the lock is lost (its connection broke) or the node stops;
// the others try again every RetryInterval, so when the holder dies
// (PostgreSQL drops a dead session's locks at once) another node takes
// over within that interval.
package duty

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"
)

// ErrHeld is Acquire's error when another node holds the duty.
var ErrHeld = errors.New("duty: held by another node")

// Locker grants duties by name, one holder at a time across the nodes.
type Locker interface {
	// Acquire takes the duty name, or fails with ErrHeld when another
	// node holds it. lost is closed when the duty is lost while held
	// (the lock's connection broke); release gives it up (call it once,
	// also after lost).
	Acquire(ctx context.Context, name string) (lost <-chan struct{}, release func(), err error)
}

// Local grants every duty at once and never loses it: one node alone
// (the embedded store refuses a second process).
type Local struct{}

// Acquire grants name.
func (Local) Acquire(context.Context, string) (<-chan struct{}, func(), error) {
	return make(chan struct{}), func() {}, nil
}

// DefaultRetryInterval is how often a node that does not hold a duty
// tries to take it: the longest a duty stays without a runner after its
// holder died.
const DefaultRetryInterval = 2 * time.Second

// retryInterval is DefaultRetryInterval unless a test shortened it.
var retryInterval atomic.Int64

func init() { retryInterval.Store(int64(DefaultRetryInterval)) }

// SetRetryInterval changes how often Run tries to take a duty it does
// not hold (tests shorten it) and returns the previous interval.
func SetRetryInterval(d time.Duration) time.Duration {
	return time.Duration(retryInterval.Swap(int64(d)))
}

// Run runs fn whenever this node holds the duty name, until ctx ends. fn
// gets a context that ends when the duty is lost or ctx ends; it must
// return then. When fn returns on its own or the duty is lost, Run
// releases it and tries again after the retry interval.
func Run(ctx context.Context, l Locker, name string, log *slog.Logger, fn func(ctx context.Context)) {
	if log == nil {
		log = slog.Default()
	}
	failing := false // logged once per outage, not every retry
	for ctx.Err() == nil {
		lost, release, err := l.Acquire(ctx, name)
		switch {
		case err == nil:
			failing = false
			hold(ctx, name, log, lost, release, fn)
		case errors.Is(err, ErrHeld):
			failing = false
		case ctx.Err() != nil:
		case !failing:
			failing = true
			log.Warn("duty: cannot ask for the lock; trying again", "duty", name, "err", err)
		}
		wait(ctx, time.Duration(retryInterval.Load()))
	}
}

// hold runs fn while the duty is held, then releases it.
func hold(ctx context.Context, name string, log *slog.Logger, lost <-chan struct{}, release func(), fn func(context.Context)) {
	defer release()
	log.Info("duty taken", "duty", name)
	work, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-lost:
			cancel()
		case <-work.Done():
		}
	}()
	fn(work)
	select {
	case <-lost:
		log.Warn("duty lost: its lock's connection to the store broke", "duty", name)
	default:
		if ctx.Err() == nil {
			log.Warn("duty released: its work ended", "duty", name)
		}
	}
}

func wait(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
