package router

import (
	"context"
	"time"

	"mxdesk/metrics"
	"mxdesk/store"
)

// The router observes assignment latency and first-response time where
// sessions change, inside store transactions. A transaction function may
// run more than once (the store re-runs a batch without a failed member),
// so nothing is counted there: each run notes what it saw on its
// meteredTx, and the notes of the run that committed are counted after
// Update returned nil.

// meteredStore is the router's store: it applies what each committed
// run noted to the metrics (m may be nil: none) and to the router's
// service-level book.
type meteredStore struct {
	store.Store
	m  *metrics.Set
	sl *slBook
}

// meteredTx is a transaction that collects metric observations.
type meteredTx struct {
	store.Tx
	obs map[string]observation // per session: the last note of this run wins
}

// observation is what one committed transaction did to a session.
type observation struct {
	queue         string
	assigned      bool
	waited        time.Duration
	firstResponse bool
	took          time.Duration
	wrapups       []string // codes recorded
	handled       bool     // a handling period ended (handling.go)
	handling      time.Duration
	sl            *slNote // the session's service-level state (servicelevel.go)
}

func (ms meteredStore) Update(ctx context.Context, opts store.UpdateOptions, fn func(tx store.Tx) error) error {
	var run *meteredTx
	err := ms.Store.Update(ctx, opts, func(tx store.Tx) error {
		run = &meteredTx{Tx: tx}
		return fn(run)
	})
	if err != nil || run == nil {
		return err
	}
	for id, o := range run.obs {
		if o.sl != nil {
			ms.sl.track(id, *o.sl)
		}
		if o.assigned {
			ms.m.Assigned(o.queue, o.waited)
		}
		if o.firstResponse {
			ms.m.FirstResponse(o.queue, o.took)
		}
		for _, code := range o.wrapups {
			ms.m.Wrapup(o.queue, code)
		}
		if o.handled {
			ms.m.Handled(o.queue, o.handling)
		}
	}
	return nil
}

// note records o for session id on tx, merged with what the same run
// noted before; a no-op without metrics.
func note(tx store.Tx, id string, f func(o *observation)) {
	mt, ok := tx.(*meteredTx)
	if !ok {
		return
	}
	if mt.obs == nil {
		mt.obs = map[string]observation{}
	}
	o := mt.obs[id]
	f(&o)
	mt.obs[id] = o
}

// noteAssignment notes, from commit, a session that got an agent: one that
// waited in its queue (since old.WaitingSince), or a new inbound session
// auto-assigned on arrival (it waited no time). Sessions an agent starts
// are theirs from the beginning and are not counted.
func noteAssignment(tx store.Tx, old, s store.Session, now time.Time) {
	if s.Agent == "" || old.Agent != "" {
		return
	}
	var waited time.Duration
	switch {
	case !old.WaitingSince.IsZero():
		waited = now.Sub(old.WaitingSince)
	case old.ID == "" && !s.OfferedAt.IsZero():
		waited = now.Sub(s.Created)
	default:
		return
	}
	note(tx, s.ID, func(o *observation) {
		o.queue, o.assigned, o.waited = s.Queue, true, waited
	})
}

// noteReply notes, from reply, an agent reply that is sent to the customer
// of an existing session; the first one of the session (no "replied" event
// yet) is its first response.
func (r *Router) noteReply(tx store.Tx, old, s store.Session) error {
	if _, ok := tx.(*meteredTx); !ok || old.ID == "" {
		return nil
	}
	events, err := tx.Events(s.ID)
	if err != nil {
		return err
	}
	for _, e := range events {
		if e.Kind == "replied" {
			return nil
		}
	}
	took := r.now().Sub(s.Created)
	note(tx, s.ID, func(o *observation) {
		o.queue, o.firstResponse, o.took = s.Queue, true, took
	})
	return nil
}
