package ratelimit

import "time"

// RetryAfter is how long until Allow(key) would admit an event: zero when
// it would now, else until the oldest counted event leaves the window.
func (w *Window) RetryAfter(key string) time.Duration {
	now := w.now()
	w.mu.Lock()
	defer w.mu.Unlock()
	hits := prune(w.hits[key], now.Add(-w.per))
	if w.limit <= 0 || len(hits) < w.limit {
		return 0
	}
	return hits[len(hits)-w.limit].Add(w.per).Sub(now)
}
