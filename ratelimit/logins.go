package ratelimit

import (
	"sync"
	"time"
)

// Logins tracks failed logins per account and per address and decides
// back-off and locks: after FreeFailures failures a key's next failure
// answers only after a delay that doubles up to MaxDelay; after LockAfter
// failures within Window the key is locked for LockFor, and every login
// through it is refused, right or wrong. An address counts only failures
// for accounts it has not failed with yet: guessing one account's
// password locks that account, and only trying many accounts (password
// spraying) locks the address, so that one user's typos can't lock out
// everyone behind the same address.
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
	accounts    map[string]bool // an address's failed accounts since its count was reset
}

// maxAccountsPerAddress bounds the accounts an address remembers when
// LockAfter does not (0: never lock).
const maxAccountsPerAddress = 1000

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

// Failed records a failed login of account from address (its key, ""
// for none) and returns how long to wait before answering, and whether
// the account or the address just got locked.
func (l *Logins) Failed(account, address string) (delay time.Duration, locked bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	delay, locked = l.fail(account, "", now)
	if address != "" {
		d, lk := l.fail(address, account, now)
		delay, locked = max(delay, d), locked || lk
	}
	return delay, locked
}

// fail counts a failure of key. With account set (key is an address) a
// failure counts only for an account new to the address.
func (l *Logins) fail(key, account string, now time.Time) (delay time.Duration, locked bool) {
	r := l.record(key, now)
	if now.Sub(r.last) > l.Window {
		r.failures, r.accounts = 0, nil
	}
	r.last = now
	if account == "" || l.newAccount(r, account) {
		r.failures++
	}
	if l.LockAfter > 0 && r.failures >= l.LockAfter && !now.Before(r.lockedUntil) {
		r.lockedUntil = now.Add(l.LockFor)
		r.failures, r.accounts = 0, nil
		locked = true
	}
	if extra := r.failures - l.FreeFailures; extra > 0 {
		delay = min(l.BaseDelay<<min(extra-1, 20), l.MaxDelay)
	}
	return delay, locked
}

// newAccount remembers account among r's and reports whether it was new.
func (l *Logins) newAccount(r *loginRecord, account string) bool {
	if r.accounts[account] {
		return false
	}
	if r.accounts == nil {
		r.accounts = map[string]bool{}
	}
	if len(r.accounts) < maxAccountsPerAddress {
		r.accounts[account] = true
	}
	return true
}

// record is key's record, created if need be.
func (l *Logins) record(key string, now time.Time) *loginRecord {
	r := l.m[key]
	if r == nil {
		if len(l.m) >= maxKeys {
			l.evict(now)
		}
		r = &loginRecord{}
		l.m[key] = r
	}
	return r
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
