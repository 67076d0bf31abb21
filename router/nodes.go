package router

import (
	"sync"
	"time"

	"mxdesk/store"
)

// On several nodes (a store shared by nodes, such as pgstore's, which has
// a Node ID), the service-level book and the satisfaction totals, kept
// current from this node's commits, miss the other nodes' replies,
// closings and ratings: when read, they are rebuilt from the store at
// most every figuresRefresh (one scan of the sessions, as at start). On
// one node they are always current.
const figuresRefresh = 30 * time.Second

// sharedStore is a store several nodes write (pgstore).
type sharedStore interface{ Node() string }

// figureRefresh is when the figures were last rebuilt, on a shared store.
type figureRefresh struct {
	shared bool
	mu     sync.Mutex
	slAt   time.Time
	csatAt time.Time
}

// due says whether the figure rebuilt at *at is to be rebuilt now (and
// notes that it is).
func (f *figureRefresh) due(at *time.Time, now time.Time) bool {
	if !f.shared {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if now.Sub(*at) < figuresRefresh {
		return false
	}
	*at = now
	return true
}

func newFigureRefresh(st store.Store) figureRefresh {
	_, shared := st.(sharedStore)
	return figureRefresh{shared: shared}
}

// refreshServiceLevel rebuilds the book from the store when the store is
// shared and the book is older than figuresRefresh; a failed read keeps
// the book as it is (and is logged).
func (r *Router) refreshServiceLevel() {
	if !r.figures.due(&r.figures.slAt, r.now()) {
		return
	}
	if err := r.rebuildServiceLevel(); err != nil {
		r.log.Warn("rereading the service level from the store shared by the nodes", "err", err)
	}
}

// csatStale says whether the satisfaction totals are to be reread from
// the shared store (c.mu held).
func (r *Router) csatStale() bool { return r.figures.due(&r.figures.csatAt, r.now()) }
