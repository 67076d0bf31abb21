package ratelimit

import (
	"context"
	"net"
	"runtime"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestConns(t *testing.T) {
	c := NewConns(2)
	first, second, third := c.Acquire("a"), c.Acquire("a"), c.Acquire("a")
	if !first || !second || third {
		t.Fatalf("three connections of a: %v %v %v, want true true false", first, second, third)
	}
	if !c.Acquire("b") {
		t.Fatal("another address refused")
	}
	c.Release("a")
	if !c.Acquire("a") {
		t.Fatal("a slot given back is not reusable")
	}
}

func TestConnKeyIPv6Per64(t *testing.T) {
	key := func(addr string) string { return ConnKey(&net.TCPAddr{IP: net.ParseIP(addr), Port: 25}) }
	for _, c := range []struct{ addr, want string }{
		{"192.0.2.7", "192.0.2.7"},
		{"::ffff:192.0.2.7", "192.0.2.7"},
		{"2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"::1", "::/64"},
	} {
		if got := key(c.addr); got != c.want {
			t.Errorf("ConnKey(%s) = %q, want %q", c.addr, got, c.want)
		}
	}
}

func TestWindowSlides(t *testing.T) {
	ck := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	w := NewWindow(3, time.Hour, ck.now)
	for i := range 3 {
		if !w.Allow("s") {
			t.Fatalf("event %d refused", i)
		}
		ck.t = ck.t.Add(10 * time.Minute)
	}
	if w.Allow("s") {
		t.Fatal("fourth event within the hour allowed")
	}
	if !w.Allow("other") {
		t.Fatal("another key refused")
	}
	ck.t = ck.t.Add(31 * time.Minute) // the first event is now older than an hour
	if !w.Allow("s") {
		t.Fatal("an event after the window slid is refused")
	}
	if w.Allow("s") {
		t.Fatal("the window let two in for one that expired")
	}
}

func TestLoginsBackOffThenLock(t *testing.T) {
	ck := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := NewLogins(8, 15*time.Minute, time.Hour, ck.now)
	var delays []time.Duration
	for range 7 {
		d, locked := l.Failed("acct:alice", "ip:1.2.3.4")
		if locked {
			t.Fatal("locked too early")
		}
		delays = append(delays, d)
	}
	want := []time.Duration{0, 0, 0, 0, 0, 100 * time.Millisecond, 200 * time.Millisecond}
	for i := range want {
		if delays[i] != want[i] {
			t.Fatalf("delays = %v, want %v", delays, want)
		}
	}
	if _, locked := l.Failed("acct:alice", "ip:1.2.3.4"); !locked {
		t.Fatal("eighth failure did not lock")
	}
	if locked, until := l.Locked("acct:alice"); !locked || !until.Equal(ck.t.Add(15*time.Minute)) {
		t.Fatalf("Locked = %v until %v", locked, until)
	}
	l.Succeeded("acct:alice") // a success can't lift a lock
	if locked, _ := l.Locked("ip:9.9.9.9", "acct:alice"); !locked {
		t.Fatal("the account is not locked from another address")
	}
	ck.t = ck.t.Add(16 * time.Minute)
	if locked, _ := l.Locked("ip:1.2.3.4", "acct:alice"); locked {
		t.Fatal("still locked after lock_for")
	}
}

// One account's failures lock the account, not the address; failures for
// many accounts from one address lock the address.
func TestLoginsAddressLocksOnlyForManyAccounts(t *testing.T) {
	ck := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := NewLogins(3, 15*time.Minute, time.Hour, ck.now)
	for range 3 {
		l.Failed("acct:carol", "ip:127.0.0.1")
	}
	if locked, _ := l.Locked("acct:carol"); !locked {
		t.Fatal("carol is not locked after three failures")
	}
	if locked, _ := l.Locked("acct:alice", "ip:127.0.0.1"); locked {
		t.Fatal("carol's failures locked the address for alice")
	}
	l.Failed("acct:bob", "ip:127.0.0.1")
	if _, locked := l.Failed("acct:dave", "ip:127.0.0.1"); !locked {
		t.Fatal("a third account failing from the address did not lock it")
	}
	if locked, _ := l.Locked("acct:alice", "ip:127.0.0.1"); !locked {
		t.Fatal("the address is not locked after failures for three accounts")
	}
}

func TestWindowMemoryBounded(t *testing.T) {
	ck := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	w := NewWindow(1, time.Minute, ck.now)
	for i := range maxKeys + 10 {
		w.Allow(string(rune(i)))
	}
	if len(w.hits) > maxKeys {
		t.Fatalf("%d keys remembered, at most %d", len(w.hits), maxKeys)
	}
}

func TestBytes(t *testing.T) {
	b := NewBytes(100)
	if !b.Take(60) || !b.Take(40) {
		t.Fatal("refused within the budget")
	}
	if b.Take(1) {
		t.Fatal("took past the budget")
	}
	b.Give(40)
	if b.InUse() != 60 || !b.Take(40) {
		t.Fatalf("after giving 40 back: in use %d", b.InUse())
	}
	if unlimited := NewBytes(0); !unlimited.Take(1<<40) || unlimited.InUse() != 1<<40 {
		t.Fatal("0 is no limit, only counted")
	}
}

// TestBytesTakeWait: a TakeWait without room waits until enough was given
// back, and ends with its context; more than the budget is the budget.
func TestBytesTakeWait(t *testing.T) {
	b := NewBytes(100)
	b.Take(90)
	got := make(chan int64)
	go func() {
		n, err := b.TakeWait(context.Background(), 50)
		if err != nil {
			t.Error(err)
		}
		got <- n
	}()
	for b.waiters.Load() == 0 {
		runtime.Gosched()
	}
	b.Give(30) // 60 in use: still no room for 50
	select {
	case n := <-got:
		t.Fatalf("took %d with 60 of 100 in use", n)
	default:
	}
	b.Give(20)
	if n := <-got; n != 50 || b.InUse() != 90 {
		t.Fatalf("took %d, %d in use; want 50 and 90", n, b.InUse())
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if n, err := b.TakeWait(ctx, 20); err == nil || n != 0 || b.InUse() != 90 {
		t.Fatalf("ended context: took %d, %v, %d in use", n, err, b.InUse())
	}
	b.Give(90)
	if n, err := b.TakeWait(context.Background(), 500); err != nil || n != 100 {
		t.Fatalf("more than the budget: took %d, %v; want the budget, 100", n, err)
	}
}
