// Package outboxloop is the loop that drives mxdesk's durable outboxes
// (the delivery queue, the CRM feed): start what is due, then sleep until
// the earliest next attempt, a commit that queued new work, or a Kick.
// The outbox itself (what is due, how an attempt goes) stays with its
// owner; this package only decides when to look.
package outboxloop

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"mxdesk/panics"
	"mxdesk/store"
)

// Loop wakes an outbox's dispatcher.
type Loop struct {
	wake    chan struct{}
	stopped atomic.Pointer[error] // why Run stopped on its own (a bug)
}

// New returns a Loop ready to Run.
func New() *Loop { return &Loop{wake: make(chan struct{}, 1)} }

// Outbox is what a Loop drives.
type Outbox struct {
	Name  string       // for the panic's log line: "CRM feed"
	Where string       // the panics label of the loop
	Log   *slog.Logger // where a panic is logged
	// Subscribe installs an observer of committed changes (the router's).
	Subscribe func(store.Observer) (unsubscribe func())
	// Queued is the change kind that means new work for this outbox.
	Queued store.ChangeKind
	// Dispatch starts the due work (attempts add themselves to wg and
	// Kick the loop when they end) and returns how long the loop may
	// sleep before looking again.
	Dispatch func(ctx context.Context, wg *sync.WaitGroup) time.Duration
}

// Run drives o until ctx ends, then waits for the attempts it started. A
// panic stops it: Err says why, and the panic is counted under o.Where.
func (l *Loop) Run(ctx context.Context, o Outbox) {
	defer func() {
		if p := recover(); p != nil {
			err := fmt.Errorf("%s stopped: panic: %v", o.Name, p)
			l.stopped.Store(&err)
			panics.Recovered(o.Log, o.Where, o.Name+" stopped", p)
		}
	}()
	unsubscribe := o.Subscribe(func(changes []store.Change) {
		// On the store's writer: only signal.
		for _, c := range changes {
			if c.Kind == o.Queued {
				l.Kick()
				return
			}
		}
	})
	defer unsubscribe()
	var wg sync.WaitGroup
	defer wg.Wait()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		timer.Reset(o.Dispatch(ctx, &wg))
		select {
		case <-ctx.Done():
			return
		case <-l.wake:
		case <-timer.C:
		}
	}
}

// Err is non-nil when Run stopped on its own (a bug): the gateway is then
// not ready.
func (l *Loop) Err() error {
	if err := l.stopped.Load(); err != nil {
		return *err
	}
	return nil
}

// Kick makes Run look at the outbox now.
func (l *Loop) Kick() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}
