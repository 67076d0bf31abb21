// Package ratelimit keeps the abuse limits of SPEC §10 in memory:
// connections per address, events per key in a sliding window (messages
// per sender per hour), and failed logins per address and per account
// with back-off and a temporary lock. Time comes from an injected clock.
// Memory is bounded: each structure forgets its oldest keys beyond
// maxKeys.
package ratelimit

import (
	"net"
	"sync"
	"time"
)

// IP is the IP address of a remote address, the key of per-address
// limits.
func IP(addr net.Addr) string {
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	return host
}

// ConnKey is the key of the per-address connection limit: the IP address
// for IPv4, its /64 prefix for IPv6, since one host or customer network
// is usually given a whole /64 and could otherwise open a connection from
// each of its addresses.
func ConnKey(addr net.Addr) string {
	ip := net.ParseIP(IP(addr))
	if ip == nil || ip.To4() != nil {
		return IP(addr)
	}
	return (&net.IPNet{IP: ip.Mask(net.CIDRMask(64, 128)), Mask: net.CIDRMask(64, 128)}).String()
}

// maxKeys bounds how many keys one structure remembers.
const maxKeys = 100_000

// Conns counts concurrent connections per key (an IP address).
type Conns struct {
	max int
	mu  sync.Mutex
	n   map[string]int
}

// NewConns allows max concurrent connections per key (0: unlimited).
func NewConns(max int) *Conns { return &Conns{max: max, n: map[string]int{}} }

// Acquire takes a connection slot for key; false when key has max.
func (c *Conns) Acquire(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.max > 0 && c.n[key] >= c.max {
		return false
	}
	c.n[key]++
	return true
}

// Release gives a slot back.
func (c *Conns) Release(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[key] <= 1 {
		delete(c.n, key)
		return
	}
	c.n[key]--
}

// Window allows limit events per key within a sliding window.
type Window struct {
	limit int
	per   time.Duration
	now   func() time.Time
	mu    sync.Mutex
	hits  map[string][]time.Time
}

// NewWindow allows limit events per key in any span of per (limit 0:
// unlimited).
func NewWindow(limit int, per time.Duration, now func() time.Time) *Window {
	if now == nil {
		now = time.Now
	}
	return &Window{limit: limit, per: per, now: now, hits: map[string][]time.Time{}}
}

// Allow records an event for key and reports whether it is within the
// limit; a refused event is not recorded.
func (w *Window) Allow(key string) bool {
	now := w.now()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.limit <= 0 {
		return true
	}
	hits := prune(w.hits[key], now.Add(-w.per))
	if len(hits) >= w.limit {
		w.hits[key] = hits
		return false
	}
	if _, ok := w.hits[key]; !ok && len(w.hits) >= maxKeys {
		w.evict(now)
	}
	w.hits[key] = append(hits, now)
	return true
}

// prune drops the times not after cutoff (hits are in order).
func prune(hits []time.Time, cutoff time.Time) []time.Time {
	i := 0
	for i < len(hits) && !hits[i].After(cutoff) {
		i++
	}
	return hits[i:]
}

// evict forgets expired keys, or any one key when none has expired.
func (w *Window) evict(now time.Time) {
	for k, hits := range w.hits {
		if len(prune(hits, now.Add(-w.per))) == 0 {
			delete(w.hits, k)
		}
	}
	for k := range w.hits {
		if len(w.hits) < maxKeys {
			return
		}
		delete(w.hits, k)
	}
}

// SetLimit changes the limit (a configuration reload); the events
// recorded so far stay and count.
func (w *Window) SetLimit(limit int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.limit = limit
}

// SetMax changes the limit (a configuration reload); connections already
// open stay, and count.
func (c *Conns) SetMax(max int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.max = max
}
