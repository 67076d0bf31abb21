package ratelimit

import "sync/atomic"

// Bytes is a budget of bytes shared by many holders, such as the message
// bodies all connections hold in memory at once
// (limits.inflight_message_bytes).
type Bytes struct {
	max  int64
	used atomic.Int64
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

// Give returns n bytes taken with Take.
func (b *Bytes) Give(n int64) { b.used.Add(-n) }

// Max is the budget (0: unlimited).
func (b *Bytes) Max() int64 { return b.max }

// InUse is the number of bytes taken and not given back.
func (b *Bytes) InUse() int64 { return b.used.Load() }
