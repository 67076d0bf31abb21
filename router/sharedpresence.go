package router

import (
	"context"
	"sync/atomic"
	"time"
)

// SharedPresence joins the presence of the nodes sharing a store
// (pgstore.Presence): each node publishes the agents connected to it and
// reads those connected elsewhere, and nodes kick each other's
// assignment. Nil (badger, one node): presence is this process's alone.
type SharedPresence interface {
	// Interval is how often RunPresence publishes and reads.
	Interval() time.Duration
	// Publish makes conns (login -> open connections) this node's
	// presence.
	Publish(ctx context.Context, conns map[string]int) error
	// Elsewhere lists the logins connected to other live nodes.
	Elsewhere(ctx context.Context) (map[string]bool, error)
	// Kick tells the other nodes to read presence and assign now.
	Kick(ctx context.Context) error
	// Listen calls kicked for each other node's Kick (and after a
	// reconnection) until ctx ends.
	Listen(ctx context.Context, kicked func())
}

// shared is the router's side of SharedPresence (fields of presence).
type shared struct {
	sp        SharedPresence                  // Options.SharedPresence; nil: none
	elsewhere atomic.Pointer[map[string]bool] // logins connected to other nodes, read last
	changed   chan struct{}                   // an agent's first connection opened or last closed here
	kickOut   chan struct{}                   // this node kicked its assignment: tell the others
}

func newShared(sp SharedPresence) shared {
	return shared{sp: sp, changed: make(chan struct{}, 1), kickOut: make(chan struct{}, 1)}
}

// signal wakes RunPresence through ch, without waiting.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// presentElsewhere reports whether login is connected to another node.
func (r *Router) presentElsewhere(login string) bool {
	m := r.presence.shared.elsewhere.Load()
	return m != nil && (*m)[login]
}

// RunPresence shares this node's presence with the other nodes until
// ctx ends (every node runs it; it returns at once without a
// SharedPresence): it publishes who is connected here every interval and
// at once when an agent comes or goes, reads who is connected elsewhere,
// and passes kicks both ways, so the node that runs the assignment (the
// timers duty) offers sessions to an agent who just logged in on
// another node. At the end it withdraws this node's presence.
func (r *Router) RunPresence(ctx context.Context) {
	sh := &r.presence.shared
	if sh.sp == nil {
		return
	}
	listening := make(chan struct{})
	go func() {
		defer close(listening)
		sh.sp.Listen(ctx, func() {
			r.readElsewhere(ctx)
			select {
			case r.kick <- struct{}{}: // this node's Run only: no kick back
			default:
			}
		})
	}()
	defer func() { <-listening }()
	t := time.NewTicker(sh.sp.Interval())
	defer t.Stop()
	r.publishPresence(ctx)
	for {
		select {
		case <-ctx.Done():
			end, cancel := context.WithTimeout(context.WithoutCancel(ctx), sh.sp.Interval())
			defer cancel()
			if err := sh.sp.Publish(end, map[string]int{}); err == nil {
				sh.sp.Kick(end)
			}
			return
		case <-t.C:
			r.publishPresence(ctx)
			r.readElsewhere(ctx)
		case <-sh.changed:
			r.publishPresence(ctx)
			r.kickOthers(ctx)
		case <-sh.kickOut:
			r.kickOthers(ctx)
		}
	}
}

// publishPresence writes the agents connected here (within
// presence_timeout) as this node's presence.
func (r *Router) publishPresence(ctx context.Context) {
	limit := r.now().Add(-r.config().PresenceTimeout.Duration)
	conns := map[string]int{}
	r.presence.mu.Lock()
	for login, cs := range r.presence.conns {
		for _, seen := range cs {
			if seen.After(limit) {
				conns[login]++
			}
		}
	}
	r.presence.mu.Unlock()
	if err := r.presence.shared.sp.Publish(ctx, conns); err != nil && ctx.Err() == nil {
		r.log.Warn("shared presence: publishing this node's agents", "key", "store.dsn", "err", err)
	}
}

// readElsewhere refreshes who is connected to other nodes.
func (r *Router) readElsewhere(ctx context.Context) {
	m, err := r.presence.shared.sp.Elsewhere(ctx)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("shared presence: reading the other nodes' agents", "key", "store.dsn", "err", err)
		}
		return
	}
	r.presence.shared.elsewhere.Store(&m)
}

func (r *Router) kickOthers(ctx context.Context) {
	if err := r.presence.shared.sp.Kick(ctx); err != nil && ctx.Err() == nil {
		r.log.Warn("shared presence: kicking the other nodes' assignment", "key", "store.dsn", "err", err)
	}
}
