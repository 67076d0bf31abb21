package ratelimit

import (
	"sync"
	"time"
)

// Logins tracks failed logins per key (the remote address, and the
// account) and decides back-off and locks: after FreeFailures failures a
// key's next failure answers only after a delay that doubles up to
// MaxDelay; after LockAfter failures within Window the key is locked for
// LockFor, and every login through it is refused, right or wrong.
type Logins struct {
	FreeFailures int
	BaseDelay    time.Duration
	MaxDelay     time.Duration
	LockAfter    int
	LockFor      time.Duration
	Window       time.Duration

	now func() time.Time
	mu  sync.Mutex
	m   map[string]*loginRecord
}

type loginRecord struct {
	failures    int
	last        time.Time
	lockedUntil time.Time
}

// NewLogins locks a key after lockAfter failures (0: never) for lockFor;
// failures older than window are forgotten.
func NewLogins(lockAfter int, lockFor, window time.Duration, now func() time.Time) *Logins {
	if now == nil {
		now = time.Now
	}
	return &Logins{
		FreeFailures: 5, BaseDelay: 100 * time.Millisecond, MaxDelay: 2 * time.Second,
		LockAfter: lockAfter, LockFor: lockFor, Window: window, now: now, m: map[string]*loginRecord{},
	}
}

// Locked reports whether any of keys is locked, and until when.
func (l *Logins) Locked(keys ...string) (bool, time.Time) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	var until time.Time
	for _, k := range keys {
		if r := l.m[k]; r != nil && now.Before(r.lockedUntil) && r.lockedUntil.After(until) {
			until = r.lockedUntil
		}
	}
	return !until.IsZero(), until
}

// Failed records a failed login through keys and returns how long to wait
// before answering, and whether a key just got locked.
func (l *Logins) Failed(keys ...string) (delay time.Duration, locked bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		r := l.m[k]
		if r == nil {
			if len(l.m) >= maxKeys {
				l.evict(now)
			}
			r = &loginRecord{}
			l.m[k] = r
		}
		if now.Sub(r.last) > l.Window {
			r.failures = 0
		}
		r.failures++
		r.last = now
		if l.LockAfter > 0 && r.failures >= l.LockAfter && !now.Before(r.lockedUntil) {
			r.lockedUntil = now.Add(l.LockFor)
			r.failures = 0
			locked = true
		}
		if extra := r.failures - l.FreeFailures; extra > 0 {
			d := l.BaseDelay << min(extra-1, 20)
			delay = max(delay, min(d, l.MaxDelay))
		}
	}
	return delay, locked
}

// Succeeded forgets the failures of keys.
func (l *Logins) Succeeded(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		if r := l.m[k]; r != nil && !l.now().Before(r.lockedUntil) {
			delete(l.m, k)
		}
	}
}

func (l *Logins) evict(now time.Time) {
	for k, r := range l.m {
		if now.Sub(r.last) > l.Window && !now.Before(r.lockedUntil) {
			delete(l.m, k)
		}
	}
	for k := range l.m {
		if len(l.m) < maxKeys {
			return
		}
		delete(l.m, k)
	}
}

// SetLock changes LockAfter and LockFor (a configuration reload); the
// failures counted so far and the locks in force stay.
func (l *Logins) SetLock(lockAfter int, lockFor time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.LockAfter, l.LockFor = lockAfter, lockFor
}
