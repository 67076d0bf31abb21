package ratelimit

import (
	"context"
	"sync"
	"sync/atomic"
)

// Bytes is a budget of bytes shared by many holders, such as the message
// bodies all connections hold in memory at once
// (limits.inflight_message_bytes).
type Bytes struct {
	max  int64
	used atomic.Int64

	mu      sync.Mutex
	waiters atomic.Int32  // callers of TakeWait waiting for room
	freed   chan struct{} // closed by Give while someone waits; guarded by mu
}

// NewBytes allows max bytes held at once (0: unlimited, only counted).
func NewBytes(max int64) *Bytes { return &Bytes{max: max} }

// Take reserves n more bytes; false, reserving nothing, when that would
// pass the budget.
func (b *Bytes) Take(n int64) bool {
	for {
		used := b.used.Load()
		if b.max > 0 && used+n > b.max {
			return false
		}
		if b.used.CompareAndSwap(used, used+n) {
			return true
		}
	}
}

// TakeWait reserves n more bytes, waiting until others gave back enough
// or ctx ends (its error then, nothing reserved). More than the whole
// budget is taken as the whole budget's worth: n is then reduced to Max,
// which the caller must give back.
func (b *Bytes) TakeWait(ctx context.Context, n int64) (int64, error) {
	if b.max > 0 && n > b.max {
		n = b.max
	}
	b.waiters.Add(1)
	defer b.waiters.Add(-1)
	for {
		b.mu.Lock()
		if b.Take(n) {
			b.mu.Unlock()
			return n, nil
		}
		if b.freed == nil {
			b.freed = make(chan struct{})
		}
		freed := b.freed
		b.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// Give returns n bytes taken with Take or TakeWait.
func (b *Bytes) Give(n int64) {
	b.used.Add(-n)
	if b.waiters.Load() == 0 {
		return
	}
	b.mu.Lock()
	if b.freed != nil {
		close(b.freed)
		b.freed = nil
	}
	b.mu.Unlock()
}

// Max is the budget (0: unlimited).
func (b *Bytes) Max() int64 { return b.max }

// InUse is the number of bytes taken and not given back.
func (b *Bytes) InUse() int64 { return b.used.Load() }
